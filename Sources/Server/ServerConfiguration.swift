import Foundation
import JSON
import Kernels

/// Everything `swiftlm serve` can be told, with Ollama's defaults.
public struct ServerConfiguration: Sendable {
    public var host: String = "127.0.0.1"
    public var port: Int = 11434
    /// Models kept in memory at once; loading one more evicts the least recently used idle one.
    public var maxLoaded: Int = 3
    /// Requests allowed to wait per model; beyond it the server answers 503.
    public var maxQueue: Int = 512
    /// Sequences per model decoded together (slots of the model's ``RequestScheduler``).
    public var parallel: Int = 4
    /// How every slot's KV cache stores keys and values (`--kv-type`, OLLAMA_KV_CACHE_TYPE); f16 like Ollama.
    public var kvType: KVCacheType = .default
    /// How long a model stays loaded after its last request when the request does not say.
    public var defaultKeepAlive: KeepAlive = .duration(.seconds(300))
    /// Context size when a request gives no `num_ctx` (capped at each model's trained length).
    public var defaultContextLength: Int? = nil
    /// Kernel threads per loaded model; nil: physical cores (or SWIFTLM_THREADS).
    public var threads: Int? = nil
    /// When set, every request but CORS preflights needs `Authorization: Bearer <key>`.
    public var apiKey: String? = nil
    /// Extra CORS origins (OLLAMA_ORIGINS / SWIFTLM_ORIGINS), added to the built-in localhost ones.
    public var extraOrigins: [String] = []
    /// Largest request body accepted, in bytes (Hummingbird's default is 2 MiB; long chats need more).
    public var maxBodySize: Int = 32 * 1024 * 1024
    /// Prompt tokens per forward pass when a request gives no `num_batch`. Smaller than the library's
    /// 512 because a client that disconnects during prompt evaluation is noticed between passes.
    public var defaultBatchSize: Int = 64
    /// The model store directory; nil: the default (`$SWIFTLM_MODELS` or ~/.swiftlm/models).
    public var storeRoot: String? = nil

    public init() {}

    /// Reads `SWIFTLM_HOST` (first) or `OLLAMA_HOST`: `host`, `host:port`, `:port`, or with an
    /// `http://` scheme, as Ollama accepts them. Returns nil when neither is set.
    public static func hostFromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment)
        -> (host: String, port: Int?)?
    {
        for key in ["SWIFTLM_HOST", "OLLAMA_HOST"] {
            if let value = env[key]?.trimmingCharacters(in: .whitespaces), !value.isEmpty {
                return parseHost(value)
            }
        }
        return nil
    }

    /// Splits `host[:port]` (scheme and trailing path dropped; `[v6]:port` understood). An empty host
    /// means the default loopback address.
    public static func parseHost(_ value: String) -> (host: String, port: Int?) {
        var s = Substring(value)
        if let range = s.range(of: "://") { s = s[range.upperBound...] }
        if let slash = s.firstIndex(of: "/") { s = s[..<slash] }
        var host = s
        var port: Int?
        if s.hasPrefix("[") {
            if let close = s.firstIndex(of: "]") {
                host = s[s.index(after: s.startIndex)..<close]
                let rest = s[s.index(after: close)...]
                if rest.hasPrefix(":") { port = Int(rest.dropFirst()) }
            }
        } else if let colon = s.lastIndex(of: ":"), s.filter({ $0 == ":" }).count == 1 {
            host = s[..<colon]
            port = Int(s[s.index(after: colon)...])
        }
        return (host.isEmpty ? "127.0.0.1" : String(host), port)
    }

    /// Comma-separated origins from `OLLAMA_ORIGINS` and `SWIFTLM_ORIGINS`.
    public static func originsFromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) -> [String] {
        ["OLLAMA_ORIGINS", "SWIFTLM_ORIGINS"].flatMap { key in
            (env[key] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
    }
}

/// How long a model stays in memory after a request, Ollama's `keep_alive`.
public enum KeepAlive: Sendable, Equatable {
    /// Unload as soon as no request uses the model (`0`).
    case unloadNow
    /// Never unload (any negative value).
    case forever
    case duration(Duration)

    /// Parses Ollama's accepted forms: a number of seconds (`300`, `-1`, `0`), or a Go duration string
    /// (`"5m"`, `"1h30m"`, `"2.5s"`, `"-1m"`, `"300"`).
    package static func parse(_ value: JSONValue) throws(ServerError) -> KeepAlive {
        switch value {
        case let .number(seconds):
            return fromSeconds(seconds.doubleValue)
        case let .string(text):
            if let seconds = Double(text.trimmingCharacters(in: .whitespaces)) { return fromSeconds(seconds) }
            guard let seconds = parseGoDuration(text) else {
                throw .badRequest("invalid value for field 'keep_alive': '\(text)' is not a duration (e.g. \"5m\", \"1h\", \"30s\", 0, -1)")
            }
            return fromSeconds(seconds)
        default:
            throw .badRequest("invalid value for field 'keep_alive': expected a duration string or a number of seconds")
        }
    }

    static func fromSeconds(_ seconds: Double) -> KeepAlive {
        if seconds < 0 { return .forever }
        if seconds == 0 { return .unloadNow }
        // Beyond a century is forever for any practical purpose (and keeps Duration from overflowing).
        if !seconds.isFinite || seconds > 3_153_600_000 { return .forever }
        return .duration(.milliseconds(Int64((seconds * 1000).rounded())))
    }

    /// Go's `time.ParseDuration`: an optional sign, then one or more decimal numbers each with a unit
    /// (ns, us, µs, ms, s, m, h). Returns seconds.
    static func parseGoDuration(_ text: String) -> Double? {
        var s = Substring(text.trimmingCharacters(in: .whitespaces))
        var sign = 1.0
        if s.hasPrefix("-") { sign = -1; s = s.dropFirst() } else if s.hasPrefix("+") { s = s.dropFirst() }
        if s == "0" { return 0 }
        guard !s.isEmpty else { return nil }
        let units: [(String, Double)] = [("ns", 1e-9), ("us", 1e-6), ("µs", 1e-6), ("μs", 1e-6), ("ms", 1e-3),
                                          ("s", 1), ("m", 60), ("h", 3600)]
        var total = 0.0
        while !s.isEmpty {
            let number = s.prefix { $0.isNumber || $0 == "." }
            guard !number.isEmpty, let value = Double(number) else { return nil }
            s = s.dropFirst(number.count)
            guard let unit = units.first(where: { s.hasPrefix($0.0) }) else { return nil }
            // "ms" must win over "m": the table lists longer units first where they share a prefix.
            s = s.dropFirst(unit.0.count)
            total += value * unit.1
        }
        return sign * total
    }

    /// When a model used now should be unloaded; nil for never.
    func expiry(from now: ContinuousClock.Instant) -> ContinuousClock.Instant? {
        switch self {
        case .unloadNow: return now
        case .forever: return nil
        case let .duration(d): return now + d
        }
    }
}

extension ServerConfiguration {
    /// Parses a keep-alive the way requests give it (`5m`, `300`, `0`, `-1`), for flags and environment.
    public static func parseKeepAlive(_ text: String) -> KeepAlive? {
        try? KeepAlive.parse(.string(text))
    }
}
