import Hummingbird
import Logging
import NIOCore
import OTel
import ServiceLifecycle
import SwitchyardCore
import SwitchyardProviders
import Tracing

/// OpenTelemetry traces for one application (docs/observability.md): a server span per request to
/// a gateway endpoint, with a child span per upstream try (`AttemptExecutor.traced`), the route
/// evaluation and the cache lookup. Built only when `telemetry.otlp.endpoint` is set; otherwise
/// `GatewayState.tracing` is nil and the request path makes no span and no allocation for it.
///
/// The tracer is swift-otel's, made per application (`OTel.makeTracingBackend`, never the global
/// `InstrumentationSystem`), so tests run their own; its batch processor holds at most
/// `telemetry.max_queue_size` finished spans and drops the rest, and its exporter runs as a
/// service of the application: ending a span never waits for the network.
final class RequestTracing: Sendable {
    let tracer: any Tracer
    /// `telemetry.capture_content`: bodies (redacted, at most `contentLimit` bytes) on the request span.
    let captureContent: Bool
    let contentLimit: Int

    init(tracer: any Tracer, captureContent: Bool, contentLimit: Int) {
        self.tracer = tracer
        self.captureContent = captureContent
        self.contentLimit = contentLimit
    }

    /// The tracer and the service that exports its spans; nil when telemetry is off or the
    /// exporter cannot be built (logged: the gateway then serves without traces).
    static func make(_ telemetry: GatewayConfiguration.Telemetry, contentLimit: Int, metrics: GatewayMetrics, logger: Logger) -> (RequestTracing, any Service)? {
        guard let endpoint = telemetry.endpoint else { return nil }
        var c = OTel.Configuration.default
        c.serviceName = telemetry.serviceName
        c.logs.enabled = false
        c.metrics.enabled = false
        c.traces.enabled = true
        c.propagators = [.traceContext]
        // A request whose caller sampled (or dropped) its trace follows that decision; new traces are sampled at the ratio.
        c.traces.sampler = .parentBasedTraceIDRatio(ratio: telemetry.samplingRatio) ?? .parentBasedAlwaysOn
        c.traces.batchSpanProcessor.maxQueueSize = telemetry.maxQueueSize
        c.traces.batchSpanProcessor.maxExportBatchSize = min(telemetry.maxExportBatchSize, telemetry.maxQueueSize)
        c.traces.batchSpanProcessor.scheduleDelay = telemetry.scheduleDelay
        c.traces.batchSpanProcessor.exportTimeout = telemetry.exportTimeout
        c.traces.exporter = .otlp
        c.traces.otlpExporter.endpoint = endpoint
        c.traces.otlpExporter.headers = telemetry.headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        c.traces.otlpExporter.protocol = telemetry.encoding == .json ? .httpJSON : .httpProtobuf
        c.traces.otlpExporter.timeout = telemetry.exportTimeout
        // swift-otel reports dropped spans and failed exports only as log lines: counted here.
        c.diagnosticLogger = .custom(Logger(label: "switchyard.otel") { _ in TelemetryDiagnostics(base: logger, metrics: metrics) })
        c.diagnosticLogLevel = .warning
        do {
            let backend = try OTel.makeTracingBackend(configuration: c)
            return (RequestTracing(tracer: backend.factory, captureContent: telemetry.captureContent, contentLimit: contentLimit), backend.service)
        } catch {
            logger.error("telemetry disabled: the OTLP exporter could not be set up", metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// Only the model endpoints are traced: health checks, scrapes, the dashboard and the admin API are not.
    static func traces(_ path: GatewayPath) -> Bool {
        switch path {
        case .compat, .universal, .passthrough: true
        default: false
        }
    }

    /// The request's server span, child of the caller's trace: W3C `traceparent`, else Cloudflare's
    /// `cf-aig-otel-trace-id` + `cf-aig-otel-parent-span-id`.
    func start(_ request: Request, path: GatewayPath) -> RequestTrace {
        var context = ServiceContext.topLevel
        tracer.extract(request.headers, into: &context, using: IncomingTraceExtractor())
        let span = tracer.startSpan("switchyard.request", context: context, ofKind: .server)
        span.attributes["http.request.method"] = request.method.rawValue
        span.attributes["url.path"] = String(request.uri.path.prefix(2048))
        span.attributes["switchyard.endpoint"] = path.endpointLabel
        if let gateway = path.gateway { span.attributes["switchyard.gateway"] = String(gateway.prefix(256)) }
        return RequestTrace(span: span, tracing: self)
    }

    /// `gen_ai.operation.name` from what the client called.
    static func operation(endpoint: String, path: String) -> String? {
        switch endpoint {
        case "compat/chat/completions": return "chat"
        case "compat/embeddings": return "embeddings"
        default:
            if path.hasSuffix("/embeddings") || path.contains(":embedContent") || path.contains(":batchEmbedContents") { return "embeddings" }
            if path.hasSuffix("/chat/completions") || path.hasSuffix("/messages") || path.contains(":generateContent") || path.contains(":streamGenerateContent") { return "chat" }
            if path.hasSuffix("/completions") { return "text_completion" }
            return nil
        }
    }
}

/// The span of one request, on its `RequestRecord`: ended by `GatewayControls.finish`, once.
final class RequestTrace: Sendable {
    let span: any Span
    let tracing: RequestTracing

    init(span: any Span, tracing: RequestTracing) {
        self.span = span
        self.tracing = tracing
    }

    /// A child span around `body` (route evaluation, cache lookup), current while it runs.
    func child<T>(_ name: String, _ body: (any Span) async throws -> T) async rethrows -> T {
        let child = tracing.tracer.startSpan(name, context: span.context, ofKind: .internal)
        defer { child.end() }
        return try await ServiceContext.$current.withValue(child.context) { try await body(child) }
    }

    /// A child span for synchronous work.
    func childSync<T>(_ name: String, _ body: (any Span) throws -> T) rethrows -> T {
        let child = tracing.tracer.startSpan(name, context: span.context, ofKind: .internal)
        defer { child.end() }
        return try body(child)
    }

    struct End {
        var status: Int
        var usage: Usage?
        var cost: Double
        var cached: Bool
        var cacheStatus: RequestObservation.CacheStatus?
        var note: String?
        var cut: Bool
        var request: String?
        var response: String?
    }

    /// The request's final attributes (GenAI semantic conventions and Switchyard's own), then its end.
    func end(_ record: RequestRecord, _ e: End) {
        let a = span
        a.attributes["http.response.status_code"] = e.status
        a.attributes["switchyard.log_id"] = record.logID
        if let op = RequestTracing.operation(endpoint: record.endpoint, path: record.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? record.uri) {
            a.attributes["gen_ai.operation.name"] = op
        }
        if let provider = record.provider { a.attributes["gen_ai.provider.name"] = provider }
        if let model = record.model {
            a.attributes["gen_ai.request.model"] = record.route.map { "dynamic/" + ($0.split(separator: "@").first.map(String.init) ?? $0) } ?? model
            a.attributes["gen_ai.response.model"] = model
        }
        if let usage = e.usage {
            a.attributes["gen_ai.usage.input_tokens"] = usage.promptTokens
            a.attributes["gen_ai.usage.output_tokens"] = usage.completionTokens
        }
        if let route = record.route {
            let parts = route.split(separator: "@", maxSplits: 1)
            a.attributes["switchyard.route"] = String(parts[0])
            if parts.count == 2 { a.attributes["switchyard.route.version"] = String(parts[1]) }
        }
        if let path = record.routePath { a.attributes["switchyard.path"] = path }
        if record.provider != nil { a.attributes["switchyard.step"] = record.step }
        a.attributes["switchyard.cost_usd"] = e.cost
        switch e.cacheStatus {
        case .hit?: a.attributes["switchyard.cache"] = "HIT"
        case .miss?: a.attributes["switchyard.cache"] = "MISS"
        case nil: if e.cached { a.attributes["switchyard.cache"] = "HIT" }
        }
        if let request = e.request { a.attributes["switchyard.request.body"] = request }
        if let response = e.response { a.attributes["switchyard.response.body"] = response }
        if e.status >= 500 || e.status == 499 || e.cut {
            a.attributes["error.type"] = e.cut ? "response_cut" : String(e.status)
            a.setStatus(SpanStatus(code: .error, message: e.note))
        }
        a.end()
    }
}

/// `traceparent`/`tracestate` from the client; without a `traceparent`, Cloudflare's pair of
/// headers makes one (sampled), when both are well-formed hex of the right length.
struct IncomingTraceExtractor: Extractor {
    func extract(key: String, from carrier: HTTPFields) -> String? {
        guard let name = HTTPField.Name(key) else { return nil }
        if let value = carrier[name] { return value }
        guard key == "traceparent",
              let trace = carrier[.cfAigOtelTraceID]?.lowercased(), trace.utf8.count == 32, Self.isHex(trace), trace != String(repeating: "0", count: 32),
              let parent = carrier[.cfAigOtelParentSpanID]?.lowercased(), parent.utf8.count == 16, Self.isHex(parent), parent != String(repeating: "0", count: 16)
        else { return nil }
        return "00-\(trace)-\(parent)-01"
    }

    static func isHex(_ s: String) -> Bool {
        s.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }
}

extension HTTPField.Name {
    static let cfAigOtelTraceID = Self("cf-aig-otel-trace-id")!
    static let cfAigOtelParentSpanID = Self("cf-aig-otel-parent-span-id")!
}

/// swift-otel's diagnostic log: warnings go to the gateway's log, and the two that mean lost spans
/// become metrics (`switchyard_trace_spans_dropped_total`, `switchyard_trace_export_failures_total`).
struct TelemetryDiagnostics: LogHandler {
    let base: Logger
    let metrics: GatewayMetrics
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .warning

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
        let text = message.description
        if text.hasPrefix("Spans were dropped") {
            let count = metadata?["dropped_count"].flatMap { Int("\($0)") } ?? self.metadata["dropped_count"].flatMap { Int("\($0)") } ?? 1
            metrics.traceSpansDropped(count)
        } else if text.hasPrefix("Failed to export batch") {
            metrics.traceExportFailed()
        }
        // The exporter's own metadata (batch ids, errors) without its headers: swift-otel never logs them.
        base.log(level: level, "telemetry: \(text)", metadata: self.metadata.merging(metadata ?? [:]) { $1 }, source: "switchyard.otel", file: file, function: function, line: line)
    }
}
