import Dispatch
import Foundation
import SwiftLM
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Unbuffered write to stdout, so streamed pieces appear as they are generated.
func writeStandardOutput(_ text: String) {
    FileHandle.standardOutput.write(Data(text.utf8))
}

/// Streams a generation to stdout; returns the final statistics (nil if the stream ended without them).
@discardableResult
func printStream(_ stream: AsyncThrowingStream<GenerationEvent, Error>) async throws -> GenerationStats? {
    var stats: GenerationStats?
    for try await event in stream {
        switch event {
        case let .text(piece): writeStandardOutput(piece)
        case let .done(s): stats = s
        case .logprobs, .toolCall: break
        }
    }
    return stats
}

/// Ollama-style `--verbose` statistics on stderr.
func printVerboseStats(_ s: GenerationStats, loadDuration: Duration?) {
    func ms(_ d: Duration) -> String { String(format: "%.2fms", d.seconds * 1000) }
    var lines: [String] = []
    if let loadDuration { lines.append("load duration:        \(ms(loadDuration))") }
    let evaluated = s.promptTokens - s.cachedPromptTokens
    lines.append("prompt eval count:    \(evaluated) token(s)" + (s.cachedPromptTokens > 0 ? " (+\(s.cachedPromptTokens) cached)" : ""))
    lines.append("prompt eval duration: \(ms(s.promptDuration))")
    lines.append(String(format: "prompt eval rate:     %.2f tokens/s", s.promptTokensPerSecond))
    lines.append("eval count:           \(s.generatedTokens) token(s)")
    lines.append("eval duration:        \(ms(s.generationDuration))")
    lines.append(String(format: "eval rate:            %.2f tokens/s", s.generationTokensPerSecond))
    lines.append("done reason:          \(s.doneReason.rawValue)")
    writeStandardError(lines.joined(separator: "\n") + "\n")
}

/// Routes Ctrl-C to cancelling the current reply instead of killing the process; with no action set,
/// Ctrl-C does nothing (the chat's line editor reads it as a key while a line is edited).
final class InterruptHandler: Sendable {
    private let id = InterruptRouter.shared.push {}

    deinit { InterruptRouter.shared.remove(id) }

    /// What Ctrl-C does from now on.
    func set(_ action: (@Sendable () -> Void)?) {
        InterruptRouter.shared.replace(id, with: action ?? {})
    }
}

/// A one-line notice on stderr, dimmed on a terminal unless `NO_COLOR` is set.
func writeNotice(_ text: String) {
    let noColor = ProcessInfo.processInfo.environment["NO_COLOR"].map { !$0.isEmpty } ?? false
    let styled = isatty(STDERR_FILENO) != 0 && !noColor
    writeStandardError(styled ? "\u{1B}[2m\(text)\u{1B}[22m\n" : text + "\n")
}

/// Why a reply that ended with reason `length` was cut, or nil if it was not: the `num_predict` limit
/// or a full context (a reply never shifts the context mid-way; the next turn drops old turns instead).
func lengthNote(_ stats: GenerationStats, options: GenerationOptions, capacity: Int) -> String? {
    guard stats.doneReason == .length else { return nil }
    if options.maxTokens >= 0, stats.generatedTokens >= options.maxTokens {
        return "(reply cut at num_predict = \(options.maxTokens) tokens)"
    }
    return "(reply cut: the context of \(capacity) tokens is full)"
}
