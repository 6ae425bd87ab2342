import Foundation
import Hummingbird
import NIOCore
import SwitchyardCore
import SwitchyardProviders

/// `GET /admin/routes`: each route's version (content hash), source file, load time, last error
/// (while a broken file keeps the previous version serving) and last ten versions, newest first,
/// plus every current route error. `POST /admin/reload`: reload the configuration file and
/// recompile the routes directory now. `GET /admin/config`: the configuration's version, load time,
/// last reload error and the settings waiting for a restart.
struct AdminHandler {
    let state: GatewayState

    func handle(_ request: Request, rest: String, record: inout RequestRecord) async throws -> Response {
        switch rest {
        case "routes":
            guard request.method == .get || request.method == .head else {
                throw GatewayError.methodNotAllowed(request.method.rawValue, path: request.uri.path, allowed: ["GET"])
            }
            return json(await routesDocument(), record: record)
        case "reload":
            guard request.method == .post else {
                throw GatewayError.methodNotAllowed(request.method.rawValue, path: request.uri.path, allowed: ["POST"])
            }
            // The configuration first (routes compile against it), then every route file.
            var document: JSONValue
            if let reloader = state.reloader {
                let outcome = reloader.reload(force: true)
                ReloadService.reloadRoutes(
                    table: state.routeTable, directory: state.settings.latest.configuration.routesDirectory,
                    configuration: state.settings.latest.configuration, force: true, logger: state.logger
                )
                document = await routesDocument()
                if case .object(var object) = document {
                    object["configuration"] = configurationDocument()
                    if case .failed = outcome { object["configuration_reloaded"] = .bool(false) } else { object["configuration_reloaded"] = .bool(true) }
                    document = .object(object)
                }
            } else {
                state.routeTable.reload(directory: state.configuration.routesDirectory, configuration: state.configuration, force: true)
                document = await routesDocument()
            }
            return json(document, record: record)
        case "config":
            guard request.method == .get || request.method == .head else {
                throw GatewayError.methodNotAllowed(request.method.rawValue, path: request.uri.path, allowed: ["GET"])
            }
            return json(configurationDocument(), record: record)
        default:
            throw GatewayError.notFound(request.uri.path)
        }
    }

    /// `GET /admin/config`: which configuration serves and what the last reload said. No value of
    /// the configuration is shown: it holds secrets.
    func configurationDocument() -> JSONValue {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let current = state.settings.latest
        var object: [String: JSONValue] = [
            "version": .number(Double(current.version)),
            "loaded_at": .string(formatter.string(from: current.loadedAt)),
            "source": state.reloader.map { .string($0.source.path) } ?? .null,
            "reloadable": .bool(state.reloader != nil),
            "last_error": .null,
            "last_error_at": .null,
            "restart_required": .array([]),
        ]
        if let status = state.reloader?.status {
            object["last_error"] = status.lastError.map { .string(current.redactor.redact($0)) } ?? .null
            object["last_error_at"] = status.lastErrorAt.map { .string(formatter.string(from: $0)) } ?? .null
            object["restart_required"] = .array(status.restartRequired.map(JSONValue.string))
        }
        return .object(object)
    }

    func routesDocument() async -> JSONValue {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let catalog = state.routeTable.current
        let errorLines = catalog.errors.filter { $0.contains(": error:") }
        var routes: [JSONValue] = []
        for name in catalog.names {
            guard let graph = catalog.graphs[name] else { continue }
            let versions = state.routeTable.versions(of: name)
            let history = await RouteHistory.versions(of: name, kept: versions, store: state.routeVersions, logger: state.logger)
            let loadedAt = versions.last { $0.graph.version == graph.version }?.loadedAt
            // Errors of the route's own file: it failed to compile and this version stayed.
            let own = errorLines.filter { $0.hasPrefix(graph.sourcePath + ":") }
            routes.append(.object([
                "name": .string(name),
                "model": .string("dynamic/\(name)"),
                "version": .string(graph.version),
                "source": .string(graph.sourcePath),
                "loaded_at": loadedAt.map { .string(formatter.string(from: $0)) } ?? .null,
                "last_error": own.isEmpty ? .null : .string(own.joined(separator: "\n")),
                "versions": .array(history.map { v in
                    .object(["version": .string(v.version), "loaded_at": .string(formatter.string(from: Date(timeIntervalSince1970: v.loadedAt)))])
                }),
                "targets": Self.targetsDocument(state.routeTable.health.snapshot(of: graph, now: state.now())),
                "picks": Self.picksDocument(graph, stats: state.routeTable.picks, now: state.now()),
                "adaptive_splits": Self.adaptiveDocument(graph, feedback: state.routeTable.feedback, now: state.now()),
            ]))
        }
        return .object(["routes": .array(routes), "errors": .array(errorLines.map(JSONValue.string))])
    }

    /// Gated model nodes (`breaker`, `max_concurrency`) and their live state.
    static func targetsDocument(_ snapshots: [TargetHealth.Snapshot]) -> JSONValue {
        .array(snapshots.map { s in
            var o: [String: JSONValue] = ["node": .string(s.key.node), "target": .string(s.key.target.description), "in_flight": .number(Double(s.inFlight))]
            if let b = s.key.breaker {
                o["breaker"] = .object([
                    "state": .string(s.state.name), "recent_failures": .number(Double(s.recentFailures)),
                    "failures": .number(Double(b.failures)), "within_s": .number(b.within), "cooldown_s": .number(b.cooldown),
                ])
            }
            if let c = s.key.maxConcurrency { o["max_concurrency"] = .number(Double(c)) }
            return .object(o)
        })
    }

    /// `pick:` nodes and the live figures of their arms (seconds for latency and ttft, USD for cost).
    static func picksDocument(_ graph: RouteGraph, stats: PickStats, now: Double) -> JSONValue {
        .array(graph.nodes.compactMap { node -> JSONValue? in
            guard case .pick(let p) = node.kind else { return nil }
            let figures = stats.figures(p.key, now: now)
            return .object([
                "node": .string(node.name), "by": .string(p.spec.by.rawValue), "window_s": .number(p.spec.window), "explore": .number(p.spec.explore),
                "arms": .array(zip(p.arms, figures).map { arm, f in
                    .object(["node": .string(graph.nodes[arm].name), "value": f.value.map(JSONValue.number) ?? .null,
                             "error_rate": f.errorRate.map(JSONValue.number) ?? .null, "samples": .number((f.weight * 10).rounded() / 10)])
                }),
            ])
        })
    }

    /// Adaptive splits: each arm's written weight, live share (percent) and decayed verdicts.
    static func adaptiveDocument(_ graph: RouteGraph, feedback: FeedbackStats, now: Double) -> JSONValue {
        .array(graph.nodes.compactMap { node -> JSONValue? in
            guard case .split(let s) = node.kind, let key = s.feedbackKey else { return nil }
            let shares = feedback.shares(key, prior: s.arms.map(\.weight), now: now)
            let counts = feedback.counts(key, now: now)
            return .object([
                "node": .string(node.name),
                "arms": .array(s.arms.indices.map { i in
                    .object(["node": .string(graph.nodes[s.arms[i].target].name), "weight": .number(s.arms[i].weight),
                             "share": .number((shares[i] * 1000).rounded() / 10),
                             "positive": .number((counts[i].positive * 10).rounded() / 10), "negative": .number((counts[i].negative * 10).rounded() / 10)])
                }),
            ])
        })
    }

    func json(_ value: JSONValue, record: RequestRecord) -> Response {
        var headers = record.headers()
        headers[.contentType] = "application/json"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: value.canonicalJSON)))
    }
}
