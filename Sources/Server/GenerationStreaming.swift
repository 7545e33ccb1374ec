import CoreMetrics
import Foundation
import Hummingbird
import Logging
import Runtime
import ServiceLifecycle
import Template

/// A model lease held for as long as a response needs it: when the last reference goes (the response
/// body was written, or the request failed before it), the model goes back to the ``ModelManager``
/// with the request's keep-alive. Tying the release to the object's lifetime means no path can leak it.
final class LeaseHolder: Sendable {
    let lease: ModelManager.Lease
    let manager: ModelManager
    let keepAlive: KeepAlive

    init(lease: ModelManager.Lease, manager: ModelManager, keepAlive: KeepAlive) {
        self.lease = lease
        self.manager = manager
        self.keepAlive = keepAlive
    }

    var model: LoadedModel { lease.model }

    deinit {
        let (manager, lease, keepAlive) = (manager, lease, keepAlive)
        Task { await manager.release(lease, keepAlive: keepAlive) }
    }
}

/// A generation submitted to a model's scheduler, ready to be streamed to the client.
struct ActiveGeneration: Sendable {
    let holder: LeaseHolder
    let events: AsyncThrowingStream<GenerationEvent, Error>
    let prompt: [Int32]
    /// Messages or tokens dropped to fit the context (0: none).
    let truncated: Int
    let started: ContinuousClock.Instant
    let requestedModel: String
    /// Parses tool calls out of the text, when the request has tools.
    var toolParser: ToolCallParser? = nil
}

/// What a response writer turns into bytes.
enum GenerationOutput: Sendable {
    /// A text piece (possibly empty when only log-probabilities arrived) and the log-probabilities of
    /// the tokens sampled since the previous piece. `index` counts pieces from 0.
    case piece(index: Int, text: String, logprobs: [TokenLogprobs])
    /// A tool call parsed from the reply (streamed responses only); `index` counts calls from 0.
    case toolCall(index: Int, ChatToolCall)
    /// The end: statistics, total wall time, the whole reply when the response is not streamed (empty
    /// otherwise), log-probabilities not yet sent (all of them when not streamed), and how many tool
    /// calls the reply made with, when not streamed, the calls themselves.
    case done(GenerationStats, total: Duration, text: String, logprobs: [TokenLogprobs], toolCalls: [ChatToolCall], callCount: Int)
}

/// What ``ServerState/chatPrompt(_:messages:model:keepAlive:contextLength:truncate:)`` settles for a chat request.
struct ChatPrompt {
    let holder: LeaseHolder
    let capacity: Int
    let tools: RequestTools?
    let built: PromptBuilder.Result
}

extension ServerState {
    /// The model named `model`, loaded if needed, held for one request and handed back with `keepAlive`
    /// when the holder goes.
    func lease(_ model: String, keepAlive: KeepAlive) async throws -> LeaseHolder {
        LeaseHolder(lease: try await manager.acquire(model), manager: manager, keepAlive: keepAlive)
    }

    /// A chat request's prompt, as Ollama's /api/chat and OpenAI's /v1/chat/completions both build it: the
    /// raw body restores tool-call arguments' key order and gives the requested tools, the model is leased,
    /// the context capacity settled, the tools resolved against the model's template and the messages
    /// rendered (truncated from the front when `truncate`).
    func chatPrompt(_ request: inout Request, messages: [ChatMessage], model: String, keepAlive: KeepAlive,
                    contextLength: Int?, truncate: Bool) async throws -> ChatPrompt {
        var messages = messages
        let raw = try await rawBody(&request)
        RequestTools.restoreArgumentOrder(&messages, raw: raw)
        let requestedTools = try RequestTools.requested(raw: raw)
        let holder = try await lease(model, keepAlive: keepAlive)
        let capacity = holder.lease.scheduler.effectiveContextLength(contextLength)
        let tools = try RequestTools.resolve(requestedTools, template: holder.model.chatTemplate, model: model)
        let built = try PromptBuilder(model: holder.model, capacity: capacity).chat(messages, tools: tools, truncate: truncate)
        return ChatPrompt(holder: holder, capacity: capacity, tools: tools, built: built)
    }

