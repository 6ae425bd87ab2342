import Crypto
import Foundation
import Hummingbird
import NIOCore
import Synchronization
import SwitchyardCore
import SwitchyardProviders

/// How one request uses the response cache, from its headers and the gateway's `cache.ttl`.
struct CachePolicy: Sendable {
    /// Seconds an answer is kept; 0 = the cache is not used.
    var ttl: Double
    /// `cf-aig-skip-cache`: do not read the cache (a fresh answer still replaces the entry).
    var skip: Bool
    /// `cf-aig-cache-key`: replaces the computed key.
    var customKey: String?

    static let maxTTL: Double = 30 * 86400

    init(headers: HTTPFields, gatewayTTL: Double) throws(GatewayError) {
        customKey = headers[.cfAigCacheKey].flatMap { $0.isEmpty ? nil : $0 }
        skip = (headers[.cfAigSkipCache] ?? headers[.cfSkipCache]).flatMap(BooleanText.parse) ?? false
        if let text = headers[.cfAigCacheTTL] ?? headers[.cfCacheTTL] {
            guard let n = Int(text.trimmingCharacters(in: .whitespaces)), n == 0 || (60...Int(Self.maxTTL)).contains(n) else {
                throw .invalidRequest("cf-aig-cache-ttl must be 0 or a number of seconds from 60 to 2592000 (30 days), got '\(GatewayError.shown(text))'")
            }
            ttl = Double(n)
        } else if gatewayTTL > 0 {
            ttl = gatewayTTL
        } else {
            // Cloudflare: a cache key without a TTL on a gateway without caching keeps for 5 minutes.
            ttl = customKey == nil ? 0 : 300
        }
    }
}

extension GatewayControls {
    /// What a cache key is made of besides the body.
    struct CacheScope: Sendable {
        /// `compat` or a provider slug.
        var target: String
        var path: String
        var model: String?
        /// What identifies the credential used (hashed with the rest, never stored).
        var credential: String
    }

