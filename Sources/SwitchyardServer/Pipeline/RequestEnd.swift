import Hummingbird
import Logging
import NIOCore
import SwitchyardCore
import SwitchyardProviders
import SwitchyardStorage
import Synchronization

/// The last step of every request, whatever way it ends: `observe` wraps the response so that
/// `finish` runs once its body has been written (or failed, or was dropped unwritten), and
/// `abandoned` covers a request whose client went away before there was a response. `finish` is
/// the only place that writes the log line, counts the metrics and submits the request-log record,
/// and it runs exactly once per request (`RequestObservation.end`).
extension GatewayControls {
    /// How much of the end a request gets: every request a log line and `switchyard_requests_total`;
    /// a request to a gateway endpoint (`/{account}/{gateway}/...`) also the gateway metrics, error
    /// bodies redacted, and — when its gateway is configured and collects logs — a request-log record.
    enum Scope: Sendable {
        case plain
        case gateway(GatewayState.Gateway?)

        var gateway: GatewayState.Gateway? {
            if case .gateway(let g) = self { return g }
            return nil
        }
    }

    static let abandonedNote = "client went away before the response"

    func observe(_ response: Response, request: Request, record: RequestRecord, scope: Scope) -> Response {
        let status = Int(response.status.code)
        let info = requestInfo(request, record: record, status: status, scope: scope, stream: response.headers[.contentType]?.hasPrefix("text/event-stream") ?? false)
        guard case .gateway = scope else {
            // The gateway's own small answers (health, metrics, admin): ended as they are handed over.
            finish(info, tap: nil, ending: .written)
            return response
        }
        let tap = ResponseTap(capture: info.collectPayload || record.trace?.tracing.captureContent == true ? configuration.logMaxPayloadBytes : 0)
        var response = response
        let body = response.body
        let observed = record.observation.snapshot
        if let buffered = record.observation.bufferedBody(of: response) {
            // The whole body is in memory: observe it now and leave the response as Hummingbird
            // writes it fastest (one write of head, body and end). The record's duration ends when
            // the answer is handed over, before that one write.
            if (200..<300).contains(status), !Self.forwardsProviderBytes(record) {
                tap.observe(buffered)
                finish(info, tap: tap, ending: .written)
                return response
            }
            let redacted = redactor(for: observed).redact(buffered)
            tap.observe(redacted)
            if redacted.readableBytes != buffered.readableBytes || redacted != buffered {
                response.headers[.contentLength] = String(redacted.readableBytes)
                response.body = ResponseBody(byteBuffer: redacted)
            }
            finish(info, tap: tap, ending: .written)
            return response
        }
        // Dropped unwritten (the client reset before the head): recorded as 499, nothing sent.
        let abandoned: @Sendable () -> Void = { self.finish(info.abandoned, tap: tap, ending: .abandoned) }
        if (200..<300).contains(status) {
            // Provider bytes forwarded as they are (passthrough, universal) are redacted chunk by
            // chunk: a key wholly inside one chunk is replaced; the length may change, so it is dropped.
            let redactor = Self.forwardsProviderBytes(record) ? redactor(for: observed) : nil
            if redactor != nil { response.headers[.contentLength] = nil }
            response.body = .guarded(contentLength: redactor == nil ? body.contentLength : nil, ifNeverWritten: abandoned) { writer in
                do {
                    try await body.write(TapWriter(base: writer, tap: tap, redactor: redactor))
                } catch {
                    self.finish(info, tap: tap, ending: .cut)
                    throw error
                }
                self.finish(info, tap: tap, ending: .written)
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
                    self.finish(info, tap: tap, ending: .cut)
                    throw error
                }
                var tapped = TapWriter(base: writer, tap: tap)
                let redacted = redactor.redact(collector.buffer)
                do {
                    if redacted.readableBytes > 0 { try await tapped.write(redacted) }
                    try await tapped.finish(nil)
                } catch {
                    self.finish(info, tap: tap, ending: .cut)
                    throw error
                }
                self.finish(info, tap: tap, ending: .written)
            }
        }
        return response
    }

    /// A request that ended without a response: its client went away while it was handled (499).
    func abandoned(_ request: Request, record: RequestRecord, scope: Scope) {
        finish(requestInfo(request, record: record, status: 499, scope: scope, stream: false), tap: nil, ending: .abandoned)
    }

    /// Passthrough and universal answers are the provider's own bytes, which may echo a credential.
    static func forwardsProviderBytes(_ record: RequestRecord) -> Bool {
        record.endpoint == "passthrough" || record.endpoint == "universal"
    }

    private func requestInfo(_ request: Request, record: RequestRecord, status: Int, scope: Scope, stream: Bool) -> RequestInfo {
        let gatewayPath: Bool
        if case .gateway = scope { gatewayPath = true } else { gatewayPath = false }
        let gateway = scope.gateway
        let collect = writer != nil && gateway != nil && (request.headers[.cfAigCollectLog].flatMap(BooleanText.parse) ?? gateway?.settings.collectLogs ?? false)
        let collectPayload = collect && request.headers[.cfAigCollectLogPayload].flatMap(BooleanText.parse) != false
        return RequestInfo(
            record: record, status: status, gatewayPath: gatewayPath, collect: collect, collectPayload: collectPayload,
            userAgent: collect ? request.headers[.userAgent].map { String($0.prefix(512)) } : nil,
            path: collect ? String(request.uri.path.prefix(2048)) : "", stream: stream,
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
        let gatewayPath: Bool
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

    enum Ending {
        /// The whole answer was handed over.
        case written
        /// The answer was cut: the upstream or the client failed while the body was written.
        case cut
        /// The client went away before there was a response, or before its head was written.
        case abandoned
    }

    /// The end of a request: its log line, its metrics, its request-log record. Once per request.
    private func finish(_ info: RequestInfo, tap: ResponseTap?, ending: Ending) {
        let record = info.record
        guard record.observation.end() else { return }
        let end = ContinuousClock.now
        let observed = record.observation.snapshot
        let note: String? = switch ending {
        case .written: observed.note
        case .cut: observed.note ?? "response ended early"
        case .abandoned: Self.abandonedNote
        }
        let total = end - record.start
        let usage = observed.usage
        var cost = 0.0
        // The request span's end, with the cost computed below (zero for the gateway's own answers).
        defer { if let trace = record.trace { endSpan(trace, info: info, observed: observed, note: note, tap: tap, ending: ending, cost: cost) } }
        logger.info("\(record.method) \(RequestRecord.redact(record.uri))", metadata: logMetadata(record, status: info.status, usage: usage, note: note, observed: observed, total: total))
        metrics.record(endpoint: record.endpoint, provider: record.provider, status: info.status, duration: total, usage: usage)
        guard info.gatewayPath else { return }
        let written = tap?.snapshot ?? ResponseTap.State()
        let ttfb = written.firstByte.map { $0 - record.start }
        let upstream = observed.upstreamStart.map { end - $0 }
        if let usage, !observed.cached {
            if let custom = observed.customCost {
                cost = custom.cost(of: usage)
            } else if let provider = record.provider, let model = record.model {
                cost = prices.cost(of: usage, for: ModelTarget(provider: provider, model: model))
            }
        }
        if let picks = record.picks, ending != .abandoned {
            picks.report(success: (200..<300).contains(info.status) && ending == .written, duration: Self.milliseconds(total) / 1000,
                         timeToFirstByte: ttfb.map { Self.milliseconds($0) / 1000 }, cost: cost, now: now())
        }
        metrics.request(
            gateway: record.gateway ?? "default", provider: record.provider, model: record.model, route: record.route,
            status: info.status, cached: observed.cached, cacheStatus: observed.cacheStatus, total: total, ttfb: ttfb,
            upstream: observed.cached ? nil : upstream, usage: observed.cached ? nil : usage, cost: cost
        )
        guard info.collect, let writer else { return }
        var metadata = observed.metadata
        if observed.customCost != nil { metadata["custom_cost"] = .bool(true) }
        let log = RequestLogRecord(
            id: record.logID, createdAt: info.createdAt, gateway: record.gateway ?? "default", account: record.account ?? "",
            provider: record.provider ?? "", model: record.model ?? "", route: record.route, routePath: record.routePath,
            step: record.step, path: info.path, statusCode: info.status, success: (200..<300).contains(info.status) && ending == .written,
            cached: observed.cached, stream: info.stream, durationMs: Self.milliseconds(total), timeToFirstByteMs: ttfb.map(Self.milliseconds),
            usage: usage ?? Usage(), cost: cost, metadata: metadata, eventId: record.eventID, userAgent: info.userAgent,
            requestSize: observed.requestBody?.readableBytes ?? 0, responseSize: written.bytes, requestBody: nil, responseBody: nil,
            routeFacts: record.routeFacts.flatMap { Self.routeFacts($0.facts, reads: $0.reads, redactor: redactor(for: observed)) }
        )
        writer.submit(log, payload: info.collectPayload ? Self.payload(
            request: observed.requestBody, response: written.captured, limit: configuration.logMaxPayloadBytes, redactor: redactor, requestSecrets: observed.requestSecrets
        ) : nil)
    }

    /// What the route read, bounded (`RouteFacts`), with every known secret replaced: credential
    /// headers are never kept, and a secret in a kept value is redacted as in the log's bodies.
    static func routeFacts(_ facts: RequestFacts, reads: RouteReads, redactor: SecretRedactor) -> RouteFacts? {
        let captured = RouteFacts(capturing: facts, reads: reads)
        let text = captured.jsonText
        let redacted = redactor.redact(text)
        return redacted == text ? captured : RouteFacts(jsonText: redacted)
    }

    private func endSpan(_ trace: RequestTrace, info: RequestInfo, observed: RequestObservation.State, note: String?, tap: ResponseTap?, ending: Ending, cost: Double) {
        var request: String?, response: String?
        if trace.tracing.captureContent {
            // Redacted like the request log's payloads, and cut to `logs.max_payload_bytes`.
            let redactor = redactor(for: observed)
            let limit = trace.tracing.contentLimit
            if var body = observed.requestBody {
                if body.readableBytes > limit { body = body.getSlice(at: body.readerIndex, length: limit) ?? body }
                request = redactor.redact(String(buffer: body))
            }
            if let captured = tap?.snapshot.captured, captured.readableBytes > 0 { response = redactor.redact(String(buffer: captured)) }
        }
        trace.end(info.record, RequestTrace.End(
            status: info.status, usage: observed.cached ? nil : observed.usage, cost: cost, cached: observed.cached, cacheStatus: observed.cacheStatus,
            note: note.map { redactor.adding(observed.requestSecrets).redact($0) }, cut: ending == .cut, request: request, response: response
        ))
    }

    /// Built only when the info level is on (`Logger.info` takes it as an autoclosure).
    private func logMetadata(_ record: RequestRecord, status: Int, usage: Usage?, note: String?, observed: RequestObservation.State, total: Duration) -> Logger.Metadata {
        var metadata: Logger.Metadata = Dictionary(minimumCapacity: 12)
        metadata["status"] = .stringConvertible(status)
        metadata["duration_ms"] = .stringConvertible(total.components.seconds * 1000 + total.components.attoseconds / 1_000_000_000_000_000)
        metadata["log_id"] = .string(record.logID)
        if let provider = record.provider { metadata["provider"] = .string(provider) }
        if let model = record.model { metadata["model"] = .string(model) }
        if let gateway = record.gateway { metadata["gateway"] = .string(gateway) }
        if let account = record.account { metadata["account"] = .string(account) }
        if let route = record.route { metadata["route"] = .string(route) }
        if let path = record.routePath { metadata["route_path"] = .string(path) }
        if let usage {
            metadata["prompt_tokens"] = .stringConvertible(usage.promptTokens)
            metadata["completion_tokens"] = .stringConvertible(usage.completionTokens)
        }
        if let note { metadata["note"] = .string(redactor.adding(observed.requestSecrets).redact(note)) }
        return metadata
    }

    /// The bodies of a request-log record, rendered by the log writer off the request's path: cut to
    /// `logs.max_payload_bytes`, with every configured secret, the request's credentials and the
    /// key-like fields of its body replaced.
    static func payload(request: ByteBuffer?, response: ByteBuffer, limit: Int, redactor: SecretRedactor, requestSecrets: [String]) -> RequestLogWriter.Payload {
        RequestLogWriter.Payload(weight: min(request?.readableBytes ?? 0, limit) + response.readableBytes) {
            var redactor = redactor.adding(requestSecrets)
            if let request, request.readableBytes <= limit { redactor = redactor.adding(SecretRedactor.bodySecrets(request)) }
            let requestText = request.map { body -> String in
                var b = body
                if b.readableBytes > limit { b = b.getSlice(at: b.readerIndex, length: limit) ?? b }
                return redactor.redact(String(buffer: b))
            }
            return (requestText, redactor.redact(String(buffer: response)))
        }
    }

    static func milliseconds(_ d: Duration) -> Double {
        Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
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
