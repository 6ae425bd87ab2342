import CoreMetrics
import Prometheus
import SwitchyardCore
import SwitchyardProviders
import Synchronization

/// The gateway's Prometheus metrics, through swift-metrics over an injected
/// `PrometheusCollectorRegistry` (never the global `MetricsSystem`, so every application and test
/// has its own). Label values come only from configured sets: unknown providers, models, gateways
/// and routes are counted as `other`.
public final class GatewayMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let factory: PrometheusMetricsFactory
    /// Label values taken as they are; others are `other`. Part of each `GatewaySettings` (built
    /// with it, so a reload brings its own), read from the request's settings.
    struct LabelSets: Sendable {
        var gateways: Set<String>
        var providers: Set<String>
        var models: Set<String>

        init(configuration: GatewayConfiguration, providers: ProviderTable) {
            gateways = Set(configuration.gateways.keys).union(["default"])
            self.providers = Set(providers.slugs)
            models = Set(PriceTable.builtin.keys).union(configuration.pricing.keys)
        }
    }
    private let labels: @Sendable () -> LabelSets
    let routeNames: @Sendable () -> [String]
    /// The handles of the per-request metrics by their label values: the registry validates names
    /// and matches label lists on every `make…` call, which showed in the profile at every request.
    private let requestHandles = HandleCache<RequestLabels, RequestHandles>()
    private let recordHandles = HandleCache<RecordLabels, RecordHandles>()

    init(registry: PrometheusCollectorRegistry, labels: @escaping @Sendable () -> LabelSets, routeNames: @escaping @Sendable () -> [String]) {
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
            .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(120),
        ]
        self.factory = factory
        self.labels = labels
        self.routeNames = routeNames
    }

    func label(gateway: String) -> String { labels().gateways.contains(gateway) ? gateway : "other" }
    func label(provider: String?) -> String {
        guard let provider else { return "none" }
        return labels().providers.contains(provider) ? provider : "other"
    }
    func label(provider: String?, model: String?) -> String {
        guard let provider, let model else { return "none" }
        let id = "\(provider)/\(model)"
        return labels().models.contains(id) ? id : "other"
    }
    func label(route: String?) -> String {
        guard let route else { return "none" }
        let name = String(route.split(separator: "@", maxSplits: 1).first ?? "")
        return routeNames().contains(where: { $0 == name }) ? name : "other"
    }
    static func nanoseconds(_ d: Duration) -> Int64 {
        let (seconds, attoseconds) = d.components
        guard seconds >= 0 else { return 0 }
        guard seconds < 1_000_000_000 else { return 1_000_000_000 * 1_000_000_000 }
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    static func statusClass(_ status: Int) -> String { (100..<600).contains(status) ? "\(status / 100)xx" : "other" }

    private struct RequestLabels: Hashable, Sendable {
        var gateway: String, provider: String, model: String, route: String, statusClass: String, cached: Bool
    }
    private struct RequestHandles: Sendable {
        let requests: CoreMetrics.Counter
        let ttfb: CoreMetrics.Timer
        let upstream: CoreMetrics.Timer
        let overhead: CoreMetrics.Timer
        let tokensIn: CoreMetrics.Counter
        let tokensOut: CoreMetrics.Counter
        let cost: CoreMetrics.FloatingPointCounter
        let cacheHits: CoreMetrics.Counter
        let cacheMisses: CoreMetrics.Counter
    }

    func request(
        gateway: String, provider: String?, model: String?, route: String?, status: Int, cached: Bool,
        cacheStatus: RequestObservation.CacheStatus?, total: Duration, ttfb: Duration?, upstream: Duration?, usage: Usage?, cost: Double
    ) {
        let labels = RequestLabels(
            gateway: label(gateway: gateway), provider: label(provider: provider), model: label(provider: provider, model: model),
            route: label(route: route), statusClass: Self.statusClass(status), cached: cached
        )
        let h = requestHandles.get(labels) {
            let g = labels.gateway, p = labels.provider, m = labels.model
            return RequestHandles(
                requests: CoreMetrics.Counter(label: "switchyard_gateway_requests_total", dimensions: [
                    ("gateway", g), ("provider", p), ("model", m), ("route", labels.route), ("status_class", labels.statusClass),
                    ("cached", labels.cached ? "true" : "false"),
                ], factory: factory),
                ttfb: CoreMetrics.Timer(label: "switchyard_time_to_first_byte_seconds", dimensions: [("gateway", g), ("provider", p)], factory: factory),
                upstream: CoreMetrics.Timer(label: "switchyard_upstream_duration_seconds", dimensions: [("provider", p)], factory: factory),
                overhead: CoreMetrics.Timer(label: "switchyard_gateway_overhead_seconds", dimensions: [("gateway", g)], factory: factory),
                tokensIn: CoreMetrics.Counter(label: "switchyard_model_tokens_total", dimensions: [("provider", p), ("model", m), ("direction", "in")], factory: factory),
                tokensOut: CoreMetrics.Counter(label: "switchyard_model_tokens_total", dimensions: [("provider", p), ("model", m), ("direction", "out")], factory: factory),
                cost: CoreMetrics.FloatingPointCounter(label: "switchyard_cost_usd_total", dimensions: [("provider", p), ("model", m)], factory: factory),
                cacheHits: CoreMetrics.Counter(label: "switchyard_cache_requests_total", dimensions: [("gateway", g), ("result", "hit")], factory: factory),
                cacheMisses: CoreMetrics.Counter(label: "switchyard_cache_requests_total", dimensions: [("gateway", g), ("result", "miss")], factory: factory)
            )
        }
        h.requests.increment()
        if let ttfb { h.ttfb.recordNanoseconds(Self.nanoseconds(ttfb)) }
        if let upstream {
            h.upstream.recordNanoseconds(Self.nanoseconds(upstream))
            let overhead = total > upstream ? total - upstream : .zero
            h.overhead.recordNanoseconds(Self.nanoseconds(overhead))
        }
        // swift-prometheus traps on a negative increment: counts are clamped where they are parsed
        // (`Usage`), and clamped again here because a trap here would take the whole process down.
        if let usage {
            h.tokensIn.increment(by: Usage.clamp(usage.promptTokens))
            h.tokensOut.increment(by: Usage.clamp(usage.completionTokens))
        }
        if cost > 0, cost.isFinite { h.cost.increment(by: min(cost, 1e12)) }
        switch cacheStatus {
        case .hit?: h.cacheHits.increment()
        case .miss?: h.cacheMisses.increment()
        case nil: break
        }
    }

    private static let buckets: [Duration] = [.milliseconds(5), .milliseconds(25), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30), .seconds(60)]
    private static var requests: MetricNameDescriptor { MetricNameDescriptor(namespace: "switchyard", metricName: "requests", unitName: "total", helpText: "Requests answered, by endpoint, provider and status.") }
    private static var duration: MetricNameDescriptor { MetricNameDescriptor(namespace: "switchyard", metricName: "request_duration", unitName: "seconds", helpText: "Time from request to the end of the response.") }
    private static var tokens: MetricNameDescriptor { MetricNameDescriptor(namespace: "switchyard", metricName: "tokens", unitName: "total", helpText: "Tokens reported by providers, by type.") }

    private struct RecordLabels: Hashable, Sendable {
        var endpoint: String, provider: String, status: Int
    }
    private struct RecordHandles: Sendable {
        let requests: Prometheus.Counter
        let duration: DurationHistogram
        let prompt: Prometheus.Counter
        let completion: Prometheus.Counter
    }

    /// Every request's log line: by endpoint, provider and exact status (cache hits included).
    func record(endpoint: String, provider: String?, status: Int, duration: Duration, usage: Usage?) {
        let labels = RecordLabels(endpoint: endpoint, provider: label(provider: provider), status: status)
        let h = recordHandles.get(labels) {
            let provider = labels.provider
            return RecordHandles(
                requests: registry.makeCounter(descriptor: Self.requests, labels: [("endpoint", endpoint), ("provider", provider), ("status", String(status))]),
                duration: registry.makeDurationHistogram(descriptor: Self.duration, labels: [("endpoint", endpoint), ("provider", provider)], buckets: Self.buckets),
                prompt: registry.makeCounter(descriptor: Self.tokens, labels: [("provider", provider), ("type", "prompt")]),
                completion: registry.makeCounter(descriptor: Self.tokens, labels: [("provider", provider), ("type", "completion")])
            )
        }
        h.requests.increment()
        h.duration.record(duration)
        if let usage {
            h.prompt.increment(by: Int64(Usage.clamp(usage.promptTokens)))
            h.completion.increment(by: Int64(Usage.clamp(usage.completionTokens)))
        }
    }

    func exposition() -> String { registry.emitToString() }

    /// A gateway rate limit (2003) or a route budget/rate limit (2041) turned a request away.
    func limitRejected(gateway: String, code: Int) {
        CoreMetrics.Counter(label: "switchyard_limit_rejections_total", dimensions: [("gateway", label(gateway: gateway)), ("code", String(code))], factory: factory)
            .increment()
    }

    /// A client connection closed for sending its request head or body too slowly.
    func readTimedOut(phase: String) {
        CoreMetrics.Counter(label: "switchyard_client_read_timeouts_total", dimensions: [("phase", phase == "header" ? "header" : "body")], factory: factory).increment()
    }

    /// Finished spans the tracer's export queue had no room for (`telemetry.max_queue_size`).
    func traceSpansDropped(_ count: Int) {
        CoreMetrics.Counter(label: "switchyard_trace_spans_dropped_total", factory: factory).increment(by: max(0, count))
    }

    /// Span batches the OTLP endpoint did not accept (down, refused, timed out).
    func traceExportFailed() {
        CoreMetrics.Counter(label: "switchyard_trace_export_failures_total", factory: factory).increment()
    }

    func retried(provider: String) {
        CoreMetrics.Counter(label: "switchyard_retries_total", dimensions: [("provider", label(provider: provider))], factory: factory).increment()
    }

    /// One `mirror:` copy: `ok`, `error` (the copy failed) or `dropped` (too many in flight).
    func mirror(route: String, result: String) {
        CoreMetrics.Counter(label: "switchyard_mirror_requests_total", dimensions: [("route", label(route: route)), ("result", result)], factory: factory).increment()
    }

    func fellBack(provider: String) {
        CoreMetrics.Counter(label: "switchyard_fallbacks_total", dimensions: [("provider", label(provider: provider))], factory: factory).increment()
    }

    /// One reload of the configuration file, applied or refused; the version now serving.
    func configurationReloaded(success: Bool, version: Int) {
        CoreMetrics.Counter(label: "switchyard_config_reloads_total", dimensions: [("result", success ? "success" : "error")], factory: factory).increment()
        configurationVersion(version)
    }

    func configurationVersion(_ version: Int) {
        CoreMetrics.Gauge(label: "switchyard_config_version", factory: factory).record(version)
    }

    /// For the route loader: one reload of the routes directory, successful or not.
    public func routesReloaded(success: Bool) {
        CoreMetrics.Counter(label: "switchyard_route_reloads_total", dimensions: [("result", success ? "success" : "error")], factory: factory).increment()
    }

    /// A route target's circuit breaker changed state: 0 closed, 1 open, 2 half-open. Labels come
    /// from compiled routes (never from requests); routes no longer served read `other`.
    func breakerState(route: String, target: String, state: CircuitBreaker.State) {
        let route = label(route: route)
        CoreMetrics.Gauge(label: "switchyard_breaker_state", dimensions: [("route", route), ("target", route == "other" ? "other" : target)], factory: factory)
            .record(state.gaugeValue)
    }

    /// Set just before each scrape: limit counters held, evicted once expired, and new keys
    /// refused at `limits.max_limit_keys`.
    func limitKeys(count: Int, evicted: Int, refused: Int) {
        CoreMetrics.Gauge(label: "switchyard_limit_keys", factory: factory).record(count)
        CoreMetrics.Gauge(label: "switchyard_limit_keys_evicted", factory: factory).record(evicted)
        CoreMetrics.Gauge(label: "switchyard_limit_keys_refused", factory: factory).record(refused)
    }

    /// Set just before each scrape.
    func cache(flights: Int, entries: Int, bytes: Int) {
        CoreMetrics.Gauge(label: "switchyard_cache_flights", factory: factory).record(flights)
        CoreMetrics.Gauge(label: "switchyard_cache_entries", factory: factory).record(entries)
        CoreMetrics.Gauge(label: "switchyard_cache_bytes", factory: factory).record(bytes)
    }

    /// Set just before each scrape.
    func logQueue(depth: Int, dropped: Int, written: Int) {
        CoreMetrics.Gauge(label: "switchyard_log_queue_depth", factory: factory).record(depth)
        CoreMetrics.Gauge(label: "switchyard_log_records_dropped", factory: factory).record(dropped)
        CoreMetrics.Gauge(label: "switchyard_log_records_written", factory: factory).record(written)
    }
}

/// Metric handles by label values, made once each. Bounded: every label value comes from a
/// configured set or a small fixed one (status codes are at most 500 distinct values).
final class HandleCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private let handles = Mutex<[Key: Value]>([:])

    func get(_ key: Key, make: () -> Value) -> Value {
        if let found = handles.withLock({ $0[key] }) { return found }
        let made = make()
        return handles.withLock { h in
            if let raced = h[key] { return raced }
            h[key] = made
            return made
        }
    }
}
