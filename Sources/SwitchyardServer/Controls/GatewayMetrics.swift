import CoreMetrics
import Prometheus
import SwitchyardCore

/// The gateway's Prometheus metrics, through swift-metrics over an injected
/// `PrometheusCollectorRegistry` (never the global `MetricsSystem`, so every application and test
/// has its own). Label values come only from configured sets: unknown providers, models, gateways
/// and routes are counted as `other`.
public final class GatewayMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let factory: PrometheusMetricsFactory
    let gateways: Set<String>
    let providers: Set<String>
    let models: Set<String>
    let routeNames: @Sendable () -> [String]

    init(registry: PrometheusCollectorRegistry, gateways: Set<String>, providers: Set<String>, models: Set<String>, routeNames: @escaping @Sendable () -> [String]) {
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
            .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(120),
        ]
        self.factory = factory
        self.gateways = gateways
        self.providers = providers
        self.models = models
        self.routeNames = routeNames
    }

    func label(gateway: String) -> String { gateways.contains(gateway) ? gateway : "other" }
    func label(provider: String?) -> String {
        guard let provider else { return "none" }
        return providers.contains(provider) ? provider : "other"
    }
    func label(provider: String?, model: String?) -> String {
        guard let provider, let model else { return "none" }
        let id = "\(provider)/\(model)"
        return models.contains(id) ? id : "other"
    }
    func label(route: String?) -> String {
        guard let route else { return "none" }
        let name = String(route.split(separator: "@", maxSplits: 1).first ?? "")
        return routeNames().contains(name) ? name : "other"
    }
    static func nanoseconds(_ d: Duration) -> Int64 {
        d.components.seconds * 1_000_000_000 + d.components.attoseconds / 1_000_000_000
    }

    static func statusClass(_ status: Int) -> String { (100..<600).contains(status) ? "\(status / 100)xx" : "other" }

    func request(
        gateway: String, provider: String?, model: String?, route: String?, status: Int, cached: Bool,
        cacheStatus: RequestObservation.CacheStatus?, total: Duration, ttfb: Duration?, upstream: Duration?, usage: Usage?, cost: Double
    ) {
        let g = label(gateway: gateway), p = label(provider: provider), m = label(provider: provider, model: model)
        CoreMetrics.Counter(label: "switchyard_gateway_requests_total", dimensions: [
            ("gateway", g), ("provider", p), ("model", m), ("route", label(route: route)), ("status_class", Self.statusClass(status)),
            ("cached", cached ? "true" : "false"),
        ], factory: factory).increment()
        if let ttfb {
            CoreMetrics.Timer(label: "switchyard_time_to_first_byte_seconds", dimensions: [("gateway", g), ("provider", p)], factory: factory).recordNanoseconds(Self.nanoseconds(ttfb))
        }
        if let upstream {
            CoreMetrics.Timer(label: "switchyard_upstream_duration_seconds", dimensions: [("provider", p)], factory: factory).recordNanoseconds(Self.nanoseconds(upstream))
            let overhead = total > upstream ? total - upstream : .zero
            CoreMetrics.Timer(label: "switchyard_gateway_overhead_seconds", dimensions: [("gateway", g)], factory: factory).recordNanoseconds(Self.nanoseconds(overhead))
        }
        if let usage {
            CoreMetrics.Counter(label: "switchyard_model_tokens_total", dimensions: [("provider", p), ("model", m), ("direction", "in")], factory: factory)
                .increment(by: usage.promptTokens)
            CoreMetrics.Counter(label: "switchyard_model_tokens_total", dimensions: [("provider", p), ("model", m), ("direction", "out")], factory: factory)
                .increment(by: usage.completionTokens)
        }
        if cost > 0 {
            CoreMetrics.FloatingPointCounter(label: "switchyard_cost_usd_total", dimensions: [("provider", p), ("model", m)], factory: factory).increment(by: cost)
        }
        if let cacheStatus {
            CoreMetrics.Counter(label: "switchyard_cache_requests_total", dimensions: [("gateway", g), ("result", cacheStatus == .hit ? "hit" : "miss")], factory: factory)
                .increment()
        }
    }

    private static let buckets: [Duration] = [.milliseconds(5), .milliseconds(25), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30), .seconds(60)]
    private static var requests: MetricNameDescriptor { MetricNameDescriptor(namespace: "switchyard", metricName: "requests", unitName: "total", helpText: "Requests answered, by endpoint, provider and status.") }
    private static var duration: MetricNameDescriptor { MetricNameDescriptor(namespace: "switchyard", metricName: "request_duration", unitName: "seconds", helpText: "Time from request to the end of the response.") }
    private static var tokens: MetricNameDescriptor { MetricNameDescriptor(namespace: "switchyard", metricName: "tokens", unitName: "total", helpText: "Tokens reported by providers, by type.") }

    /// Every request's log line: by endpoint, provider and exact status (cache hits included).
    func record(endpoint: String, provider: String?, status: Int, duration: Duration, usage: Usage?) {
        let provider = label(provider: provider)
        registry.makeCounter(descriptor: Self.requests, labels: [("endpoint", endpoint), ("provider", provider), ("status", String(status))]).increment()
        registry.makeDurationHistogram(descriptor: Self.duration, labels: [("endpoint", endpoint), ("provider", provider)], buckets: Self.buckets).record(duration)
        if let usage {
            registry.makeCounter(descriptor: Self.tokens, labels: [("provider", provider), ("type", "prompt")]).increment(by: Int64(usage.promptTokens))
            registry.makeCounter(descriptor: Self.tokens, labels: [("provider", provider), ("type", "completion")]).increment(by: Int64(usage.completionTokens))
        }
    }

    func exposition() -> String { registry.emitToString() }

    /// A gateway rate limit (2003) or a route budget/rate limit (2041) turned a request away.
    func limitRejected(gateway: String, code: Int) {
        CoreMetrics.Counter(label: "switchyard_limit_rejections_total", dimensions: [("gateway", label(gateway: gateway)), ("code", String(code))], factory: factory)
            .increment()
    }

    func retried(provider: String) {
        CoreMetrics.Counter(label: "switchyard_retries_total", dimensions: [("provider", label(provider: provider))], factory: factory).increment()
    }

    func fellBack(provider: String) {
        CoreMetrics.Counter(label: "switchyard_fallbacks_total", dimensions: [("provider", label(provider: provider))], factory: factory).increment()
    }

    /// For the route loader: one reload of the routes directory, successful or not.
    public func routesReloaded(success: Bool) {
        CoreMetrics.Counter(label: "switchyard_route_reloads_total", dimensions: [("result", success ? "success" : "error")], factory: factory).increment()
    }

    /// Set just before each scrape.
    func logQueue(depth: Int, dropped: Int, written: Int) {
        CoreMetrics.Gauge(label: "switchyard_log_queue_depth", factory: factory).record(depth)
        CoreMetrics.Gauge(label: "switchyard_log_records_dropped", factory: factory).record(dropped)
        CoreMetrics.Gauge(label: "switchyard_log_records_written", factory: factory).record(written)
    }

    public func scrape() -> String { registry.emitToString() }
}
