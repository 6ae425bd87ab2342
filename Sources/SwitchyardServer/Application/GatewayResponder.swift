import Hummingbird
import Logging
import NIOCore
import SwitchyardCore
import SwitchyardProviders

/// The whole HTTP surface: resolves the path, authenticates, and hands over to the compat or
/// passthrough handler. Gateway errors become Cloudflare's envelope here.
public struct GatewayResponder: HTTPResponder {
    public typealias Context = BasicRequestContext
    let state: GatewayState

    public func respond(to request: Request, context: BasicRequestContext) async throws -> Response {
        let logID = LogID.make()
        var record = RequestRecord(
            method: request.method.rawValue, uri: request.uri.string, start: .now, logID: logID,
            eventID: request.headers[.cfAigEventID] ?? logID
        )
        let path = GatewayPath(path: request.uri.path)
        record.account = path.account
        record.gateway = path.gateway
        record.endpoint = path.endpointLabel
        do {
            return try await handle(request, path: path, record: &record)
        } catch let error as GatewayError {
            state.logRequest(record, status: error.status, note: error.message)
            return error.response(headers: record.headers())
        } catch is CancellationError {
            state.logRequest(record, status: 499, note: "client went away")
            throw CancellationError()
        } catch {
            state.logger.error("internal error", metadata: ["log_id": "\(logID)", "error": "\(error)"])
            let e = GatewayError.internal(logID)
            state.logRequest(record, status: e.status)
            return e.response(headers: record.headers())
        }
    }

    private func handle(_ request: Request, path: GatewayPath, record: inout RequestRecord) async throws -> Response {
        switch path {
        case .notFound:
            throw GatewayError.notFound(request.uri.path)
        case .healthz:
            guard request.method == .get || request.method == .head else {
                throw GatewayError.methodNotAllowed(request.method.rawValue, path: request.uri.path, allowed: ["GET"])
            }
            state.logRequest(record, status: 200)
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"status":"ok"}"#)))
        case .metrics:
            guard request.method == .get || request.method == .head else {
                throw GatewayError.methodNotAllowed(request.method.rawValue, path: request.uri.path, allowed: ["GET"])
            }
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: state.metrics.exposition())))
        case .admin(let rest):
            return try await AdminHandler(state: state).handle(request, rest: rest, record: &record)
        case .compat(_, let gatewayName, let endpoint):
            let expected: HTTPRequest.Method = endpoint == .models ? .get : .post
            guard request.method == expected || (expected == .get && request.method == .head) else {
                throw GatewayError.methodNotAllowed(request.method.rawValue, path: request.uri.path, allowed: [expected.rawValue])
            }
            let gateway = try gateway(named: gatewayName)
            let auth = try ClientAuthentication(headers: request.headers, gateway: gateway)
            try state.checkRateLimit(gateway: gatewayName, gateway)
            let handler = CompatHandler(state: state)
            switch endpoint {
            case .models:
                return try await handler.models(request, auth: auth, record: &record)
            case .chatCompletions:
                return try await handler.complete(request, operation: .chatCompletions, auth: auth, record: &record)
            case .embeddings:
                return try await handler.complete(request, operation: .embeddings, auth: auth, record: &record)
            }
        case .universal(_, let gatewayName):
            guard request.method == .post else {
                throw GatewayError.methodNotAllowed(request.method.rawValue, path: request.uri.path, allowed: ["POST"])
            }
            let gateway = try gateway(named: gatewayName)
            let auth = try ClientAuthentication(headers: request.headers, gateway: gateway)
            try state.checkRateLimit(gateway: gatewayName, gateway)
            return try await UniversalHandler(state: state).handle(request, auth: auth, record: &record)
        case .passthrough(_, let gatewayName, let providerSegment, let rest):
            let gateway = try gateway(named: gatewayName)
            guard let provider = state.providers.provider(pathSlug: providerSegment) else {
                if rest.isEmpty { throw GatewayError.notFound(request.uri.path) }
                throw GatewayError.invalidProvider(
                    "unknown provider '\(providerSegment)'" + (Suggestion.closest(to: providerSegment, in: state.providers.providers.map(\.pathSlug)).map { "; did you mean '\($0)'?" } ?? "")
                )
            }
            let auth = try ClientAuthentication(headers: request.headers, gateway: gateway)
            try state.checkRateLimit(gateway: gatewayName, gateway)
            return try await PassthroughHandler(state: state).forward(request, provider: provider, rest: rest, auth: auth, record: &record)
        }
    }

    private func gateway(named name: String) throws(GatewayError) -> GatewayState.Gateway {
        guard let gateway = state.gateways[name] else { throw .unknownGateway(name) }
        return gateway
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
