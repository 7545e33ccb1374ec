import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a ``PseudoTerminalSession`` step failed.
public enum PseudoTerminalError: Error, CustomStringConvertible {
    case forkFailed(Int32)
    case timeout(waitingFor: String, seconds: Double, output: String)
    case exitTimeout(output: String)

    public var description: String {
        switch self {
        case let .forkFailed(code): return "forkpty failed: errno \(code)"
        case let .timeout(text, seconds, output):
            return "no \(text.debugDescription) within \(seconds) s; the terminal showed:\n\(output.debugDescription)"
        case let .exitTimeout(output): return "the process did not exit; the terminal showed:\n\(output.debugDescription)"
        }
    }
}

/// The built `swiftlm` running on a pseudo-terminal, driven like a person at a keyboard: the child is a
/// session leader with the terminal as its controlling terminal, so Ctrl-C typed into it is a SIGINT
/// from the line discipline, exactly as in a real terminal.
public final class PseudoTerminalSession {
    public let pid: pid_t
    private let master: Int32
    private var bytes: [UInt8] = []
    /// Where the next ``waitFor(_:timeout:)`` starts looking, in bytes.
    private var mark = 0
    private var exitStatus: Int32?

    /// Starts `swiftlm args` on a fresh 80x24 terminal.
    /// - Parameter env: variables added to (or overriding) this process's environment.
    public init(_ args: [String], env: [String: String] = [:], columns: UInt16 = 80) throws {
        let binary = try swiftLMBinaryPath()
        // A terminal that understands cursor movement, whatever the test runner's own TERM is.
        let environment = ProcessInfo.processInfo.environment.merging(["TERM": "xterm"]) { _, new in new }
            .merging(env) { _, new in new }
        // Everything the child touches is allocated before fork: after fork only execve and _exit run.
        let argv = ([binary] + args).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var size = winsize(ws_row: 24, ws_col: columns, ws_xpixel: 0, ws_ypixel: 0)
        var masterFD: Int32 = -1
        let child = forkpty(&masterFD, nil, nil, &size)
        if child < 0 { throw PseudoTerminalError.forkFailed(errno) }
        if child == 0 {
            execve(binary, argv, envp)
            _exit(127)
        }
        pid = child
        master = masterFD
    }

    deinit {
        if exitStatus == nil {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        close(master)
    }

    /// Everything the terminal has shown so far, escape sequences included.
    public var output: String { String(decoding: bytes, as: UTF8.self) }

    /// Types `text` (control characters and escape sequences included).
    public func send(_ text: String) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(master, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { return }
            offset += n
        }
    }

    /// Reads what the terminal shows until `text` appears after the previous match, and returns the output
    /// from the previous match up to and including it.
    @discardableResult
    public func waitFor(_ text: String, timeout: Double = 60) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            // Bytes, not characters: a read may end inside a UTF-8 sequence.
            let unread = String(decoding: bytes[mark...], as: UTF8.self)
            if let range = unread.range(of: text) {
                let seen = String(unread[..<range.upperBound])
                mark += seen.utf8.count
                return seen
            }
            let left = deadline.timeIntervalSinceNow
            guard left > 0, readAvailable(waitMilliseconds: Int32(min(left, 1) * 1000)) else {
                if left > 0 { continue }
                throw PseudoTerminalError.timeout(waitingFor: text, seconds: timeout,
                                                 output: String(decoding: bytes[mark...], as: UTF8.self))
            }
        }
    }

    /// Reads until the terminal has been quiet for `quiet` seconds (the program is waiting for keys).
    public func settle(quiet: Double = 0.3, timeout: Double = 30) {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline, readAvailable(waitMilliseconds: Int32(quiet * 1000)) {}
    }

    /// Waits for the process to exit, reading its last output; returns its exit status (128 + signal when
    /// killed by one).
    public func waitForExit(timeout: Double = 60) throws -> Int32 {
        if let exitStatus { return exitStatus }
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            _ = readAvailable(waitMilliseconds: 100)
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                while readAvailable(waitMilliseconds: 50) {}
                let code = status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
                exitStatus = code
                return code
            }
        }
        throw PseudoTerminalError.exitTimeout(output: output)
    }

    /// Appends what is ready within `waitMilliseconds`; false when nothing came (or the terminal closed).
    private func readAvailable(waitMilliseconds: Int32) -> Bool {
        var descriptor = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, waitMilliseconds) > 0 else { return false }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { read(master, $0.baseAddress, $0.count) }
        // EIO once the child has closed its side.
        guard n > 0 else { return false }
        bytes += buffer[..<n]
        return true
    }
}

extension String {
    /// The text without ANSI escape sequences (CSI sequences such as colours and cursor moves) and CRs.
    public var withoutTerminalControls: String {
        var result = ""
        var iterator = unicodeScalars.makeIterator()
        while let scalar = iterator.next() {
            if scalar == "\u{1B}" {
                guard let next = iterator.next() else { break }
                if next == "[" {
                    while let c = iterator.next(), !(0x40...0x7E).contains(c.value) {}
                }
                continue
            }
            if scalar == "\r" { continue }
            result.unicodeScalars.append(scalar)
        }
        return result
    }
}
