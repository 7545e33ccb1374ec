import ArgumentParser
import Foundation
import SwiftLM
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The CLI's entry point, and its one error style:
/// - every failure is one line, `error: <what went wrong>[; <what to do>]`, on stderr;
/// - wrong usage (unknown option, bad value, a `ValidationError`) exits 64 (EX_USAGE) and shows the
///   usage of the subcommand that was run, not the top level's;
/// - an interrupted operation (Ctrl-C) exits 130; every other failure exits 1.
/// Modules throw their own typed errors, whose messages say what happened in the library's terms;
/// the advice that names flags or commands is added here, per command (``CommandErrorHints``).
extension SwiftLMCommand {
    static func main() async {
        warnAboutInvalidArguments()
        var command: any ParsableCommand
        do {
            command = try await asyncParseAsRoot(nil)
        } catch {
            exitWithUsage(error, command: nil)
        }
        do {
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if isArgumentParserError(error) { exitWithUsage(error, command: type(of: command)) }
            reportError(error, hints: command as? any CommandErrorHints)
            exitProcess(exitStatus(for: error))
        }
    }

    /// Help and version go to stdout with status 0; usage errors to stderr as `error: ...` plus the
    /// usage of `command` (or of the subcommand ArgumentParser was parsing), with status 64.
    private static func exitWithUsage(_ error: any Error, command: (any ParsableCommand.Type)?) -> Never {
        let code = exitCode(for: error)
        if code == .success || error is ExitCode || error is CleanExit {
            // Help, --version, explicit exit codes: ArgumentParser's own handling is right.
            exit(withError: error)
        }
        var text: String
        if let command, command != SwiftLMCommand.self, error is ValidationError {
            // Thrown from run(): ArgumentParser would print the top level's usage.
            let name = command.configuration.commandName ?? ""
            text = "error: \(message(for: error))\nUsage: " + usageString(for: command)
                + "\n  See 'swiftlm \(name) --help' for more information."
        } else {
            text = fullMessage(for: error)
            if text.hasPrefix("Error: ") { text = "error: " + text.dropFirst("Error: ".count) }
        }
        writeStandardError(text.hasSuffix("\n") ? text : text + "\n")
        exitProcess(code.rawValue == 0 ? 64 : code.rawValue)
    }
}

/// A command that knows how its user can act on an error: it returns the advice (naming its own
/// flags) to append to the error's message, or nil for none.
protocol CommandErrorHints {
    func hint(for error: any Error) -> String?
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

/// 130 for an interrupted operation (as a shell reports a SIGINT), else 1.
func exitStatus(for error: any Error) -> Int32 {
    if case .cancelled? = error as? StoreError { return 130 }
    if case .cancelled? = error as? RuntimeError { return 130 }
    return EXIT_FAILURE
}

/// Prints `error: <description>[; <hint>]` as a single line on stderr. Multi-line descriptions are
/// folded so scripts and users always see one line per failure.
func reportError(_ error: any Error, hints: (any CommandErrorHints)? = nil) {
    var text = describe(error)
    if let hint = hints?.hint(for: error) ?? commonHint(for: error) { text += "; " + hint }
    let oneLine = text.split(whereSeparator: \.isNewline).joined(separator: " ")
    writeStandardError("error: \(oneLine)\n")
}

/// Advice that holds whichever command hit the error.
private func commonHint(for error: any Error) -> String? {
    switch error {
    case RuntimeError.invalidOption(let name, _, _) where name == ThreadPool.threadsEnvironmentVariable:
        return "unset it to use the physical core count"
    default:
        return nil
    }
}

/// The message for any error: ours describe themselves; Foundation's are put into words, since on
/// Linux their text is often just "The operation could not be completed (NSCocoaErrorDomain ...)".
func describe(_ error: any Error) -> String {
    if error is StoreError || error is RuntimeError || error is CommandFailure || error is KernelsError
        || error is GGUFError || error is TemplateError || error is TokenizerError || error is ModelError {
        return String(describing: error)
    }
    let ns = error as NSError
    if ns.domain == NSCocoaErrorDomain || ns.domain == NSPOSIXErrorDomain {
        let path = ns.userInfo[NSFilePathErrorKey] as? String ?? (ns.userInfo[NSURLErrorKey] as? URL)?.path
        let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError
        var reason: String
        if let underlying, underlying.domain == NSPOSIXErrorDomain {
            reason = String(cString: strerror(Int32(underlying.code)))
        } else if ns.domain == NSPOSIXErrorDomain {
            reason = String(cString: strerror(Int32(ns.code)))
        } else {
            switch CocoaError.Code(rawValue: ns.code) {
            case .fileNoSuchFile, .fileReadNoSuchFile: reason = "no such file"
            case .fileReadNoPermission, .fileWriteNoPermission: reason = "permission denied"
            case .fileWriteOutOfSpace: reason = "no space left on the device"
            case .fileReadCorruptFile: reason = "the data is not in the expected format"
            case .fileReadInapplicableStringEncoding: reason = "the file is not valid text in the expected encoding"
            case .fileWriteFileExists: reason = "the file already exists"
            default: reason = "file operation failed (code \(ns.code))"
            }
        }
        return path.map { "\($0): \(reason)" } ?? reason
    }
    let text = (error as? any LocalizedError)?.errorDescription ?? String(describing: error)
    return text
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
