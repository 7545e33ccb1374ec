import ArgumentParser
import Foundation
import Kernels
import Logging
import Server

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the Ollama- and OpenAI-compatible HTTP API.",
        discussion: """
            Listens on 127.0.0.1:11434 unless --host/--port, SWIFTLM_HOST or OLLAMA_HOST say otherwise. \
            Models load on first use and stay loaded for each request's keep_alive (default 5m). \
            SIGTERM or SIGINT stops accepting connections, ends running streams with an error line and exits 0. \
            See docs/SERVER.md for every endpoint.
            """
    )

    @Option(help: "Address to bind, optionally with a port (default 127.0.0.1, or SWIFTLM_HOST / OLLAMA_HOST).")
    var host: String?
    @Option(help: "Port (default 11434).")
    var port: Int?
    @Option(name: .customLong("max-loaded"), help: "Models kept in memory at once (default 3, or OLLAMA_MAX_LOADED_MODELS).")
    var maxLoaded: Int?
    @Option(name: .customLong("max-queue"), help: "Requests that may wait per model before the server answers 503 (default 512, or OLLAMA_MAX_QUEUE).")
    var maxQueue: Int?
    @Option(help: "Sequences per model decoded together in one batch (default 4, or OLLAMA_NUM_PARALLEL); each slot has its own KV cache.")
    var parallel: Int?
    @Option(name: .customLong("keep-alive"), help: "How long a model stays loaded after a request that does not say: 5m, 1h, 0, -1 for forever (default 5m, or OLLAMA_KEEP_ALIVE).")
    var keepAlive: String?
    @Option(help: "Context size when a request gives no num_ctx (default 4096 capped at the model's, or OLLAMA_CONTEXT_LENGTH).")
    var ctx: Int?
    @Option(help: "Kernel threads per model (default: physical cores, or SWIFTLM_THREADS).")
    var threads: Int?
    @Option(name: .customLong("kv-type"), help: "KV cache type of every slot: f32, f16 or q8_0 (default f16, or OLLAMA_KV_CACHE_TYPE).")
    var kvType: KVCacheType?
    @Option(name: .customLong("api-key"), help: "Require 'Authorization: Bearer KEY' on every request (or SWIFTLM_API_KEY).")
    var apiKey: String?
    @Option(name: .customLong("max-body-mb"), help: "Largest request body accepted, in MiB (default 32).")
    var maxBodyMB: Int?
    @Flag(help: "Log at debug level.")
    var verbose = false

    func run() async throws {
        let env = ProcessInfo.processInfo.environment
        var config = ServerConfiguration()
        if let address = ServerConfiguration.hostFromEnvironment(env) {
            config.host = address.host
            if let p = address.port { config.port = p }
        }
        if let host {
            let (h, p) = ServerConfiguration.parseHost(host)
            config.host = h
            if let p { config.port = p }
        }
        if let port { config.port = port }
        guard (0...65535).contains(config.port) else { throw ValidationError("--port must be in 0...65535") }
        func envInt(_ key: String) -> Int? { env[key].flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } }
        config.maxLoaded = maxLoaded ?? envInt("OLLAMA_MAX_LOADED_MODELS") ?? config.maxLoaded
        config.maxQueue = maxQueue ?? envInt("OLLAMA_MAX_QUEUE") ?? config.maxQueue
        config.parallel = parallel ?? envInt("OLLAMA_NUM_PARALLEL") ?? config.parallel
        config.defaultContextLength = ctx ?? envInt("OLLAMA_CONTEXT_LENGTH")
        if let kvType {
            config.kvType = kvType
        } else if let text = env["OLLAMA_KV_CACHE_TYPE"]?.trimmingCharacters(in: .whitespaces).lowercased(), !text.isEmpty {
            guard let type = KVCacheType(rawValue: text) else {
                throw ValidationError("OLLAMA_KV_CACHE_TYPE: '\(text)' is not one of f32, f16, q8_0")
            }
            config.kvType = type
        }
        guard config.maxLoaded >= 1 else { throw ValidationError("--max-loaded must be at least 1") }
        guard config.maxQueue >= 0 else { throw ValidationError("--max-queue must be at least 0") }
        guard config.parallel >= 1 else { throw ValidationError("--parallel must be at least 1") }
        if let n = config.defaultContextLength, n < 1 { throw ValidationError("--ctx must be at least 1") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        config.threads = threads
        if let text = keepAlive ?? env["OLLAMA_KEEP_ALIVE"], !text.isEmpty {
            guard let parsed = ServerConfiguration.parseKeepAlive(text) else {
                throw ValidationError("--keep-alive: '\(text)' is not a duration (e.g. 5m, 1h, 30s, 0, -1)")
            }
            config.defaultKeepAlive = parsed
        }
        config.apiKey = apiKey ?? env["SWIFTLM_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        config.extraOrigins = ServerConfiguration.originsFromEnvironment(env)
        if let maxBodyMB {
            guard maxBodyMB >= 1 else { throw ValidationError("--max-body-mb must be at least 1") }
            config.maxBodySize = maxBodyMB * 1024 * 1024
        }

        let level: Logger.Level = verbose ? .debug : .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "swiftlm.server")
        logger.info("swiftlm serve listening on \(config.host):\(config.port) (max-loaded \(config.maxLoaded), max-queue \(config.maxQueue), parallel \(config.parallel), kv-type \(config.kvType.rawValue))")
        try await SwiftLMServer(configuration: config, logger: logger).run()
    }
}
