import Foundation
import Hummingbird
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle
import SwitchyardCore
import SwitchyardProviders
import SwitchyardStorage
import Synchronization

/// The gateway's controls and observability around the handlers: response cache, durable request
/// log, metrics, admin API and secret redaction. Built once per application.
final class GatewayControls: Sendable {
    let configuration: ControlsConfiguration
    let cache: ResponseCache
    /// Nil when the application has no request-log store.
    let writer: RequestLogWriter?
    let metrics: GatewayMetrics
    /// Every configured secret: stored provider keys, gateway tokens, the admin token.
    let redactor: SecretRedactor
    let prices: PriceTable
    let adminTokens: TokenSet
    let now: @Sendable () -> Double
    /// How long a coalesced cache miss waits for its leader before calling the provider itself.
    let followerTimeout: Duration
    /// Limit state whose key counts are published at each scrape.
    let limitStore: InMemoryLimitStore?

    init(
        configuration: GatewayConfiguration, providers: ProviderTable, store: (any RequestLogStore)?,
        registry: PrometheusCollectorRegistry, routeNames: @escaping @Sendable () -> [String], logger: Logger,
        now: @escaping @Sendable () -> Double, limitStore: InMemoryLimitStore? = nil
    ) {
        self.limitStore = limitStore
        let controls = configuration.controls
        self.configuration = controls
        cache = ResponseCache(maxBytes: controls.cacheMaxBytes)
        writer = store.map {
            RequestLogWriter(
                store: $0, capacity: controls.logQueueCapacity, flushInterval: .milliseconds(Int64(controls.logFlushInterval * 1000)),
                retention: .init(maxRows: controls.logMaxRows, maxAge: controls.logMaxAge), logger: logger, now: now
            )
        }
        var secrets: [String] = []
        for provider in providers.providers { secrets += provider.keys.values }
        for gateway in configuration.gateways.values { secrets += gateway.tokens }
        if let admin = controls.adminToken { secrets.append(admin) }
        redactor = SecretRedactor(secrets)
        prices = PriceTable(overrides: configuration.pricing)
        adminTokens = TokenSet(controls.adminToken.map { [$0] } ?? [])
        self.now = now
        followerTimeout = configuration.limits.requestTimeout
        metrics = GatewayMetrics(
            registry: registry, gateways: Set(configuration.gateways.keys).union(["default"]), providers: Set(providers.slugs),
            models: Set(PriceTable.builtin.keys).union(configuration.pricing.keys), routeNames: routeNames
        )
    }

    /// Services to run with the server: the request-log writer (graceful shutdown flushes it).
    var services: [any Service] {
        writer.map { [RequestLogService(writer: $0)] } ?? []
    }

    // MARK: Request start

    /// Reads the observability headers of a request to a gateway endpoint: `cf-aig-metadata`,
    /// `cf-aig-custom-cost` (400/2043 when malformed) and the credentials to redact.
    func begin(_ request: Request, record: RequestRecord) throws(GatewayError) {
        var customCost: CustomCost?
        if let header = request.headers[.cfAigCustomCost] { customCost = try CustomCost(header: header) }
        let metadata = RequestMetadata.parse(request.headers[.cfAigMetadata])
        let secrets = SecretRedactor.requestSecrets(request)
        record.observation.update {
            $0.customCost = customCost
            $0.metadata = metadata ?? [:]
            $0.metadataIsMalformed = metadata == nil
            $0.requestSecrets = secrets
        }
    }

    // MARK: Request end

