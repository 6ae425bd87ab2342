import AsyncHTTPClient
import Hummingbird
import NIOCore
import NIOHTTP1
import SwitchyardCore
import SwitchyardProviders
import Synchronization

/// `/{provider}/{path...}`: the provider's own API. The path is appended to the provider's base
/// URL; method, query, body and response stream pass unchanged; the stored key is added only when
/// the request carries no credential of its own.
struct PassthroughHandler {
    let state: GatewayState

    static let credentialHeaders: Set<String> = UpstreamProvider.credentialHeaders
    static let bufferedAnswerLimit = 1 << 20

    func forward(_ admitted: GatewayRequest, provider: UpstreamProvider, rest: String, model: String?, record: inout RequestRecord) async throws -> Response {
        let request = admitted.head
        let auth = admitted.auth
        let options = admitted.options
        let body = admitted.body
        record.provider = provider.slug
        let query = auth.credentials.forwardable(query: request.uri.string.firstIndex(of: "?").map { String(request.uri.string[$0...]) } ?? "")
        let (provider, upstreamRest) = try Self.native(provider: provider, rest: rest)
        let upstreamPath = Self.join(baseURL: provider.baseURL, rest: upstreamRest)
        let pathAndQuery = upstreamPath + query

        let connectionListed = HeaderPolicy.connectionTokens(request.headers[.connection])
        var headers: [(String, String)] = []
        var carriesCredential = query.contains("key=")
        for field in request.headers {
            let name = field.name.canonicalName
            guard HeaderPolicy.forwardsRequestHeader(name, connectionListed: connectionListed) else { continue }
            if name == "authorization", auth.authorizationIsGatewayToken { continue }
            if auth.gatewayTokenKeyHeaders.contains(name) { continue }
            // An uncompressed answer is what lets usage be read from the bytes as they pass.
            if name == "accept-encoding" { continue }
            if Self.credentialHeaders.contains(name) { carriesCredential = true }
            headers.append((name, field.value))
        }
        if provider.family == .anthropic, !request.headers.contains(where: { $0.name.canonicalName == "anthropic-version" }) {
            headers.append(("anthropic-version", AnthropicAdapter.defaultVersion))
        }
        if let model = model ?? Self.model(inPath: upstreamPath) { record.model = model }
        record.observation.upstreamStarted()
        let response = try await state.dispatcher.passthrough(
            provider: provider, method: HTTPMethod(rawValue: request.method.rawValue), pathAndQuery: pathAndQuery, headers: headers,
            body: body, credential: carriesCredential ? .clientHeaders : .stored(alias: options.keyAlias),
            timeout: options.timeout, logger: state.logger
        )
        var responseHeaders = record.headers()
        for h in response.headers where HeaderPolicy.forwardsResponseHeader(h.name.lowercased()) {
            if let n = HTTPField.Name(h.name) { responseHeaders.append(HTTPField(name: n, value: h.value)) }
        }
        let status = Int(response.status.code)
        let inbound = request
        let contentType = response.headers.first(name: "content-type") ?? ""
        let tap = NativeUsageTap(family: provider.family, path: upstreamPath, contentType: contentType, status: status)
        // Watching for the client going away is what lets a long stream be cancelled upstream, but
        // Hummingbird cannot reuse a connection whose inbound side was watched: plain answers are
        // forwarded without it, so clients keep their keep-alive connections.
        let isEventStream = contentType.lowercased().hasPrefix("text/event-stream")
        // A small answer of declared length (a JSON completion, an error) is read whole and sent in
        // one write; anything else is forwarded chunk by chunk as it arrives.
        if !isEventStream, request.method != .head, status != 204, status != 304,
           let length = response.headers.first(name: "content-length").flatMap(Int.init), length <= Self.bufferedAnswerLimit {
            var tap = tap
            let answer: ByteBuffer
            do {
                answer = try await response.body.collect(upTo: Self.bufferedAnswerLimit)
            } catch {
                if Task.isCancelled { throw CancellationError() }
                throw GatewayError.unreachable(provider: provider.slug, reason: "response body failed: \(Dispatcher.describe(error))")
            }
            tap.observe(answer)
            record.observation.answered(usage: tap.finish())
            return record.observation.bufferedResponse(status: .init(code: status), headers: responseHeaders, body: answer)
        }
        let usage = UsageTapBox(tap)
        return StreamingAnswer.response(
            status: .init(code: status), headers: responseHeaders, chunks: response.body, watching: isEventStream ? inbound : nil,
            observe: { usage.observe($0) }
        ) { [observation = record.observation] end in
            switch end {
            case .completed: observation.answered(usage: usage.finish())
            case .failed(let error): observation.answered(usage: usage.finish(), note: "response ended early: \(error)")
            case .abandoned: break
            }
        }
    }

