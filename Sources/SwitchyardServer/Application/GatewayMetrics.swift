import Prometheus
import SwitchyardCore

/// Request counts, durations and tokens for `GET /metrics` (Prometheus text format). A registry per
/// application, so tests and several gateways in one process do not share counters.
final class GatewayMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private static let buckets: [Duration] = [.milliseconds(5), .milliseconds(25), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30), .seconds(60)]
    private static var requests: MetricNameDescriptor { MetricNameDescriptor(namespace: "switchyard", metricName: "requests", unitName: "total", helpText: "Requests answered, by endpoint, provider and status.") }
    private static var duration: MetricNameDescriptor { MetricNameDescriptor(namespace: "switchyard", metricName: "request_duration", unitName: "seconds", helpText: "Time from request to the end of the response.") }
    private static var tokens: MetricNameDescriptor { MetricNameDescriptor(namespace: "switchyard", metricName: "tokens", unitName: "total", helpText: "Tokens reported by providers, by type.") }

    func record(endpoint: String, provider: String?, status: Int, duration: Duration, usage: Usage?) {
        let provider = provider ?? "none"
        registry.makeCounter(descriptor: Self.requests, labels: [("endpoint", endpoint), ("provider", provider), ("status", String(status))]).increment()
        registry.makeDurationHistogram(descriptor: Self.duration, labels: [("endpoint", endpoint), ("provider", provider)], buckets: Self.buckets).record(duration)
        if let usage {
            registry.makeCounter(descriptor: Self.tokens, labels: [("provider", provider), ("type", "prompt")]).increment(by: Int64(usage.promptTokens))
            registry.makeCounter(descriptor: Self.tokens, labels: [("provider", provider), ("type", "completion")]).increment(by: Int64(usage.completionTokens))
        }
    }

    func exposition() -> String { registry.emitToString() }
}
