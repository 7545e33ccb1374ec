import Foundation
import Tokenizer

extension InferenceContext {
    /// Generates a continuation of `prompt` (token ids, BOS included if wanted), streaming text pieces and
    /// ending with one ``GenerationEvent/done(_:)`` event.
    ///
    /// The part of `prompt` already in the cache is reused; the rest is evaluated in chunks of
    /// ``batchSize``. Decoding runs on its own thread; cancelling the consuming task (or dropping the
    /// stream) stops it after the current forward pass, as does ``cancel()``, which still delivers the
    /// `done` event with reason `cancelled`.
    ///
    /// The stream fails with ``RuntimeError/contextOverflow(needed:capacity:)`` when the prompt leaves no
    /// room to generate (never silently truncated), ``RuntimeError/busy`` if this context is already
    /// generating, or ``RuntimeError/invalidOption(name:value:expected:)`` for bad options.
    /// - Parameter loadDuration: reported back in the statistics (the CLI passes the model's load time).
    public func generate(prompt: [Int32], options: GenerationOptions = GenerationOptions(),
                         loadDuration: Duration = .zero) -> AsyncThrowingStream<GenerationEvent, Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: GenerationEvent.self)
        do {
            try options.validate()
            try claim()
        } catch {
            continuation.finish(throwing: error)
            return stream
        }
        continuation.onTermination = { [weak self] termination in
            if case .cancelled = termination { self?.cancel() }
        }
        let thread = Thread { [self] in
            let result: Result<GenerationStats, RuntimeError>
            do throws(RuntimeError) {
                var stats = try runGeneration(prompt: prompt, options: options) { piece in
                    if !piece.isEmpty { continuation.yield(.text(piece)) }
                } onToken: { logprobs in
                    continuation.yield(.logprobs(logprobs))
                }
                stats.loadDuration = loadDuration
                result = .success(stats)
            } catch {
                result = .failure(error)
            }
            // Free the context before the consumer can see the end, so it may start the next turn at once.
            release()
            switch result {
            case let .success(stats):
                continuation.yield(.done(stats))
                continuation.finish()
            case let .failure(error):
                continuation.finish(throwing: error)
            }
        }
        thread.name = "swiftlm-generate"
        thread.start()
        return stream
    }

    /// The synchronous decoding loop behind ``generate(prompt:options:loadDuration:)``: evaluates what the
    /// cache lacks of `prompt`, then drives a ``SequenceDecoder`` one token at a time. Must run with the
    /// context claimed.
    /// `onToken` receives each generated token's log-probabilities when `options.logprobs` asks for them.
    func runGeneration(prompt: [Int32], options: GenerationOptions, emit: (String) -> Void,
                       onToken: (TokenLogprobs) -> Void = { _ in }) throws(RuntimeError) -> GenerationStats {
        guard !prompt.isEmpty else { throw .emptyPrompt }
        // Room for the whole prompt plus the first generated token.
        guard prompt.count < capacity else { throw .contextOverflow(needed: prompt.count + 1, capacity: capacity) }

        let promptStart = ContinuousClock.now
        let cached = reusePrefixOwned(of: prompt)
        var decoder = try SequenceDecoder(prompt: prompt, options: options, tokenizer: model.tokenizer, capacity: capacity,
                                          cachedPromptTokens: cached, start: promptStart)
        func deliver(_ output: SequenceDecoder.Output) {
            if let lp = output.logprobs { onToken(lp) }
            emit(output.text)
        }
        var logits: [Float]
        do {
            logits = try evaluateOwned(Array(prompt[cached...]), logits: .last) { isCancelled }
        } catch .cancelled {
            _ = decoder.finish(.cancelled)
            return decoder.stats
        }
        while true {
            if isCancelled { deliver(decoder.finish(.cancelled)); break }
            switch decoder.step(logits) {
            case let .finished(_, output):
                deliver(output)
                return decoder.stats
            case let .next(token, output):
                deliver(output)
                do {
                    logits = try evaluateOwned([token], logits: .last, kernels: .fastest)
                } catch .cancelled {
                    deliver(decoder.finish(.cancelled))
                    return decoder.stats
                }
            }
        }
        return decoder.stats
    }

    /// The chosen token's log-probability and the `k` most likely alternatives, from one row of logits.
    static func logprobs(of token: Int32, in logits: [Float], top k: Int, tokenizer: Tokenizer) -> TokenLogprobs {
        func entry(_ id: Int32, _ logprob: Float) -> TokenProbability {
            let bytes = tokenizer.pieceBytes(id)
            return TokenProbability(id: id, text: String(decoding: bytes, as: UTF8.self), bytes: bytes, logprob: logprob)
        }
        let lse = Sampler.logSumExp(logits)
        let chosen = entry(token, logits[Int(token)] - lse)
        let top = k > 0 ? Sampler.topLogProbs(logits, k: k).map { entry($0.id, $0.logprob) } : []
        return TokenLogprobs(token: chosen, top: top)
    }
}