    /// The path after the provider segment is appended to the provider's base URL and sent with its
    /// stored key: a `.` or `..` segment (also percent-encoded), or an encoded `/` or `\\` that an
    /// upstream might decode into a separator, could climb out of the base URL's path. 400.
    static func checkPath(_ rest: String) throws(GatewayError) {
        for segment in rest.split(separator: "/", omittingEmptySubsequences: false) {
            guard segment.contains(".") || segment.contains("%") || segment.contains("\\") else { continue }
            let lowered = segment.lowercased()
            let decoded = lowered.replacingOccurrences(of: "%2e", with: ".")
            if decoded == "." || decoded == ".." || lowered.contains("%2f") || lowered.contains("%5c") || lowered.contains("\\") || lowered.contains("%00") {
                throw .invalidRequest("passthrough paths may not contain '.' or '..' segments, encoded '/' or '\\', or NUL: \(GatewayError.shown(rest))")
            }
        }
    }

    /// Cloudflare's path layouts that are not a plain suffix of the base URL: Workers AI models
    /// (`/workers-ai/@cf/meta/...` → `{base}/run/@cf/meta/...`) and Azure
    /// (`/azure-openai/{resource}/{deployment}/...` → `https://{resource}…/openai/deployments/{deployment}/...`).
    static func native(provider: UpstreamProvider, rest: String) throws(GatewayError) -> (UpstreamProvider, String) {
        switch provider.family {
        case .workersAI where rest.hasPrefix("/@"):
            return (provider, "/run" + rest)
        case .azureOpenAI:
            let parts = rest.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
            // parts[0] is the empty segment before the leading slash; `/v1/...` is Azure's unversioned API.
            if parts.count > 1, parts[1] == "v1" || parts[1] == "deployments" {
                guard let base = AzureOpenAIAdapter.baseURL(provider.baseURL, resource: nil) else {
                    throw .invalidProvider("provider 'azure-openai' needs a resource: use /azure-openai/{resource}/{deployment}/..., or set providers.azure-openai.resource or base_url")
                }
                return (provider.with(baseURL: base), rest)
            }
            guard parts.count == 3, AzureOpenAIAdapter.isName(parts[1]), let slash = parts[2].firstIndex(of: "/"),
                  AzureOpenAIAdapter.isName(parts[2][..<slash]) else {
                throw .invalidRequest("azure-openai passthrough paths are /azure-openai/{resource}/{deployment}/{operation}, got '\(GatewayError.shown("/azure-openai" + rest, limit: 200))'")
            }
            let base = AzureOpenAIAdapter.baseURL(provider.baseURL, resource: String(parts[1])) ?? provider.baseURL
            return (provider.with(baseURL: base), "/deployments/" + parts[2])
        default:
            return (provider, rest)
        }
    }

    /// Gemini and Workers AI name the model in the path (`/models/gemini-2.5-flash:generateContent`, `/run/@cf/...`).
    static func model(inPath path: String) -> String? {
        if let range = path.range(of: "/models/") {
            let tail = path[range.upperBound...]
            return String(tail[..<(tail.firstIndex(of: ":") ?? tail.endIndex)])
        }
        if let range = path.range(of: "/run/") { return String(path[range.upperBound...]) }
        return nil
    }

    /// `/openai/v1/chat/completions` and `/openai/chat/completions` both reach
    /// `https://api.openai.com/v1/chat/completions`: a `/v1` the base URL already ends with is not repeated.
    static func join(baseURL: String, rest: String) -> String {
        if baseURL.hasSuffix("/v1"), rest == "/v1" || rest.hasPrefix("/v1/") {
            return String(rest.dropFirst(3))
        }
        return rest
    }

    static func model(in body: ByteBuffer) -> String? {
        guard body.readableBytes > 0, body.readableBytes < 1 << 20, body.getInteger(at: body.readerIndex, as: UInt8.self) == UInt8(ascii: "{"),
              let object = try? JSONObjectBody(bytes: Array(body.readableBytesView)) else { return nil }
        return object.value("model")?.stringValue
    }
}

/// A `NativeUsageTap` shared between the forwarding loop and the end of the request.
final class UsageTapBox: Sendable {
    private let tap: Mutex<NativeUsageTap>

    init(_ tap: NativeUsageTap) { self.tap = Mutex(tap) }

    func observe(_ chunk: ByteBuffer) { tap.withLock { $0.observe(chunk) } }

    func finish() -> Usage? { tap.withLock { $0.finish() } }
}