    /// Wraps the response of a gateway endpoint so that, once its body has been written (or has
    /// failed), the request is counted in the metrics and written to the request log. Error
    /// bodies (upstream's included) are redacted of every known key before they leave.
    func observe(_ response: Response, request: Request, record: RequestRecord, gateway: GatewayState.Gateway?) -> Response {
        let status = Int(response.status.code)
        let collectHeader = request.headers[.cfAigCollectLog].flatMap(BooleanText.parse)
        let collect = writer != nil && gateway != nil && (collectHeader ?? gateway?.settings.collectLogs ?? false)
        let collectPayload = collect && request.headers[.cfAigCollectLogPayload].flatMap(BooleanText.parse) != false
        let info = RequestInfo(
            record: record, status: status, collect: collect, collectPayload: collectPayload,
            userAgent: request.headers[.userAgent], path: request.uri.path,
            stream: response.headers[.contentType]?.hasPrefix("text/event-stream") ?? false,
            createdAt: now() - Self.milliseconds(ContinuousClock.now - record.start) / 1000
        )
        let tap = ResponseTap(capture: collectPayload ? configuration.logMaxPayloadBytes : 0)
        var response = response
        let body = response.body
        let observed = record.observation.snapshot
        if let buffered = record.observation.bufferedBody(of: response) {
            // The whole body is in memory: observe it now and leave the response as Hummingbird
            // writes it fastest (one write of head, body and end). The record's duration ends when
            // the answer is handed over, before that one write.
            if (200..<300).contains(status) {
                tap.observe(buffered)
                finish(info, tap: tap, note: nil)
                return response
            }
            let redacted = redactor(for: observed).redact(buffered)
            tap.observe(redacted)
            response.headers[.contentLength] = nil
            response.body = ResponseBody(byteBuffer: redacted)
            finish(info, tap: tap, note: nil)
            return response
        }
        if (200..<300).contains(status) {
            response.body = ResponseBody(contentLength: body.contentLength) { writer in
                do {
                    try await body.write(TapWriter(base: writer, tap: tap))
                } catch {
                    self.finish(info, tap: tap, note: "response ended early")
                    throw error
                }
                self.finish(info, tap: tap, note: nil)
            }
        } else {
            // Error bodies are small: read whole, so that a key split across chunks is still found.
            let redactor = redactor(for: observed)
            response.headers[.contentLength] = nil
            let limit = configuration.logMaxPayloadBytes + (1 << 20)
            response.body = ResponseBody { writer in
                let collector = CollectingWriter(limit: limit)
                do {
                    try await body.write(collector)
                } catch {
                    self.finish(info, tap: tap, note: "response ended early")
                    throw error
                }
                var tapped = TapWriter(base: writer, tap: tap)
                let redacted = redactor.redact(collector.buffer)
                if redacted.readableBytes > 0 { try await tapped.write(redacted) }
                try await tapped.finish(nil)
                self.finish(info, tap: tap, note: nil)
            }
        }
        return response
    }

    /// Every configured secret and those the request carried (headers, query, body fields).
    private func redactor(for observed: RequestObservation.State) -> SecretRedactor {
        redactor.adding(observed.requestSecrets + (observed.requestBody.map(SecretRedactor.bodySecrets) ?? []))
    }

    struct RequestInfo: Sendable {
        let record: RequestRecord
        let status: Int
        let collect: Bool
        let collectPayload: Bool
        let userAgent: String?
        let path: String
        let stream: Bool
        let createdAt: Double
    }

    private func finish(_ info: RequestInfo, tap: ResponseTap, note: String?) {
        let end = ContinuousClock.now
        let record = info.record
        let observed = record.observation.snapshot
        let written = tap.snapshot
        let total = end - record.start
        let ttfb = written.firstByte.map { $0 - record.start }
        let upstream = observed.upstreamStart.map { end - $0 }
        let usage = observed.usage
        var cost = 0.0
        if let usage, !observed.cached {
            if let custom = observed.customCost {
                cost = custom.cost(of: usage)
            } else if let provider = record.provider, let model = record.model {
                cost = prices.cost(of: usage, for: ModelTarget(provider: provider, model: model))
            }
        }
        metrics.request(
            gateway: record.gateway ?? "default", provider: record.provider, model: record.model, route: record.route,
            status: info.status, cached: observed.cached, cacheStatus: observed.cacheStatus, total: total, ttfb: ttfb,
            upstream: observed.cached ? nil : upstream, usage: observed.cached ? nil : usage, cost: cost
        )
        guard info.collect, let writer else { return }
        var redactor = self.redactor.adding(observed.requestSecrets)
        if info.collectPayload, let body = observed.requestBody, body.readableBytes <= configuration.logMaxPayloadBytes {
            redactor = redactor.adding(SecretRedactor.bodySecrets(body))
        }
        var requestBody: String?
        var responseBody: String?
        if info.collectPayload {
            requestBody = observed.requestBody.map { redactor.redact(Self.text($0, limit: configuration.logMaxPayloadBytes)) }
            responseBody = redactor.redact(String(buffer: written.captured))
        }
        var metadata = observed.metadata
        if observed.customCost != nil { metadata["custom_cost"] = .bool(true) }
        let log = RequestLogRecord(
            id: record.logID, createdAt: info.createdAt, gateway: record.gateway ?? "default", account: record.account ?? "",
            provider: record.provider ?? "", model: record.model ?? "", route: record.route, routePath: record.routePath,
            step: record.step, path: info.path, statusCode: info.status, success: (200..<300).contains(info.status) && note == nil,
            cached: observed.cached, stream: info.stream, durationMs: Self.milliseconds(total), timeToFirstByteMs: ttfb.map(Self.milliseconds),
            usage: usage ?? Usage(), cost: cost, metadata: metadata, eventId: record.eventID, userAgent: info.userAgent,
            requestSize: observed.requestBody?.readableBytes ?? 0, responseSize: written.bytes, requestBody: requestBody,
            responseBody: responseBody
        )
        writer.submit(log)
    }