    /// Submits the prompt to the leased model and answers with the stream `makeEncoder` renders (it is
    /// told whether the prompt was truncated).
    /// ``respond(_:context:holder:prompt:options:capacity:requestedModel:started:tools:makeEncoder:)`` for a chat
    /// request's ``chatPrompt(_:messages:model:keepAlive:contextLength:truncate:)``: its lease, prompt,
    /// capacity and tools.
    func respond<Encoder: OutputEncoder>(_ request: Request, context: ServerRequestContext, chat: ChatPrompt, options: RequestOptions,
                                         requestedModel: String, started: ContinuousClock.Instant,
                                         makeEncoder: (_ truncated: Bool) -> Encoder) async throws -> Response {
        try await respond(request, context: context, holder: chat.holder, prompt: chat.built, options: options,
                          capacity: chat.capacity, requestedModel: requestedModel, started: started, tools: chat.tools,
                          makeEncoder: makeEncoder)
    }

    func respond<Encoder: OutputEncoder>(_ request: Request, context: ServerRequestContext, holder: LeaseHolder, prompt: PromptBuilder.Result, options: RequestOptions,
                                         capacity: Int, requestedModel: String, started: ContinuousClock.Instant,
                                         tools: RequestTools? = nil,
                                         makeEncoder: (_ truncated: Bool) -> Encoder) async throws -> Response {
        var generation = options.generation
        // Call markup that is a control token (Mistral's `[TOOL_CALLS]`) must reach the parser.
        if let tools { generation.visibleControlTokens += tools.format.markupTokens }
        // A forced call's name and arguments are generated under the tools' grammar (it replaces `format`:
        // the reply is a call, not a document).
        if let forced = tools?.forcedFormat { generation.format = forced }
        let generationRequest = GenerationRequest(prompt: prompt.tokens, options: generation, contextLength: capacity,
                                                  batchSize: options.batchSize ?? configuration.defaultBatchSize,
                                                  loadDuration: holder.lease.loadDuration)
        var active = try await start(holder, generationRequest, truncated: prompt.truncated, requestedModel: requestedModel, started: started)
        active.toolParser = tools?.parser()
        return streamingResponse(generation: active, encoder: makeEncoder(prompt.truncated > 0),
                                 monitor: await context.connectionMonitor())
    }

    /// Submits `request` to the leased model's scheduler (503 when its queue is full).
    func start(_ holder: LeaseHolder, _ request: GenerationRequest, truncated: Int, requestedModel: String,
               started: ContinuousClock.Instant) async throws(ServerError) -> ActiveGeneration {
        let events: AsyncThrowingStream<GenerationEvent, Error>
        do {
            events = try holder.lease.scheduler.submit(request)
        } catch {
            throw ServerError.map(error)
        }
        metrics.promptTokens.increment(by: Int64(request.prompt.count))
        if truncated > 0 {
            logger.notice("prompt truncated to fit the context", metadata: [
                "model": "\(holder.lease.name)", "dropped": "\(truncated)", "prompt_tokens": "\(request.prompt.count)",
            ])
        }
        return ActiveGeneration(holder: holder, events: events, prompt: request.prompt, truncated: truncated,
                                started: started, requestedModel: requestedModel)
    }

