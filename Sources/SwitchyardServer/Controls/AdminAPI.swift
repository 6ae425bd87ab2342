import Foundation
import Hummingbird
import NIOCore
import SwitchyardCore
import SwitchyardProviders

/// The request-log part of `/admin` (docs/admin-api.md):
///
/// - `GET /admin/logs?filter=FIELD:OP:VALUE&...&order_by=created_at&direction=desc&page=1&per_page=50&since=1h`
///   FIELD is a log field (`model`, `provider`, `status_code`, `cached`, ...) or `metadata.KEY`;
///   OP is `eq neq contains lt gt`. Filters are AND-joined.
/// - `GET /admin/logs/{id}` (and `/request`, `/response`: the stored bodies), `PATCH /admin/logs/{id}` with `{"feedback": -1|0|1, "score": n, "metadata": {...}}`.
///
/// Every `/admin/` path needs `Authorization: Bearer <admin.token>` when one is configured (401/2009).
struct AdminAPI {
    let state: GatewayState
    /// The peer is on this machine (loopback): without an admin token, only such peers get in.
    let peerIsLocal: Bool
    var controls: GatewayControls { state.controls }

    /// The response for `/admin/logs...`; nil for every other path (an authorised
    /// `/admin/...` path of another kind falls through to its own handler).
    func respond(_ request: Request) async throws -> Response? {
        let path = request.uri.path
        guard Self.isAdminPath(path) else { return nil }
        try authorize(request)
        let parts = path.split(separator: "/").map(String.init)
        if parts.count >= 2, let response = try await AdminInsightAPI(state: state).respond(request, parts: parts) { return response }
        guard parts.count >= 2, parts[1] == "logs" else { return nil }
        guard let store = controls.writer?.store else {
            throw GatewayError(.unavailable, status: 503, message: "the request log is not enabled (no storage)")
        }
        switch (request.method, parts.count) {
        case (.get, 2):
            return try await list(request, store: store)
        case (.get, 3):
            guard let record = try await store.record(id: parts[2]) else { throw Self.noSuchLog(parts[2]) }
            return Self.json(["success": .bool(true), "result": Self.json(record)])
        case (.get, 4) where parts[3] == "request" || parts[3] == "response":
            // Cloudflare's `/logs/{id}/request` and `/logs/{id}/response`: the stored body as it was.
            guard let record = try await store.record(id: parts[2]) else { throw Self.noSuchLog(parts[2]) }
            guard let body = parts[3] == "request" ? record.requestBody : record.responseBody else {
                throw GatewayError(.notFound, status: 404, message: "log '\(parts[2].prefix(100))' has no \(parts[3]) body (payload collection was off)")
            }
            let isJSON = body.first == "{" || body.first == "["
            return Response(
                status: .ok, headers: [.contentType: isJSON ? "application/json" : "text/plain; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: body))
            )
        case (.patch, 3):
            var request = request
            let body = try await request.collectBody(limit: 1 << 20)
            let patch = try Self.patch(body)
            // The verdict before, so that a changed one replaces it in adaptive splits.
            let before = patch.feedback == nil ? nil : try await store.record(id: parts[2])
            guard let record = try await store.patch(id: parts[2], patch) else { throw Self.noSuchLog(parts[2]) }
            if let verdict = patch.feedback, verdict != before?.feedback {
                Self.learn(verdict: verdict, previous: before?.feedback, from: record, state: state)
            }
            return Self.json(["success": .bool(true), "result": Self.json(record)])
        case (_, 2):
            throw GatewayError.methodNotAllowed(request.method.rawValue, path: path, allowed: ["GET"])
        case (_, 3):
            throw GatewayError.methodNotAllowed(request.method.rawValue, path: path, allowed: ["GET", "PATCH"])
        default:
            throw GatewayError.notFound(path)
        }
    }

    static func isAdminPath(_ path: String) -> Bool { path == "/admin" || path.hasPrefix("/admin/") }

    func authorize(_ request: Request) throws(GatewayError) {
        guard !controls.adminTokens.isEmpty else {
            // Safe by default: an open admin API (stored prompts and answers, reloads) answers only
            // this machine. The message says what to set, and never echoes anything of the request.
            guard peerIsLocal else {
                throw GatewayError(.unauthorized, status: 403, message: "Forbidden: /admin answers loopback clients only while no admin token is set; set admin.token in switchyard.yaml and send 'Authorization: Bearer <token>'")
            }
            return
        }
        let presented = (request.headers[.authorization] ?? request.headers[.cfAigAuthorization]).flatMap(ClientAuthentication.bearerValue)
        guard let presented, controls.adminTokens.contains(presented) else {
            throw .unauthorized(presented == nil
                ? "Unauthorized: /admin needs 'Authorization: Bearer <admin token>' (admin.token in switchyard.yaml)"
                : "Unauthorized: the admin token is not valid")
        }
    }

    static func noSuchLog(_ id: String) -> GatewayError {
        GatewayError(.notFound, status: 404, message: "no request log with id '\(id.prefix(100))'")
    }

    func list(_ request: Request, store: any RequestLogStore) async throws -> Response {
        let query = try Self.query(request, now: controls.now())
        let (records, total) = try await store.query(query)
        let info: [String: JSONValue] = [
            "page": .number(Double(query.page)), "per_page": .number(Double(query.perPage)),
            "count": .number(Double(records.count)), "total_count": .number(Double(total)),
        ]
        let result: [JSONValue] = records.map { Self.json($0) }
        return Self.json(["success": .bool(true), "result": .array(result), "result_info": .object(info)])
    }

    static let numericFields: Set<RequestLogQuery.Field> = [.createdAt, .step, .statusCode, .duration, .tokensIn, .tokensOut, .cost, .feedback, .score]
    static let booleanFields: Set<RequestLogQuery.Field> = [.success, .cached, .stream]

    /// `filter=FIELD:OP:VALUE` (repeatable), `order_by`, `direction`, `page`, `per_page`, `since`
    /// (unix seconds or a duration back from now such as `1h`).
    static func query(_ request: Request, now: Double) throws(GatewayError) -> RequestLogQuery {
        let parameters = request.uri.queryParameters
        var query = RequestLogQuery()
        let filters = parameters[values: "filter"]
        guard filters.count <= 20 else { throw .invalidRequest("at most 20 filters, got \(filters.count)") }
        for text in filters {
            query.filters.append(try filter(String(text)))
        }
        if let order = parameters["order_by"] {
            guard let field = RequestLogQuery.Field(rawValue: String(order)) else {
                throw .invalidRequest("order_by must be one of \(RequestLogQuery.Field.allCases.map(\.rawValue).joined(separator: ", ")), got '\(order.prefix(100))'")
            }
            query.orderBy = field
        }
        if let direction = parameters["direction"] ?? parameters["order_by_direction"] {
            switch direction.lowercased() {
            case "asc": query.descending = false
            case "desc": query.descending = true
            default: throw .invalidRequest("direction must be asc or desc, got '\(direction.prefix(100))'")
            }
        }
        if let page = parameters["page"] {
            // Bounded so that (page - 1) * per_page cannot overflow.
            guard page.utf8.count <= 8, let n = Int(page), (1...1_000_000).contains(n) else {
                throw .invalidRequest("page must be a number from 1 to 1000000, got '\(page.prefix(100))'")
            }
            query.page = n
        }
        if let perPage = parameters["per_page"] {
            guard let n = Int(perPage), (1...1000).contains(n) else { throw .invalidRequest("per_page must be a number from 1 to 1000, got '\(perPage.prefix(100))'") }
            query.perPage = n
        }
        if let since = parameters["since"] {
            guard let t = sinceTime(String(since), now: now) else {
                throw .invalidRequest("since must be unix seconds or a duration such as 15m, 1h or 2d, got '\(since.prefix(100))'")
            }
            query.since = t
        }
        return query
    }

    static func sinceTime(_ text: String, now: Double) -> Double? {
        if let t = Double(text), t > 1_000_000 { return t }
        return DurationText.parse(text).map { now - $0 }
    }

    static func filter(_ text: String) throws(GatewayError) -> RequestLogQuery.Filter {
        let parts = text.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3 else {
            throw .invalidRequest("filter must be FIELD:OP:VALUE (for example model:eq:openai/gpt-5-mini), got '\(text.prefix(200))'")
        }
        guard let op = RequestLogQuery.Operator(rawValue: parts[1]) else {
            throw .invalidRequest("filter operator must be one of eq, neq, contains, lt, gt, got '\(parts[1].prefix(50))'")
        }
        let value = parts[2]
        if parts[0].hasPrefix("metadata.") {
            let key = String(parts[0].dropFirst("metadata.".count))
            guard !key.isEmpty else { throw .invalidRequest("filter on metadata needs a key: metadata.KEY:OP:VALUE") }
            let typed: JSONValue = value == "true" ? .bool(true) : value == "false" ? .bool(false) : Double(value).map(JSONValue.number) ?? .string(value)
            return .init(.metadata(key), op, op == .contains ? .string(value) : typed)
        }
        guard let field = RequestLogQuery.Field(rawValue: parts[0]) else {
            throw .invalidRequest("unknown filter field '\(parts[0].prefix(50))'; fields: \(RequestLogQuery.Field.allCases.map(\.rawValue).joined(separator: ", ")), metadata.KEY")
        }
        if op == .contains { return .init(.field(field), op, .string(value)) }
        if numericFields.contains(field) {
            guard let n = Double(value) else { throw .invalidRequest("filter on \(field.rawValue) needs a number, got '\(value.prefix(50))'") }
            return .init(.field(field), op, .number(n))
        }
        if booleanFields.contains(field) {
            guard let b = BooleanText.parse(value) else { throw .invalidRequest("filter on \(field.rawValue) needs true or false, got '\(value.prefix(50))'") }
            return .init(.field(field), op, .bool(b))
        }
        return .init(.field(field), op, .string(value))
    }

    /// Feedback on a request a route served counts for the adaptive splits on its path, if the
    /// route still has them (the same node with the same arms).
    static func learn(verdict: Int, previous: Int?, from record: RequestLogRecord, state: GatewayState) {
        guard let route = record.route, let path = record.routePath, !path.contains("~mirror>"),
              let name = route.split(separator: "@").first.map(String.init), let graph = state.routes.graphs[name] else { return }
        state.routeTable.feedback.record(verdict: verdict, replacing: previous, routePath: path, graph: graph, now: state.now())
    }

    static func patch(_ body: ByteBuffer) throws(GatewayError) -> RequestLogPatch {
        guard let object = (try? JSONValue.parse(bytes: body.readableBytesView))?.objectValue else {
            throw .invalidRequest("PATCH /admin/logs/{id} needs a JSON object such as {\"feedback\": 1}")
        }
        var patch = RequestLogPatch()
        for (key, value) in object {
            switch key {
            case "feedback":
                if value == .null { continue }
                guard let n = value.numberValue, [-1.0, 0, 1].contains(n) else { throw .invalidRequest("feedback must be -1, 0 or 1") }
                patch.feedback = Int(n)
            case "score":
                if value == .null { continue }
                guard let n = value.numberValue, n.isFinite else { throw .invalidRequest("score must be a number") }
                patch.score = n
            case "metadata":
                if value == .null { continue }
                guard let m = value.objectValue, m.values.allSatisfy({ $0.objectValue == nil && $0.arrayValue == nil }) else {
                    throw .invalidRequest("metadata must be a flat JSON object of strings, numbers and booleans")
                }
                patch.metadata = m
            default:
                throw .invalidRequest("unknown field '\(key.prefix(50))' (feedback, score, metadata)")
            }
        }
        return patch
    }

    /// A record in the API's JSON: Cloudflare's snake_case field names.
    static func json(_ record: RequestLogRecord) -> JSONValue {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        guard let data = try? encoder.encode(record), let value = try? JSONValue.parse(data) else { return .null }
        return value
    }

    static func json(_ object: [String: JSONValue]) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: JSONValue.object(object).canonicalJSON)))
    }
}
