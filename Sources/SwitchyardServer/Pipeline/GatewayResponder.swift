import Hummingbird
import Logging
import NIOCore
import SwitchyardCore
import SwitchyardProviders
import Tracing

/// The request context: Hummingbird's, plus the peer address (admin answers loopback peers only
/// when no admin token is configured).
public struct GatewayRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Nil for a connection without a network peer (HummingbirdTesting's in-process router).
    public let remoteAddress: SocketAddress?

    /// The client connection, for `ConnectionWatch`.
    let connection: ObjectIdentifier

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
        connection = ObjectIdentifier(source.channel)
    }

    /// A loopback peer (127.0.0.0/8, ::1, an IPv4-mapped loopback), a Unix socket, or no network peer at all.
    var peerIsLocal: Bool { Self.isLocal(remoteAddress) }

    static func isLocal(_ address: SocketAddress?) -> Bool {
        guard let address else { return true }
        switch address {
        case .unixDomainSocket: return true
        case .v4: return address.ipAddress?.hasPrefix("127.") ?? false
        case .v6:
            guard let ip = address.ipAddress?.lowercased() else { return false }
            return ip == "::1" || ip.hasPrefix("::ffff:127.")
        }
    }
}

/// Step 1 of every request: the socket's request becomes a task on the current configuration, its
/// path is resolved, and it is handed to its endpoint; whatever way it ends, it ends through
/// `GatewayControls.observe`/`abandoned` (RequestEnd.swift). Gateway errors become Cloudflare's
/// envelope here. The steps after it: GatewayRequest.swift (admission, the body read and parsed
/// once), the response cache (GatewayControls+Cache.swift), the endpoint handlers (Handlers/), the
/// dispatcher and adapters (SwitchyardProviders), RequestEnd.swift.
public struct GatewayResponder: HTTPResponder {
    public typealias Context = GatewayRequestContext
    let state: GatewayState

    public func respond(to request: Request, context: GatewayRequestContext) async throws -> Response {
        // Handled in a task of its own: a task keeps the memory of its deepest chain of async frames
        // until it ends, and the connection's task lives as long as the connection. This task's
        // frames (routing, dispatch, the upstream call: ~35 KB) are freed when the response head is
        // ready, so an open stream or an idle keep-alive connection holds only what writing needs.
        // The request runs on the configuration current now, whatever reloads happen while it runs.
        // A connection that closes meanwhile cancels the task (ConnectionWatch).
        let pin = SettingsStore.Pin(store: ObjectIdentifier(state.settings), settings: state.settings.latest)
        let peerIsLocal = context.peerIsLocal
        let task = Task {
            try await SettingsStore.$pinned.withValue(pin) { try await handle(request, peerIsLocal: peerIsLocal) }
        }
        ConnectionWatch.shared.register(context.connection) { task.cancel() }
        defer { ConnectionWatch.shared.unregister(context.connection) }
        return try await withTaskCancellationHandler { try await task.value } onCancel: { task.cancel() }
    }

    /// `cf-aig-event-id` is echoed in a response header and stored: at most 256 visible ASCII characters.
    static func eventID(_ header: String?) -> String?? {
        guard let header else { return .some(nil) }
        guard !header.isEmpty, header.utf8.count <= 256, header.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else { return nil }
        return .some(header)
    }

    private func handle(_ request: Request, peerIsLocal: Bool) async throws -> Response {
        // Telemetry off (the default): nothing more than this check.
        guard let tracing = state.tracing else { return try await handle(request, peerIsLocal: peerIsLocal, trace: nil) }
        let path = GatewayPath(path: request.uri.path)
        guard RequestTracing.traces(path) else { return try await handle(request, peerIsLocal: peerIsLocal, trace: nil) }
        let trace = tracing.start(request, path: path)
        // Current while the request is handled: the attempts' spans are its children, and the upstream gets it as `traceparent`.
        return try await ServiceContext.$current.withValue(trace.span.context) { try await handle(request, peerIsLocal: peerIsLocal, trace: trace) }
    }

    private func handle(_ request: Request, peerIsLocal: Bool, trace: RequestTrace?) async throws -> Response {
        let logID = LogID.make()
        let eventID = Self.eventID(request.headers[.cfAigEventID])
        var record = RequestRecord(
            method: request.method.rawValue, uri: String(request.uri.string.prefix(4096)), start: .now, logID: logID,
            eventID: (eventID ?? nil) ?? logID
        )
        record.trace = trace
        let path = GatewayPath(path: request.uri.path)
        record.account = path.account
        record.gateway = path.gateway
        record.endpoint = path.endpointLabel
        // A gateway endpoint's end: gateway metrics, redacted error bodies, its request-log record.
        let isAdmin = AdminAPI.isAdminPath(request.uri.path)
        let scope: GatewayControls.Scope = isAdmin ? .plain : path.gateway.map { .gateway(state.gateways[$0]) } ?? .plain
        let controls = state.controls
        do {
            if eventID == nil { throw GatewayError.invalidRequest("cf-aig-event-id must be 1 to 256 visible ASCII characters") }
            let response = try await handle(request, path: path, isAdmin: isAdmin, peerIsLocal: peerIsLocal, record: &record)
            return controls.observe(response, request: request, record: record, scope: scope)
        } catch let error as GatewayError {
            if error.kind == .gatewayRateLimited || error.kind == .routeLimited { controls.metrics.limitRejected(gateway: record.gateway ?? "default", code: error.code) }
            record.observation.answered(note: error.message)
            return controls.observe(error.response(headers: record.headers(), observation: record.observation), request: request, record: record, scope: scope)
        } catch is CancellationError {
            controls.abandoned(request, record: record, scope: scope)
            throw CancellationError()
        } catch {
            state.logger.error("internal error", metadata: ["log_id": "\(logID)", "error": "\(error)"])
            let e = GatewayError.internal(logID)
            return controls.observe(e.response(headers: record.headers(), observation: record.observation), request: request, record: record, scope: scope)
        }
    }

