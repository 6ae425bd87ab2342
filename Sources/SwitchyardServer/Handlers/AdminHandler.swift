import Foundation
import Hummingbird
import NIOCore
import SwitchyardCore
import SwitchyardProviders

/// `GET /admin/routes`: each route's version (content hash), source file, load time, last error
/// (while a broken file keeps the previous version serving) and last ten versions, newest first,
/// plus every current route error. `POST /admin/reload`: recompile the routes directory now.
///
/// The configuration has no admin token yet, so these are open: keep `listen.host` on loopback.
struct AdminHandler {
    let state: GatewayState

    func handle(_ request: Request, rest: String, record: inout RequestRecord) async throws -> Response {
        switch rest {
        case "routes":
            guard request.method == .get || request.method == .head else {
                throw GatewayError.methodNotAllowed(request.method.rawValue, path: request.uri.path, allowed: ["GET"])
            }
            return json(routesDocument(), record: record)
        case "reload":
            guard request.method == .post else {
                throw GatewayError.methodNotAllowed(request.method.rawValue, path: request.uri.path, allowed: ["POST"])
            }
            state.routeTable.reload(directory: state.configuration.routesDirectory, configuration: state.configuration, force: true)
            return json(routesDocument(), record: record)
        default:
            throw GatewayError.notFound(request.uri.path)
        }
    }

    func routesDocument() -> JSONValue {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let catalog = state.routeTable.current
        let errorLines = catalog.errors.filter { $0.contains(": error:") }
        let routes = catalog.names.compactMap { name -> JSONValue? in
            guard let graph = catalog.graphs[name] else { return nil }
            let versions = state.routeTable.versions(of: name)
            let loadedAt = versions.last { $0.graph.version == graph.version }?.loadedAt
            // Errors of the route's own file: it failed to compile and this version stayed.
            let own = errorLines.filter { $0.hasPrefix(graph.sourcePath + ":") }
            return .object([
                "name": .string(name),
                "model": .string("dynamic/\(name)"),
                "version": .string(graph.version),
                "source": .string(graph.sourcePath),
                "loaded_at": loadedAt.map { .string(formatter.string(from: $0)) } ?? .null,
                "last_error": own.isEmpty ? .null : .string(own.joined(separator: "\n")),
                "versions": .array(versions.reversed().map { v in
                    .object(["version": .string(v.graph.version), "loaded_at": .string(formatter.string(from: v.loadedAt))])
                }),
            ])
        }
        return .object(["routes": .array(routes), "errors": .array(errorLines.map(JSONValue.string))])
    }

    func json(_ value: JSONValue, record: RequestRecord) -> Response {
        var headers = record.headers()
        headers[.contentType] = "application/json"
        state.logRequest(record, status: 200)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: value.canonicalJSON)))
    }
}
