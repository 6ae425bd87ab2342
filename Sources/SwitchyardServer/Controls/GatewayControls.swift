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
    /// The `admin`, `logs` and `cache` sections the process started with (sizes and intervals
    /// need a restart; tokens are read from `settings`).
    let configuration: ControlsConfiguration
    let settings: SettingsStore
    let cache: ResponseCache
    /// Nil when the application has no request-log store.
    let writer: RequestLogWriter?
    let metrics: GatewayMetrics
    /// Every configured secret: stored provider keys, gateway tokens, the admin token.
    var redactor: SecretRedactor { settings.current.redactor }
    var prices: PriceTable { settings.current.prices }
    var adminTokens: TokenSet { settings.current.adminTokens }
    /// `metrics.token`; empty = `/metrics` is open.
    var metricsTokens: TokenSet { settings.current.metricsTokens }
    let now: @Sendable () -> Double
    /// `GET /compat/models`: the providers' lists, fetched at most once a minute.
    let modelLists = ModelListCache()
    /// How long a coalesced cache miss waits for its leader before calling the provider itself.
    let followerTimeout: Duration
    /// Limit state whose key counts are published at each scrape.
    let limitStore: InMemoryLimitStore?

    init(
        settings: SettingsStore, store: (any RequestLogStore)?,
        registry: PrometheusCollectorRegistry, routeNames: @escaping @Sendable () -> [String], logger: Logger,
        now: @escaping @Sendable () -> Double, limitStore: InMemoryLimitStore? = nil
    ) {
        let configuration = settings.latest.configuration
        self.limitStore = limitStore
        let controls = configuration.controls
        self.configuration = controls
        self.settings = settings
        cache = ResponseCache(maxBytes: controls.cacheMaxBytes)
        writer = store.map {
            RequestLogWriter(
                store: $0, capacity: controls.logQueueCapacity, maxBytes: controls.logQueueMaxBytes, flushInterval: .milliseconds(Int64(controls.logFlushInterval * 1000)),
                retention: .init(maxRows: controls.logMaxRows, maxAge: controls.logMaxAge), logger: logger, now: now
            )
        }
        self.now = now
        followerTimeout = configuration.limits.requestTimeout
        metrics = GatewayMetrics(registry: registry, labels: { settings.current.metricLabels }, routeNames: routeNames)
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
        if let header = request.headers[.cfAigMetadata], header.utf8.count > RequestMetadata.maxHeaderBytes {
            throw .invalidRequest("cf-aig-metadata is \(header.utf8.count) bytes; the limit is \(RequestMetadata.maxHeaderBytes)")
        }
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
        let info = requestInfo(request, record: record, status: status, gateway: gateway, stream: response.headers[.contentType]?.hasPrefix("text/event-stream") ?? false)
        let tap = ResponseTap(capture: info.collectPayload ? configuration.logMaxPayloadBytes : 0)
        var response = response
        let body = response.body
        let observed = record.observation.snapshot
        if let buffered = record.observation.bufferedBody(of: response) {
            // The whole body is in memory: observe it now and leave the response as Hummingbird
            // writes it fastest (one write of head, body and end). The record's duration ends when
            // the answer is handed over, before that one write.
            if (200..<300).contains(status), !Self.forwardsProviderBytes(record) {
                tap.observe(buffered)
                finish(info, tap: tap, note: nil)
                return response
            }
            let redacted = redactor(for: observed).redact(buffered)
            tap.observe(redacted)
            if redacted.readableBytes != buffered.readableBytes || redacted != buffered {
                response.headers[.contentLength] = String(redacted.readableBytes)
                response.body = ResponseBody(byteBuffer: redacted)
            }
            finish(info, tap: tap, note: nil)
            return response
        }
        // Dropped unwritten (the client reset before the head): recorded as 499, nothing sent.
        let abandoned: @Sendable () -> Void = { self.finish(info.abandoned, tap: tap, note: Self.abandonedNote) }
        if (200..<300).contains(status) {
            // Provider bytes forwarded as they are (passthrough, universal) are redacted chunk by
            // chunk: a key wholly inside one chunk is replaced; the length may change, so it is dropped.
            let redactor = Self.forwardsProviderBytes(record) ? redactor(for: observed) : nil
            if redactor != nil { response.headers[.contentLength] = nil }
            response.body = .guarded(contentLength: redactor == nil ? body.contentLength : nil, ifNeverWritten: abandoned) { writer in
                do {
                    try await body.write(TapWriter(base: writer, tap: tap, redactor: redactor))
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
            response.body = .guarded(ifNeverWritten: abandoned) { writer in
                let collector = CollectingWriter(limit: limit)
                do {
                    try await body.write(collector)
                } catch {
                    self.finish(info, tap: tap, note: "response ended early")
                    throw error
                }
                var tapped = TapWriter(base: writer, tap: tap)
                let redacted = redactor.redact(collector.buffer)
                do {
                    if redacted.readableBytes > 0 { try await tapped.write(redacted) }
                    try await tapped.finish(nil)
                } catch {
                    self.finish(info, tap: tap, note: "response ended early")
                    throw error
                }
                self.finish(info, tap: tap, note: nil)
            }
        }
        return response
    }

    static let abandonedNote = "client went away before the response"

    /// Passthrough and universal answers are the provider's own bytes, which may echo a credential.
    static func forwardsProviderBytes(_ record: RequestRecord) -> Bool {
        record.endpoint == "passthrough" || record.endpoint == "universal"
    }

    /// A request of a gateway endpoint that ended without a response (the client went away while
    /// it was handled): its metrics and request-log record, as status 499.
    func abandoned(_ request: Request, record: RequestRecord, gateway: GatewayState.Gateway?) {
        let info = requestInfo(request, record: record, status: 499, gateway: gateway, stream: false)
        finish(info, tap: ResponseTap(capture: 0), note: Self.abandonedNote)
    }

    private func requestInfo(_ request: Request, record: RequestRecord, status: Int, gateway: GatewayState.Gateway?, stream: Bool) -> RequestInfo {
        let collectHeader = request.headers[.cfAigCollectLog].flatMap(BooleanText.parse)
        let collect = writer != nil && gateway != nil && (collectHeader ?? gateway?.settings.collectLogs ?? false)
        let collectPayload = collect && request.headers[.cfAigCollectLogPayload].flatMap(BooleanText.parse) != false
        return RequestInfo(
            record: record, status: status, collect: collect, collectPayload: collectPayload,
            userAgent: request.headers[.userAgent].map { String($0.prefix(512)) }, path: String(request.uri.path.prefix(2048)), stream: stream,
            createdAt: now() - Self.milliseconds(ContinuousClock.now - record.start) / 1000
        )
    }

    /// Every configured secret and those the request carried (headers, query, body fields).
    private func redactor(for observed: RequestObservation.State) -> SecretRedactor {
        redactor.adding(observed.requestSecrets + (observed.requestBody.map(SecretRedactor.bodySecrets) ?? []))
    }

    struct RequestInfo: Sendable {
        let record: RequestRecord
        var status: Int
        let collect: Bool
        let collectPayload: Bool
        let userAgent: String?
        let path: String
        let stream: Bool
        let createdAt: Double

        /// The same request, recorded as one whose client went away (499) before it was answered.
        var abandoned: RequestInfo {
            var copy = self
            copy.status = 499
            return copy
        }
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
    var redactor: SecretRedactor? = nil

    mutating func write(_ buffer: ByteBuffer) async throws {
        let out = redactor.map { $0.redact(buffer) } ?? buffer
        tap.observe(out)
        try await base.write(out)
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
        metrics.cache(flights: cache.flightCount, entries: cache.count, bytes: cache.byteCount)
        if let limitStore { metrics.limitKeys(count: limitStore.keyCount, evicted: limitStore.evictedCount, refused: limitStore.refusedNewKeys) }
        return metrics.exposition()
    }

    /// `GET /metrics` with `metrics.token` set needs `Authorization: Bearer <token>` (401/2009).
    func authorizeMetrics(_ request: Request) throws(GatewayError) {
        guard !metricsTokens.isEmpty else { return }
        guard let presented = request.headers[.authorization].flatMap(ClientAuthentication.bearerValue), metricsTokens.contains(presented) else {
            throw .unauthorized("Unauthorized: /metrics needs 'Authorization: Bearer <metrics token>' (metrics.token in switchyard.yaml)")
        }
    }

    var dispatchObserver: DispatchObserver {
        let metrics = self.metrics
        return DispatchObserver(retried: { metrics.retried(provider: $0) }, fellBack: { metrics.fellBack(provider: $0) })
    }
}
