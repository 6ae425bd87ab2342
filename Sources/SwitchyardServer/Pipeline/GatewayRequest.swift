import Hummingbird
import NIOCore
import SwitchyardCore
import SwitchyardProviders

/// Step 2 of a request to a gateway endpoint: admitted (its gateway exists, its credentials pass,
/// the gateway's rate limit has room, its `cf-aig-*` headers are valid) and its body read, once.
/// Every later step — the cache key, route facts, the handlers, the adapters — reads this value;
/// none reads the body again.
struct GatewayRequest: Sendable {
    /// Method, URI and headers (the body is `body`).
    let head: Request
    let gatewayName: String
    let gateway: GatewayState.Gateway
    let auth: ClientAuthentication
    /// `cf-aig-request-timeout`, `-max-attempts`, `-retry-delay`, `-backoff`, `-byok-alias`.
    let options: RequestOptions
    /// At most `limits.max_body_bytes` (413/2045 beyond).
    let body: ByteBuffer

    static func admit(_ request: Request, gatewayName: String, state: GatewayState, record: RequestRecord) async throws -> GatewayRequest {
        guard let gateway = state.gateways[gatewayName] else { throw GatewayError.unknownGateway(gatewayName) }
        let auth = try ClientAuthentication(headers: request.headers, gateway: gateway, credentials: state.credentials)
        try state.checkRateLimit(gateway: gatewayName, gateway)
        try state.controls.begin(request, record: record)
        let options = try RequestOptions(headers: request.headers)
        var request = request
        let body = try await request.collectBody(limit: state.configuration.limits.maxBodyBytes)
        // The request log's size and payload, and the body's keys to redact from what goes back.
        record.observation.update { $0.requestBody = body }
        return GatewayRequest(head: request, gatewayName: gatewayName, gateway: gateway, auth: auth, options: options, body: body)
    }

    /// The client's headers that `HeaderPolicy` forwards upstream, minus `withheld`.
    func forwardedHeaders(withholding withheld: Set<String>) -> [(String, String)] {
        let connectionListed = HeaderPolicy.connectionTokens(head.headers[.connection])
        var forwarded: [(String, String)] = []
        for field in head.headers {
            let name = field.name.canonicalName
            if HeaderPolicy.forwardsRequestHeader(name, connectionListed: connectionListed), !withheld.contains(name) {
                forwarded.append((name, field.value))
            }
        }
        return forwarded
    }
}

extension Request {
    /// The body, at most `limit` bytes (413/2045 beyond).
    mutating func collectBody(limit: Int) async throws -> ByteBuffer {
        if let length = headers[.contentLength].flatMap(Int.init), length > limit {
            throw GatewayError.bodyTooLarge(limit: limit)
        }
        do {
            return try await collectBody(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw GatewayError.bodyTooLarge(limit: limit)
        }
    }
}
