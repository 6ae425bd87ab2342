import Hummingbird
import NIOCore
import Synchronization
import SwitchyardCore
import SwitchyardProviders

/// What the request log record and the metrics of one request need beyond `RequestRecord`: shared
/// by reference, so the handlers (which copy the record into stream closures) and the responder's
/// body wrapper see the same values. Written a few times per request; no lock held across an await.
final class RequestObservation: Sendable {
    struct State: Sendable {
        var usage: Usage?
        var note: String?
        var cached = false
        var cacheStatus: CacheStatus?
        var requestBody: ByteBuffer?
        var upstreamStart: ContinuousClock.Instant?
        var metadata: [String: JSONValue] = [:]
        /// `cf-aig-metadata` was present but not a JSON object.
        var metadataIsMalformed = false
        var customCost: CustomCost?
        var requestSecrets: [String] = []
        /// The whole body of a response built from bytes in memory (`ResponseBody(byteBuffer:)`):
        /// observed and cached at once, so the response keeps Hummingbird's single write of head,
        /// body and end instead of a wrapped writer's three.
        var bufferedBody: ByteBuffer?
    }

    enum CacheStatus: Sendable { case hit, miss }

    private let state = Mutex(State())
    private let ended = Atomic(false)

    init() {}

    var snapshot: State { state.withLock { $0 } }

    func update(_ body: (inout State) -> Void) { state.withLock { body(&$0) } }

    /// The handler's account of its answer: the usage it read and a note for the log line (an
    /// early end, a cache hit). The status is the response's, decided where the request ends.
    func answered(usage: Usage? = nil, note: String? = nil) {
        state.withLock {
            if let usage { $0.usage = usage }
            if let note { $0.note = note }
        }
    }

    /// True the first time only: `GatewayControls.finish` ends each request exactly once, whichever
    /// of its paths (answer written, stream cut, response dropped, task cancelled) gets there first.
    func end() -> Bool {
        ended.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
    }

    /// A response whose whole body is in memory. Recorded here, `GatewayControls` observes,
    /// redacts and caches it at once and leaves the response as Hummingbird writes it fastest (head,
    /// body and end in one write) instead of wrapping its body in a closure. Every handler's
    /// in-memory answer is built here, so the recorded body is the response's.
    func bufferedResponse(status: HTTPResponse.Status, headers: HTTPFields, body: ByteBuffer) -> Response {
        state.withLock { $0.bufferedBody = body }
        return Response(status: status, headers: headers, body: .init(byteBuffer: body))
    }

    /// The body recorded by `bufferedResponse`, if `response` is still the one that carries it.
    func bufferedBody(of response: Response) -> ByteBuffer? {
        state.withLock { $0.bufferedBody }.flatMap { response.body.contentLength == $0.readableBytes ? $0 : nil }
    }

    /// The request's metadata, parsed once by `GatewayControls.begin`.
    var metadata: [String: JSONValue] { state.withLock { $0.metadata } }

    /// The metadata a dynamic route decides on: 400/2043 when the header was not a JSON object.
    func routeMetadata(header: String?) throws(GatewayError) -> [String: JSONValue] {
        let (metadata, malformed) = state.withLock { ($0.metadata, $0.metadataIsMalformed) }
        if malformed, let header {
            throw .invalidRequest("cf-aig-metadata must be a flat JSON object, got '\(header.prefix(200))'")
        }
        return metadata
    }

    /// The handler is about to call the provider: the rest of the request's time is upstream time.
    func upstreamStarted() {
        state.withLock { if $0.upstreamStart == nil { $0.upstreamStart = .now } }
    }
}

/// `cf-aig-custom-cost`: USD per token, replacing the price table for one request (Cloudflare §4.6).
struct CustomCost: Sendable, Hashable {
    var perTokenIn: Double?
    var perTokenOut: Double?
    var perCacheReadToken: Double?
    var totalCost: Double?

    static let maxPerToken: Double = 1000
    static let maxTotalCost: Double = 1_000_000

    init(header: String) throws(GatewayError) {
        guard let object = (try? JSONValue.parse(header))?.objectValue else {
            throw .invalidRequest("cf-aig-custom-cost must be a JSON object such as {\"per_token_in\":0.000001,\"per_token_out\":0.000002}")
        }
        for (key, value) in object {
            // Bounded so that no cost computed from it (tokens × rate, summed into budgets) overflows.
            let maximum = key == "total_cost" ? Self.maxTotalCost : Self.maxPerToken
            guard let n = value.numberValue, n >= 0, n <= maximum else {
                throw .invalidRequest("cf-aig-custom-cost: '\(key.prefix(64))' must be a number from 0 to \(Int(maximum))")
            }
            switch key {
            case "per_token_in": perTokenIn = n
            case "per_token_out": perTokenOut = n
            case "per_cache_read_token": perCacheReadToken = n
            case "per_cache_write_token": break
            case "total_cost": totalCost = n
            default:
                throw .invalidRequest("cf-aig-custom-cost: unknown field '\(key.prefix(64))' (per_token_in, per_token_out, per_cache_read_token, per_cache_write_token, total_cost)")
            }
        }
    }

    /// Cached input tokens are counted inside `promptTokens`, so they are taken out of the fresh input.
    func cost(of usage: Usage) -> Double {
        if let totalCost { return totalCost }
        let inRate = perTokenIn ?? 0
        let cachedRate = perCacheReadToken ?? inRate
        let fresh = max(0, usage.promptTokens - usage.cachedPromptTokens)
        return Double(fresh) * inRate + Double(usage.cachedPromptTokens) * cachedRate + Double(usage.completionTokens) * (perTokenOut ?? 0)
    }
}

enum RequestMetadata {
    /// `cf-aig-metadata` larger than this is 400: it is stored with every log record.
    static let maxHeaderBytes = 8192

    /// `cf-aig-metadata` as logs, cache keys and routes read it: a flat JSON object, the first five
    /// keys, `cf.*` dropped, nested values skipped. Empty without the header; nil when it is not a
    /// JSON object (logs ignore it, dynamic routes answer 400).
    static func parse(_ header: String?) -> [String: JSONValue]? {
        guard let header else { return [:] }
        guard let object = (try? JSONValue.parse(header))?.objectValue else { return nil }
        var out: [String: JSONValue] = [:]
        for key in object.keys.sorted().prefix(5) where !key.hasPrefix("cf.") {
            if let value = object[key], value.objectValue == nil, value.arrayValue == nil { out[key] = value }
        }
        return out
    }
}
