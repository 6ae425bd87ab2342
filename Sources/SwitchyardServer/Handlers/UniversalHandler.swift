import AsyncHTTPClient
import Foundation
import Hummingbird
import NIOCore
import NIOHTTP1
import SwitchyardCore
import SwitchyardProviders

/// `POST /v1/{account}/{gateway}`: Cloudflare's universal endpoint. The body is a JSON array of
/// `{provider, endpoint, headers, query, config}` steps (a single object is one step), at most
/// `limits.max_universal_steps` of them; each is a provider-native request, tried in order until
/// one answers 2xx. Each step runs on the dispatcher's `AttemptExecutor`, like compat requests and
/// dynamic routes: its `maxAttempts` retry only what `RetryPolicy` retries (connection failures,
/// timeouts, 408, 429, 5xx), with jittered backoff and `Retry-After`; any other failure ends the
/// step at once and the next one runs. The answer carries `cf-aig-step`; when every step fails,
/// the last step's answer (or error) is returned.
struct UniversalHandler {
    let state: GatewayState

    struct Step {
        var provider: UpstreamProvider
        var pathAndQuery: String
        var headers: [(String, String)]
        var carriesCredential: Bool
        var body: ByteBuffer
        var options: RequestOptions
    }

    /// How much of a failed step's answer is read (and dropped) so that its connection can be reused.
    static let drainLimit = 1 << 20

    func handle(_ admitted: GatewayRequest, record: inout RequestRecord) async throws -> Response {
        let request = admitted.head
        let auth = admitted.auth
        let buffer = admitted.body
        guard let parsed = try? JSONValue.parse(bytes: buffer.readableBytesView) else {
            throw GatewayError.invalidRequest("the universal endpoint takes a JSON array of {provider, endpoint, headers, query} steps")
        }
        let items = parsed.arrayValue ?? [parsed]
        guard !items.isEmpty else { throw GatewayError.invalidRequest("the universal endpoint needs at least one step") }
        // Each step may cost up to 5 upstream calls: the number of steps is what bounds one request.
        let maxSteps = state.configuration.limits.maxUniversalSteps
        guard items.count <= maxSteps else {
            throw GatewayError.invalidRequest(
                "the universal endpoint takes at most \(maxSteps) steps, got \(items.count) (setting: limits.max_universal_steps)")
        }
        let steps = try items.enumerated().map { index, item throws(GatewayError) in try step(item, index: index, request: request, auth: auth) }

        let dispatcher = state.dispatcher
        let executor = dispatcher.executor
        let logger = state.logger
        var rng = SplitMix64(seed: UInt64.random(in: .min ... .max))
        for (index, step) in steps.enumerated() {
            if index > 0 { dispatcher.observer.fellBack(steps[index - 1].provider.slug) }
            let isLastStep = index == steps.count - 1
            record.provider = step.provider.slug
            record.step = index
            let result = try await executor.run(
                provider: step.provider.slug, retries: step.options.retries, backoff: step.options.backoff, rng: &rng, logger: logger,
                discard: Self.drain
            ) {
                try await dispatcher.passthrough(
                    provider: step.provider, method: .POST, pathAndQuery: step.pathAndQuery, headers: step.headers, body: step.body,
                    credential: step.carriesCredential ? .clientHeaders : .stored(alias: step.options.keyAlias),
                    timeout: step.options.timeout, logger: logger
                )
            }
            switch result {
            case .served(let response):
                return stream(response, request: request, record: record)
            case .rejected(let response):
                if isLastStep { return stream(response, request: request, record: record) }
                await Self.drain(response)
            case .error(let error):
                if isLastStep { throw error }
            }
        }
        throw GatewayError.unreachable(provider: steps.last?.provider.slug ?? "none", reason: "every step failed")
    }

    /// Reads and drops a failed answer (at most `drainLimit` bytes) so that its connection can be reused.
    static func drain(_ response: HTTPClientResponse) async {
        _ = try? await response.body.collect(upTo: drainLimit)
    }

