import CoreMetrics
import Foundation
import Prometheus

/// The server's Prometheus metrics, recorded through swift-metrics into a registry of its own (not the
/// process-wide `MetricsSystem`, so several servers, as in tests, never share counters).
///
/// Counters and histograms are updated as requests run; the gauges are read from the
/// ``ModelManager`` when `/metrics` is scraped, so they can never drift from the truth.
public final class ServerMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    let requests: CoreMetrics.Counter
    let promptTokens: CoreMetrics.Counter
    let generatedTokens: CoreMetrics.Counter
    let timeToFirstToken: CoreMetrics.Timer
    let tokenLatency: CoreMetrics.Timer
    let running: CoreMetrics.Gauge
    let queued: CoreMetrics.Gauge
    let loadedModels: CoreMetrics.Gauge
    let kvCacheTokens: CoreMetrics.Gauge

    public init() {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets = [
            "swiftlm_time_to_first_token_seconds": [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60].map { .milliseconds(Int64($0 * 1000)) },
            "swiftlm_token_latency_seconds": [0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28].map { .microseconds(Int64($0 * 1_000_000)) },
        ]
        self.registry = registry
        requests = CoreMetrics.Counter(label: "swiftlm_requests_total", factory: factory)
        promptTokens = CoreMetrics.Counter(label: "swiftlm_prompt_tokens_total", factory: factory)
        generatedTokens = CoreMetrics.Counter(label: "swiftlm_generated_tokens_total", factory: factory)
        timeToFirstToken = CoreMetrics.Timer(label: "swiftlm_time_to_first_token_seconds", factory: factory)
        tokenLatency = CoreMetrics.Timer(label: "swiftlm_token_latency_seconds", factory: factory)
        running = CoreMetrics.Gauge(label: "swiftlm_requests_running", factory: factory)
        queued = CoreMetrics.Gauge(label: "swiftlm_requests_queued", factory: factory)
        loadedModels = CoreMetrics.Gauge(label: "swiftlm_models_loaded", factory: factory)
        kvCacheTokens = CoreMetrics.Gauge(label: "swiftlm_kv_cache_tokens", factory: factory)
    }

    /// The Prometheus text exposition, after refreshing the gauges from `manager`.
    func render(manager: ModelManager) async -> String {
        let load = await manager.load()
        running.record(load.running)
        queued.record(load.queued)
        loadedModels.record(load.models)
        kvCacheTokens.record(load.cachedTokens)
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}