    private func handle(_ request: Request, path: GatewayPath, isAdmin: Bool, peerIsLocal: Bool, record: inout RequestRecord) async throws -> Response {
        if isAdmin {
            // Every /admin path is authorized here, whatever `GatewayPath` makes of it.
            let admin = AdminAPI(state: state, peerIsLocal: peerIsLocal)
            try admin.authorize(request)
            if let response = try await admin.respond(request) { return response }
        }
        switch path {
        case .notFound:
            throw GatewayError.notFound(request.uri.path)
        case .dashboard(let asset):
            return try DashboardAssets.respond(request, asset: asset, controls: state.controls, peerIsLocal: peerIsLocal)
        case .healthz:
            guard request.method == .get || request.method == .head else {
                throw GatewayError.methodNotAllowed(request.method.rawValue, path: request.uri.path, allowed: ["GET"])
            }
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"status":"ok"}"#)))
        case .metrics:
            guard request.method == .get || request.method == .head else {
                throw GatewayError.methodNotAllowed(request.method.rawValue, path: request.uri.path, allowed: ["GET"])
            }
            try state.controls.authorizeMetrics(request)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: state.controls.scrapeMetrics())))
        case .admin(let rest):
            return try await AdminHandler(state: state).handle(request, rest: rest, record: &record)
        case .compat(_, let gatewayName, let endpoint):
            return try await compat(request, gatewayName: gatewayName, endpoint: endpoint, record: &record)
        case .universal(_, let gatewayName):
            return try await universal(request, gatewayName: gatewayName, record: &record)
        case .passthrough(_, let gatewayName, let providerSegment, let rest):
            return try await passthrough(request, gatewayName: gatewayName, providerSegment: providerSegment, rest: rest, record: &record)
        }
    }

    // One function per endpoint, never inlined into `handle`: an async function's frame is
    // allocated whole from the task's allocator, and the task keeps its slabs for the life of the
    // connection, so a frame holding every endpoint's locals cost each open stream ~11 KB.
    // Each checks what its endpoint accepts, then admits the request (`GatewayRequest.admit`).

    @inline(never)
    private func compat(_ request: Request, gatewayName: String, endpoint: GatewayPath.CompatEndpoint, record: inout RequestRecord) async throws -> Response {
        let expected: HTTPRequest.Method = endpoint == .models ? .get : .post
        guard request.method == expected || (expected == .get && request.method == .head) else {
            throw GatewayError.methodNotAllowed(request.method.rawValue, path: request.uri.path, allowed: [expected.rawValue])
        }
        let admitted = try await GatewayRequest.admit(request, gatewayName: gatewayName, state: state, record: record)
        let handler = CompatHandler(state: state)
        switch endpoint {
        case .models:
            return try await handler.models(admitted, record: &record)
        case .chatCompletions, .embeddings:
            let compat = try CompatRequest(admitted, operation: endpoint == .embeddings ? .embeddings : .chatCompletions)
            let providers = state.providers
            let metadata = record.observation
            return try await state.controls.cached(admitted, record: &record, scope: GatewayControls.compatScope(
                endpoint: endpoint.rawValue, request: compat, metadata: metadata.metadata, admitted: admitted, providers: providers
            )) { record in
                try await handler.complete(compat, record: &record)
            }
        }
    }

    @inline(never)
    private func universal(_ request: Request, gatewayName: String, record: inout RequestRecord) async throws -> Response {
        guard request.method == .post else {
            throw GatewayError.methodNotAllowed(request.method.rawValue, path: request.uri.path, allowed: ["POST"])
        }
        let admitted = try await GatewayRequest.admit(request, gatewayName: gatewayName, state: state, record: record)
        return try await UniversalHandler(state: state).handle(admitted, record: &record)
    }

    @inline(never)
    private func passthrough(_ request: Request, gatewayName: String, providerSegment: String, rest: String, record: inout RequestRecord) async throws -> Response {
        guard state.configuration.limits.passthroughMethods.contains(request.method.rawValue) else {
            throw GatewayError.methodNotAllowed(request.method.rawValue, path: request.uri.path, allowed: state.configuration.limits.passthroughMethods.sorted())
        }
        try PassthroughHandler.checkPath(rest)
        guard let provider = state.providers.provider(pathSlug: providerSegment) else {
            if rest.isEmpty { throw GatewayError.notFound(request.uri.path) }
            throw GatewayError.invalidProvider(
                "unknown provider '\(GatewayError.shown(providerSegment))'" + (NameSuggestion.nearest(to: providerSegment, in: state.providers.providers.map(\.pathSlug)).map { "; did you mean '\($0)'?" } ?? "")
            )
        }
        let admitted = try await GatewayRequest.admit(request, gatewayName: gatewayName, state: state, record: record)
        let model = PassthroughHandler.model(in: admitted.body)
        let handler = PassthroughHandler(state: state)
        return try await state.controls.cached(admitted, record: &record, scope: GatewayControls.passthroughScope(provider: provider, admitted: admitted, model: model)) { record in
            try await handler.forward(admitted, provider: provider, rest: rest, model: model, record: &record)
        }
    }
}