    /// A response whose body streams `generation` as `encoder` renders it, one write per output.
    ///
    /// The generation stops when the client goes away (`monitor`, fed by the connection's
    /// ``DisconnectWatcher``, cancels the consuming task, which cancels the scheduler stream) and on
    /// graceful shutdown, which also writes the encoder's error line so the client sees why its stream
    /// ended. An error after the body has begun ends it the same way. The connection stays usable for
    /// the client's next request.
    func streamingResponse<Encoder: OutputEncoder>(generation: ActiveGeneration, encoder: Encoder,
                                                   monitor: ConnectionMonitor?) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = encoder.contentType
        if encoder.contentType.hasPrefix("text/event-stream") { headers[.cacheControl] = "no-cache" }
        let state = self
        let body = ResponseBody { writer in
            let (chunks, sink) = AsyncStream.makeStream(of: String.self)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    // Whichever ends first: the generation, or the client.
                    await withTaskGroup(of: Void.self) { race in
                        race.addTask {
                            await cancelWhenGracefulShutdown {
                                await state.produce(generation, encoder: encoder, into: sink)
                            }
                        }
                        if let monitor {
                            race.addTask {
                                let (closed, signal) = AsyncStream.makeStream(of: Void.self)
                                let token = monitor.onClose { signal.finish() }
                                for await _ in closed {}
                                monitor.remove(token)
                            }
                        }
                        await race.next()
                        race.cancelAll()
                    }
                    sink.finish()
                }
                for await chunk in chunks where !chunk.isEmpty {
                    try await writer.write(ByteBuffer(string: chunk))
                }
                try await group.waitForAll()
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }

    /// Consumes the scheduler's events, groups log-probabilities with the text they produced, records
    /// metrics, and yields rendered output.
    private func produce<Encoder: OutputEncoder>(_ generation: ActiveGeneration, encoder: Encoder,
                                                 into sink: AsyncStream<String>.Continuation) async {
        var encoder = encoder
        var pending: [TokenLogprobs] = []
        // A response that is not streamed gets one `.done` with everything.
        var whole = ""
        var calls: [ChatToolCall] = []
        var callCount = 0
        var index = 0
        var lastPiece: ContinuousClock.Instant?
        var parser = generation.toolParser
        func deliver(_ events: [ToolCallEvent]) {
            for event in events {
                switch event {
                case let .text(t):
                    if encoder.streams {
                        sink.yield(encoder.encode(.piece(index: index, text: t, logprobs: pending)))
                        pending = []
                    } else {
                        whole += t
                    }
                    index += 1
                case let .call(call):
                    if encoder.streams {
                        sink.yield(encoder.encode(.toolCall(index: callCount, call)))
                    } else {
                        calls.append(call)
                    }
                    callCount += 1
                }
            }
        }
        do {
            for try await event in generation.events {
                switch event {
                case let .logprobs(l):
                    pending.append(l)
                case let .text(t):
                    let now = ContinuousClock.now
                    if let lastPiece {
                        metrics.tokenLatency.recordInterval(now - lastPiece)
                    } else {
                        metrics.timeToFirstToken.recordInterval(now - generation.started)
                    }
                    lastPiece = now
                    if parser != nil { deliver(parser!.feed(t)) } else { deliver([.text(t)]) }
                case .toolCall:
                    break // the scheduler streams raw text; calls are parsed here
                case let .done(stats):
                    metrics.generatedTokens.increment(by: Int64(stats.generatedTokens))
                    if stats.doneReason == .cancelled {
                        // The client is gone (nothing to write) or the server is stopping.
                        if Task.isShuttingDownGracefully { sink.yield(encoder.errorLine(.shuttingDown)) }
                        return
                    }
                    if parser != nil { deliver(parser!.finish()) }
                    sink.yield(encoder.encode(.done(stats, total: ContinuousClock.now - generation.started, text: whole, logprobs: pending,
                                                    toolCalls: calls, callCount: callCount)))
                    return
                }
            }
            // The stream ended without `done`: this task was cancelled.
            if Task.isShuttingDownGracefully { sink.yield(encoder.errorLine(.shuttingDown)) }
        } catch {
            let mapped = ServerError(error)
            logger.error("generation failed", metadata: ["model": "\(generation.holder.lease.name)", "error": "\(mapped.message)"])
            sink.yield(encoder.errorLine(mapped))
        }
    }
}

/// Renders generation output in one API's wire format. A value is owned by one response: it may keep
/// state (the text so far, for a non-streamed reply).
protocol OutputEncoder: Sendable {
    /// False for a single JSON object at the end (`"stream": false`).
    var streams: Bool { get }
    var contentType: String { get }
    /// The bytes for one output; empty to write nothing.
    mutating func encode(_ output: GenerationOutput) -> String
    /// The last line of a stream that ends in an error.
    func errorLine(_ error: ServerError) -> String
}

extension Duration {
    /// Whole nanoseconds, as Ollama reports every duration.
    var nanoseconds: Int {
        let c = components
        return Int(c.seconds) * 1_000_000_000 + Int(c.attoseconds / 1_000_000_000)
    }
}

extension CoreMetrics.Timer {
    func recordInterval(_ d: Duration) { recordNanoseconds(Int64(d.nanoseconds)) }
}