    static func milliseconds(_ d: Duration) -> Double {
        Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
    }

    static func text(_ buffer: ByteBuffer, limit: Int) -> String {
        var b = buffer
        if b.readableBytes > limit { b = b.getSlice(at: b.readerIndex, length: limit) ?? b }
        return String(buffer: b)
    }

}

/// Counts and (up to `capture` bytes) keeps what the client received, and when the first byte went.
final class ResponseTap: Sendable {
    struct State: Sendable {
        var bytes = 0
        var firstByte: ContinuousClock.Instant?
        var captured = ByteBuffer()
    }
    private let state: Mutex<State>
    let capture: Int

    init(capture: Int) {
        self.capture = capture
        state = Mutex(State())
    }

    func observe(_ buffer: ByteBuffer) {
        state.withLock { s in
            if s.firstByte == nil { s.firstByte = .now }
            s.bytes += buffer.readableBytes
            let room = capture - s.captured.readableBytes
            if room > 0 {
                var b = buffer
                if b.readableBytes > room { b = b.getSlice(at: b.readerIndex, length: room) ?? b }
                s.captured.writeImmutableBuffer(b)
            }
        }
    }

    var snapshot: State { state.withLock { $0 } }
}

struct TapWriter: ResponseBodyWriter {
    var base: any ResponseBodyWriter
    let tap: ResponseTap

    mutating func write(_ buffer: ByteBuffer) async throws {
        tap.observe(buffer)
        try await base.write(buffer)
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {
        try await base.finish(trailingHeaders)
    }
}

/// Keeps a whole (small) body instead of writing it.
final class CollectingWriter: ResponseBodyWriter, Sendable {
    private let state = Mutex(ByteBuffer())
    let limit: Int

    init(limit: Int) { self.limit = limit }

    func write(_ buffer: ByteBuffer) async throws {
        var b = buffer
        state.withLock { s in
            if s.readableBytes + b.readableBytes > limit { b = b.getSlice(at: b.readerIndex, length: max(0, limit - s.readableBytes)) ?? ByteBuffer() }
            s.writeBuffer(&b)
        }
    }

    func finish(_ trailingHeaders: HTTPFields?) async throws {}

    var buffer: ByteBuffer { state.withLock { $0 } }
}

extension HTTPField.Name {
    static let cfAigCustomCost = Self("cf-aig-custom-cost")!
    static let cfAigCollectLog = Self("cf-aig-collect-log")!
    static let cfAigCollectLogPayload = Self("cf-aig-collect-log-payload")!
    static let cfAigCacheTTL = Self("cf-aig-cache-ttl")!
    static let cfAigSkipCache = Self("cf-aig-skip-cache")!
    static let cfAigCacheKey = Self("cf-aig-cache-key")!
    static let cfCacheTTL = Self("cf-cache-ttl")!
    static let cfSkipCache = Self("cf-skip-cache")!
}

extension GatewayControls {
    /// `GET /metrics`: the registry's text, with the log queue's gauges read just before.
    func scrapeMetrics() -> String {
        if let writer { metrics.logQueue(depth: writer.queueDepth, dropped: writer.dropped, written: writer.written) }
        if let limitStore { metrics.limitKeys(count: limitStore.keyCount, evicted: limitStore.evictedCount, refused: limitStore.refusedNewKeys) }
        return metrics.exposition()
    }

    var dispatchObserver: DispatchObserver {
        let metrics = self.metrics
        return DispatchObserver(retried: { metrics.retried(provider: $0) }, fellBack: { metrics.fellBack(provider: $0) })
    }
}
