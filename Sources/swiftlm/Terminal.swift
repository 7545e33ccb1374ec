import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What the standard streams are connected to, and so what the CLI may write to them: escape codes
/// (line redraws, dim text) only go to a terminal, colour also respects NO_COLOR (no-color.org) and
/// TERM=dumb, so `swiftlm bench 2>log` and CI logs stay plain text.
enum Terminal {
    static let stdinIsTerminal = isatty(STDIN_FILENO) != 0
    static let stdoutIsTerminal = isatty(STDOUT_FILENO) != 0
    static let stderrIsTerminal = isatty(STDERR_FILENO) != 0

    /// Whether stderr takes colour / dim attributes.
    static let stderrHasColor: Bool = {
        let env = ProcessInfo.processInfo.environment
        return stderrIsTerminal && (env["NO_COLOR"] ?? "").isEmpty && env["TERM"] != "dumb"
    }()

    /// Redraws the current stderr line with `text` on a terminal; writes nothing elsewhere (a log
    /// gets no carriage returns or erase codes).
    static func redrawStatus(_ text: String) {
        guard stderrIsTerminal else { return }
        writeStandardError("\r\u{1B}[K" + String(text.prefix(max(stderrWidth - 1, 10))))
    }

    /// Clears a status line drawn by ``redrawStatus(_:)``.
    static func clearStatus() {
        if stderrIsTerminal { writeStandardError("\r\u{1B}[K") }
    }

    /// A one-line notice on stderr, dim where colour is allowed: what the CLI decided for the user
    /// (plain completion for a base model, a reply cut at a limit), never part of the output proper.
    static func notice(_ text: String) {
        writeStandardError(stderrHasColor ? "\u{1B}[2m\(text)\u{1B}[0m\n" : text + "\n")
    }

    /// Columns of the terminal on stderr, or 80 when unknown.
    static var stderrWidth: Int {
        var size = winsize()
        if ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        return 80
    }
}

/// Where Ctrl-C (SIGINT) goes, for the whole process: one dispatch signal source, made on first use and
/// never cancelled, and a stack of actions of which the newest runs. Every handler in the CLI is a
/// handle on this one router: two sources for SIGINT, one cancelled while the other registers, lose the
/// signal on Linux (a Ctrl-C was ignored outright when the pull trap of `loadModel` handed over to the
/// chat's handler). With no action left, Ctrl-C ends the process with 130, as the default disposition.
final class InterruptRouter: @unchecked Sendable {
    static let shared = InterruptRouter()

    // Guarded by `lock`.
    private let lock = NSLock()
    private var source: (any DispatchSourceSignal)?
    private var actions: [(id: Int, run: @Sendable () -> Void)] = []
    private var nextID = 0

    /// Makes `action` the one Ctrl-C runs until ``remove(_:)``; returns its handle.
    func push(_ action: @escaping @Sendable () -> Void) -> Int {
        lock.lock()
        defer { lock.unlock() }
        if source == nil {
            signal(SIGINT, SIG_IGN)
            let made = DispatchSource.makeSignalSource(signal: SIGINT, queue: DispatchQueue(label: "swiftlm.sigint"))
            made.setEventHandler { InterruptRouter.shared.fire() }
            made.resume()
            source = made
        }
        nextID += 1
        actions.append((nextID, action))
        return nextID
    }

    func replace(_ id: Int, with action: @escaping @Sendable () -> Void) {
        lock.lock()
        defer { lock.unlock() }
        if let i = actions.firstIndex(where: { $0.id == id }) { actions[i].run = action }
    }

    func remove(_ id: Int) {
        lock.lock()
        defer { lock.unlock() }
        actions.removeAll { $0.id == id }
    }

    private func fire() {
        lock.lock()
        let action = actions.last?.run
        lock.unlock()
        guard let action else { exitProcess(130) }
        action()
    }
}

/// Runs `action` on each SIGINT (Ctrl-C) while the trap lives, instead of the default of killing the
/// process, so a long operation can stop cleanly and say what happened.
final class SignalTrap: Sendable {
    private let id: Int

    init(_ action: @escaping @Sendable () -> Void) {
        id = InterruptRouter.shared.push(action)
    }

    deinit { InterruptRouter.shared.remove(id) }
}

/// Decodes text read from a file or stdin. Invalid UTF-8 is replaced with U+FFFD, as everywhere, but
/// the user is told once, since a prompt that silently changed gives puzzling answers.
func decodeText(_ bytes: Data, from source: String) -> String {
    if let text = String(validating: bytes, as: UTF8.self) { return text }
    writeStandardError("warning: \(source) is not valid UTF-8; the invalid bytes were replaced with U+FFFD\n")
    return String(decoding: bytes, as: UTF8.self)
}

/// Warns once if a command-line argument is not valid UTF-8 (Swift replaces such bytes in
/// `CommandLine.arguments`, so the prompt would differ from what was typed).
func warnAboutInvalidArguments() {
    for i in 1..<Int(CommandLine.argc) {
        guard let raw = CommandLine.unsafeArgv[i] else { continue }
        let bytes = UnsafeBufferPointer(start: UnsafeRawPointer(raw).assumingMemoryBound(to: UInt8.self), count: strlen(raw))
        if String(validating: bytes, as: UTF8.self) == nil {
            writeStandardError("warning: argument \(i) is not valid UTF-8; the invalid bytes were replaced with U+FFFD\n")
            return
        }
    }
}

/// The bytes of a file the user named, or a one-line error that says which file and why
/// (missing, a directory, unreadable).
func readFile(_ path: String, what: String) throws -> Data {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
        throw CommandFailure("cannot read the \(what) '\(path)': no such file")
    }
    if isDirectory.boolValue { throw CommandFailure("cannot read the \(what) '\(path)': it is a directory") }
    if access(path, R_OK) != 0 {
        throw CommandFailure("cannot read the \(what) '\(path)': \(String(cString: strerror(errno)))")
    }
    guard let handle = FileHandle(forReadingAtPath: path) else {
        throw CommandFailure("cannot read the \(what) '\(path)'")
    }
    defer { try? handle.close() }
    return handle.readDataToEndOfFile()
}