    private func step(_ item: JSONValue, index: Int, request: Request, auth: ClientAuthentication) throws(GatewayError) -> Step {
        guard let object = item.objectValue else { throw .invalidRequest("step \(index) must be an object with provider, endpoint and query") }
        guard let slug = object["provider"]?.stringValue else { throw .invalidRequest("step \(index) needs 'provider' (a string)") }
        guard var provider = state.providers.provider(pathSlug: slug) else {
            throw .invalidProvider("step \(index): unknown provider '\(GatewayError.shown(slug))'" + (slug == "compat" ? " (use dynamic routes for OpenAI-format fallbacks)" : ""))
        }
        guard let endpoint = object["endpoint"]?.stringValue else { throw .invalidRequest("step \(index) needs 'endpoint' (a string)") }
        var rest = endpoint.hasPrefix("/") ? endpoint : "/" + endpoint
        var query = ""
        if let mark = rest.firstIndex(of: "?") {
            // A gateway credential given as `?key=` is dropped like one in a header.
            query = auth.credentials.forwardable(query: String(rest[mark...]))
            rest = String(rest[..<mark])
        }
        try PassthroughHandler.checkPath(rest)
        (provider, rest) = try PassthroughHandler.native(provider: provider, rest: rest)
        let path = PassthroughHandler.join(baseURL: provider.baseURL, rest: rest)

        // Provider-level headers win over the request's own.
        var fields = HTTPFields()
        let connectionListed = HeaderPolicy.connectionTokens(request.headers[.connection])
        for field in request.headers {
            let name = field.name.canonicalName
            guard name.hasPrefix("cf-aig-") || HeaderPolicy.forwardsRequestHeader(name, connectionListed: connectionListed) else { continue }
            if auth.withholds(name) { continue }
            fields.append(field)
        }
        if let stepHeaders = object["headers"] {
            guard let map = stepHeaders.objectValue else { throw .invalidRequest("step \(index): 'headers' must be an object of strings") }
            for (name, value) in map {
                guard let text = value.stringValue ?? value.numberValue.map({ JSONValue.number($0).canonicalJSON }), let n = HTTPField.Name(name) else {
                    throw .invalidRequest("step \(index): header '\(GatewayError.shown(name))' must be a string")
                }
                fields[n] = text
            }
        }
        if let config = object["config"] {
            guard let map = config.objectValue else { throw .invalidRequest("step \(index): 'config' must be an object") }
            let names: [String: HTTPField.Name] = ["requestTimeout": .cfAigRequestTimeout, "maxAttempts": .cfAigMaxAttempts, "retryDelay": .cfAigRetryDelay, "backoff": .cfAigBackoff]
            for (key, value) in map {
                guard let name = names[key] else { throw .invalidRequest("step \(index): unknown config key '\(GatewayError.shown(key))' (requestTimeout, maxAttempts, retryDelay, backoff)") }
                fields[name] = value.stringValue ?? value.canonicalJSON
            }
        }
        let options = try RequestOptions(headers: fields)
        var headers: [(String, String)] = []
        var carriesCredential = query.contains("key=")
        for field in fields {
            let name = field.name.canonicalName
            guard HeaderPolicy.forwardsRequestHeader(name) else { continue }
            if PassthroughHandler.credentialHeaders.contains(name) {
                // No gateway credential (any gateway's token, the admin token) is forwarded, wherever it
                // was written; without another credential the stored key is used.
                if auth.credentials.matches(field.value) { continue }
                carriesCredential = true
            }
            headers.append((name, field.value))
        }
        if !headers.contains(where: { $0.0 == "content-type" }) { headers.append(("content-type", "application/json")) }
        let body: ByteBuffer
        switch object["query"] {
        case .string(let text)?: body = ByteBuffer(string: text)
        case let value?: body = ByteBuffer(string: value.canonicalJSON)
        case nil: body = ByteBuffer()
        }
        return Step(provider: provider, pathAndQuery: path + query, headers: headers, carriesCredential: carriesCredential, body: body, options: options)
    }

    private func stream(_ response: HTTPClientResponse, request: Request, record: RequestRecord) -> Response {
        var headers = record.headers()
        for h in response.headers where HeaderPolicy.forwardsResponseHeader(h.name.lowercased()) {
            if let n = HTTPField.Name(h.name) { headers.append(HTTPField(name: n, value: h.value)) }
        }
        let status = Int(response.status.code)
        let observation = record.observation
        return StreamingAnswer.response(status: .init(code: status), headers: headers, chunks: response.body, watching: request) { end in
            if case .failed(let error) = end { observation.answered(note: "response ended early: \(error)") }
        }
    }
}