    static func cacheKey(gateway: String, scope: CacheScope, body: ByteBuffer, customKey: String?) -> String {
        var hasher = SHA256()
        func add(_ s: String) {
            hasher.update(data: Data(s.utf8))
            hasher.update(data: [0])
        }
        add(gateway)
        if let customKey {
            add("custom")
            add(customKey)
        } else {
            add(scope.target)
            add(scope.path)
            add(scope.model ?? "")
            add(scope.credential)
            // Canonical JSON makes key order and spacing irrelevant; a body it cannot write (nested
            // too deep: it writes `null`) is keyed by its bytes, never by that shared `null`.
            if let json = try? JSONValue.parse(bytes: body.readableBytesView), case let text = json.canonicalJSON, text != "null" || json == .null {
                add("json")
                add(text)
            } else {
                add("bytes")
                hasher.update(data: Data(body.readableBytesView))
            }
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// The compat scope: the credential is the client's own key, else the stored key the alias names.
    static func compatScope(
        endpoint: String, request: CompatRequest, metadata: [String: JSONValue], admitted: GatewayRequest, providers: ProviderTable
    ) -> CacheScope {
        let credential: String
        if let bearer = admitted.auth.clientBearer {
            credential = "client:" + bearer
        } else {
            let provider = providers.provider(slug: request.target.provider)
            credential = "stored:\(admitted.options.keyAlias):" + (provider?.keys[admitted.options.keyAlias] ?? "")
        }
        // A dynamic route may branch on metadata: requests that could take another path do not share entries.
        let variant = request.target.provider == "dynamic" ? JSONValue.object(metadata).canonicalJSON : ""
        return CacheScope(target: "compat", path: endpoint, model: request.model, credential: credential + "\n" + variant)
    }

    /// Every provider credential header, sorted (the key must not depend on the order they came in).
    private static let credentialHeaderNames = UpstreamProvider.credentialHeaders.sorted().map { ($0, HTTPField.Name($0)!) }

    /// The passthrough scope: the path with its query, and the client's credential headers or the stored key.
    static func passthroughScope(provider: UpstreamProvider, admitted: GatewayRequest, model: String?) -> CacheScope {
        let request = admitted.head
        let auth = admitted.auth
        var credential = ""
        for (name, field) in Self.credentialHeaderNames {
            guard let value = request.headers[field] else { continue }
            if name == "authorization", auth.authorizationIsGatewayToken { continue }
            if auth.gatewayTokenKeyHeaders.contains(name) { continue }
            credential += "\(name)=\(value)\n"
        }
        if credential.isEmpty, !request.uri.string.contains("key=") {
            let alias = admitted.options.keyAlias
            credential = "stored:\(alias):" + (provider.keys[alias] ?? "")
        }
        return CacheScope(target: provider.slug, path: request.uri.string, model: model, credential: credential)
    }

    /// Runs `handler` behind the response cache. Hits are answered here (no provider call, no
    /// route budget or limit) and logged with `cached: true`; a miss leads or joins the flight for
    /// its key; a successful (2xx) answer is stored once its body has been sent completely.
    func cached(
        _ admitted: GatewayRequest, record: inout RequestRecord, scope: @autoclosure () -> CacheScope,
        _ handler: (inout RequestRecord) async throws -> Response
    ) async throws -> Response {
        let policy = try CachePolicy(headers: admitted.head.headers, gatewayTTL: admitted.gateway.settings.cacheTTL)
        guard policy.ttl > 0, admitted.head.method == .post else {
            return try await handler(&record)
        }
        let key = Self.cacheKey(gateway: admitted.gatewayName, scope: scope(), body: admitted.body, customKey: policy.customKey)
        let now = self.now()
        let lookup: ResponseCache.Lookup = policy.skip ? .lead(ResponseCache.Flight()) : cache.lookup(key, now: now)
        switch lookup {
        case .hit(let entry):
            return hit(entry, record: &record)
        case .wait(let flight):
            if let entry = await flight.wait(timeout: followerTimeout) {
                return hit(entry, record: &record)
            }
            record.observation.update { $0.cacheStatus = .miss }
            return try await handler(&record)
        case .lead(let flight):
            record.observation.update { $0.cacheStatus = .miss }
            let response: Response
            do {
                response = try await handler(&record)
            } catch {
                cache.complete(key, flight: flight, entry: nil)
                throw error
            }
            guard (200..<300).contains(response.status.code) else {
                cache.complete(key, flight: flight, entry: nil)
                return response
            }
            return store(response, key: key, flight: flight, ttl: policy.ttl, record: record)
        }
    }

    private func hit(_ entry: ResponseCache.Entry, record: inout RequestRecord) -> Response {
        record.provider = entry.provider
        record.model = entry.model
        record.step = entry.step
        record.route = entry.route
        record.routePath = entry.routePath
        record.observation.update {
            $0.cached = true
            $0.cacheStatus = .hit
            $0.usage = entry.usage
        }
        var headers = HTTPFields()
        for (name, value) in entry.headers {
            if let n = HTTPField.Name(name) { headers.append(HTTPField(name: n, value: value)) }
        }
        for field in record.headers() where headers[field.name] == nil || field.name == .cfAigLogID || field.name == .cfAigEventID {
            headers[field.name] = field.value
        }
        headers[.cfAigCacheStatus] = "HIT"
        record.observation.answered(note: "cache hit")
        return record.observation.bufferedResponse(status: .init(code: entry.status), headers: headers, body: entry.body)
    }

    /// Forwards the leader's answer and keeps its chunks; stores them only when the body ended normally.
    private static let perRequestHeaders: Set<String> = ["cf-aig-log-id", "cf-aig-event-id", "cf-aig-cache-status", "content-length", "transfer-encoding", "date"]

    private func store(_ response: Response, key: String, flight: ResponseCache.Flight, ttl: Double, record: RequestRecord) -> Response {
        let headers = response.headers.compactMap { f -> (String, String)? in
            Self.perRequestHeaders.contains(f.name.canonicalName) ? nil : (f.name.canonicalName, f.value)
        }
        let status = Int(response.status.code)
        let cache = self.cache
        let now = self.now
        if let buffered = record.observation.bufferedBody(of: response) {
            // Complete already: stored now, and the response keeps its single-write body.
            cache.complete(key, flight: flight, entry: buffered.readableBytes > cache.maxBytes ? nil : ResponseCache.Entry(
                status: status, headers: headers, body: buffered, usage: record.observation.snapshot.usage, provider: record.provider, model: record.model,
                step: record.step, route: record.route, routePath: record.routePath, expiresAt: now() + ttl
            ))
            return response
        }
        var response = response
        let body = response.body
        // Dropped unwritten (the client reset before the head): the flight ends with nothing
        // stored, so the requests waiting on it call the provider themselves at once.
        response.body = .guarded(contentLength: body.contentLength, ifNeverWritten: { cache.complete(key, flight: flight, entry: nil) }) { writer in
            let chunks = ChunkList()
            do {
                try await body.write(ChunkWriter(base: writer, chunks: chunks, limit: cache.maxBytes))
            } catch {
                cache.complete(key, flight: flight, entry: nil)
                throw error
            }
            guard let kept = chunks.all else {
                cache.complete(key, flight: flight, entry: nil)
                return
            }
            var joined = ByteBufferAllocator().buffer(capacity: kept.reduce(0) { $0 + $1.readableBytes })
            for chunk in kept { joined.writeImmutableBuffer(chunk) }
            let observed = record.observation.snapshot
            cache.complete(key, flight: flight, entry: ResponseCache.Entry(
                status: status, headers: headers, body: joined, usage: observed.usage, provider: record.provider, model: record.model,
                step: record.step, route: record.route, routePath: record.routePath, expiresAt: now() + ttl
            ))
        }
        return response
    }
}

/// The chunks of a body being forwarded, up to a size (nil beyond it: too large to cache).
final class ChunkList: Sendable {
    private let state = Mutex<(chunks: [ByteBuffer], bytes: Int, overflow: Bool)>(([], 0, false))

    func append(_ buffer: ByteBuffer, limit: Int) {
        state.withLock { s in
            guard !s.overflow else { return }
            s.bytes += buffer.readableBytes
            if s.bytes > limit {
                s.overflow = true
                s.chunks = []
            } else {
                s.chunks.append(buffer)
            }
        }
    }

    var all: [ByteBuffer]? { state.withLock { $0.overflow ? nil : $0.chunks } }
}

struct ChunkWriter: ResponseBodyWriter {
    var base: any ResponseBodyWriter
    let chunks: ChunkList
    let limit: Int

    mutating func write(_ buffer: ByteBuffer) async throws {
        chunks.append(buffer, limit: limit)
        try await base.write(buffer)
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {
        try await base.finish(trailingHeaders)
    }
}
