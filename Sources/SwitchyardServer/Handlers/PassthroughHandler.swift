import AsyncHTTPClient
import Hummingbird
import NIOCore
import NIOHTTP1
import SwitchyardCore
import SwitchyardProviders

/// `/{provider}/{path...}`: the provider's own API. The path is appended to the provider's base
/// URL; method, query, body and response stream pass unchanged; the stored key is added only when
/// the request carries no credential of its own.
struct PassthroughHandler {
    let state: GatewayState

    static let credentialHeaders: Set<String> = UpstreamProvider.credentialHeaders

    func forward(_ request: Request, provider: UpstreamProvider, rest: String, auth: ClientAuthentication, record: inout RequestRecord) async throws -> Response {
        let options = try RequestOptions(headers: request.headers)
        record.provider = provider.slug
        var request = request
        let body = try await request.collectBody(limit: state.configuration.limits.maxBodyBytes)
        let query = request.uri.string.firstIndex(of: "?").map { String(request.uri.string[$0...]) } ?? ""
        let pathAndQuery = Self.join(baseURL: provider.baseURL, rest: rest) + query

        let connectionListed = HeaderPolicy.connectionTokens(request.headers[.connection])
        var headers: [(String, String)] = []
        var carriesCredential = query.contains("key=")
        for field in request.headers {
            let name = field.name.canonicalName
            guard HeaderPolicy.forwardsRequestHeader(name, connectionListed: connectionListed) else { continue }
            if name == "authorization", auth.authorizationIsGatewayToken { continue }
            if Self.credentialHeaders.contains(name) { carriesCredential = true }
            headers.append((name, field.value))
        }
        if let model = Self.model(in: body) { record.model = model }
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
        let finalRecord = record
        let state = self.state
        let inbound = request
        return Response(status: .init(code: status), headers: responseHeaders, body: ResponseBody { writer in
            do {
                try await inbound.body.consumeWithCancellationOnInboundClose { _ in
                    for try await chunk in response.body {
                        try await writer.write(chunk)
                    }
                }
            } catch {
                state.logRequest(finalRecord, status: status, note: "response ended early: \(error)")
                throw error
            }
            state.logRequest(finalRecord, status: status)
            try await writer.finish(nil)
        })
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
