import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The CLI's entry point. Command-line mistakes (unknown option, missing argument, a
/// `ValidationError`) keep ArgumentParser's message and usage text; every other error a command
/// throws (`GGUFError`, `StoreError`, `RuntimeError`, ...) becomes exactly one line,
/// `error: <description>`, on stderr and exit status 1. So commands just `throw`: no wrapping needed.
extension SwiftLMCommand {
    static func main() async {
        var command: any ParsableCommand
        do {
            command = try await asyncParseAsRoot(nil)
        } catch {
            exit(withError: error)
        }
        do {
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if isArgumentParserError(error) { exit(withError: error) }
            reportError(error)
            exitProcess(EXIT_FAILURE)
        }
    }
}

/// A command's own failure that no module error describes: printed as `error: <message>`, exit 1.
/// (Use `ValidationError` only for wrong command-line usage: that one also prints the usage text.)
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

/// Errors ArgumentParser formats itself: help / clean exits, explicit exit codes, usage errors, and
/// its internal ones (`--help` parses into a built-in command whose `run()` throws a `CommandError`).
private func isArgumentParserError(_ error: any Error) -> Bool {
    error is CleanExit || error is ExitCode || error is ValidationError
        || String(reflecting: type(of: error)).hasPrefix("ArgumentParser.")
}

/// Prints `error: <description>` as a single line on stderr. Multi-line descriptions are folded so
/// scripts and users always see one line per failure.
func reportError(_ error: any Error) {
    // Foundation errors describe themselves best through LocalizedError; ours through description.
    let text = (error as? any LocalizedError)?.errorDescription ?? String(describing: error)
    let oneLine = text.split(whereSeparator: \.isNewline).joined(separator: " ")
    writeStandardError("error: \(oneLine)\n")
}

/// Unbuffered write to stderr, so the message is out even if the process exits right after.
func writeStandardError(_ text: String) {
    let bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeBytes { write(2, $0.baseAddress! + offset, $0.count - offset) }
        if n <= 0 { break }
        offset += n
    }
}

/// `exit` from the C library; the name is shadowed by `ParsableCommand.exit(withError:)` inside commands.
func exitProcess(_ status: Int32) -> Never {
    #if canImport(Glibc)
    Glibc.exit(status)
    #else
    Darwin.exit(status)
    #endif
}
