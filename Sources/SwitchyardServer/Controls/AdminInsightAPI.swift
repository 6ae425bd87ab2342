import Foundation
import Hummingbird
import NIOCore
import SwitchyardCore
import SwitchyardProviders

/// The admin endpoints the dashboard reads beside `/admin/logs` and `/admin/routes`
/// (docs/dashboard.md); scripts may use them the same way:
///
/// - `GET /admin/stats?since=1h&bucket=1m`: totals, time buckets (requests, errors, cached, tokens,
///   cost, p50/p99 duration) and per-model / per-provider breakdowns, from the request log.
/// - `GET /admin/routes/{name}` (`?version=HASH` for a kept older version): the compiled graph as
///   nodes and labelled edges, with each node's source line:column and a Mermaid rendering.
/// - `GET /admin/limits`: every rate-limit and budget node (routes and gateways) with its
///   configuration and the use of its busiest keys now.
struct AdminInsightAPI {
    let state: GatewayState
    var controls: GatewayControls { state.controls }

    /// Most buckets one stats answer holds; most request-log rows it reads.
    static let maxBuckets = 1000
    static let maxSamples = 200_000
    /// Keys shown per limit node (the busiest first).
    static let maxKeysPerNode = 100

    /// The answer for `/admin/stats`, `/admin/limits`, `/admin/routes/{name}`; nil for other paths.
    /// `parts` are the path's segments (`["admin", ...]`); the caller has authorised the request.
    func respond(_ request: Request, parts: [String]) async throws -> Response? {
        switch (parts.count, parts[1]) {
        case (2, "stats"):
            try Self.onlyGet(request)
            return try await stats(request)
        case (2, "limits"):
            try Self.onlyGet(request)
            return Self.json(limitsDocument(now: controls.now()))
        case (3, "routes"):
            try Self.onlyGet(request)
            return Self.json(try await routeDocument(name: parts[2], version: request.uri.queryParameters["version"].map(String.init)))
        default:
            return nil
        }
    }

    static func onlyGet(_ request: Request) throws(GatewayError) {
        guard request.method == .get || request.method == .head else {
            throw GatewayError.methodNotAllowed(request.method.rawValue, path: request.uri.path, allowed: ["GET"])
        }
    }

    // MARK: Stats

    /// Bucket widths picked when `bucket` is absent: the smallest giving at most 60 buckets.
    static let niceBuckets: [Double] = [1, 5, 10, 30, 60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 86400, 7 * 86400]

    /// `since` (unix seconds or a duration back from now; default 1h) and `bucket` (a duration;
    /// default: about 60 buckets). At most `maxBuckets` buckets.
    static func statsRange(_ request: Request, now: Double) throws(GatewayError) -> (since: Double, bucket: Double) {
        let parameters = request.uri.queryParameters
        var since = now - 3600
        if let text = parameters["since"] {
            guard let t = AdminAPI.sinceTime(String(text), now: now), t <= now, now - t <= 400 * 86400 else {
                throw .invalidRequest("since must be unix seconds or a duration such as 15m, 1h or 7d (at most 400d back), got '\(text.prefix(100))'")
            }
            since = t
        }
        let span = max(now - since, 1)
        let bucket: Double
        if let text = parameters["bucket"] {
            guard text.utf8.count <= 20, let b = DurationText.parse(String(text)), b >= 1, b <= 400 * 86400 else {
                throw .invalidRequest("bucket must be a duration from 1s to 400d such as 10s, 1m or 1h, got '\(text.prefix(100))'")
            }
            bucket = b
        } else {
            bucket = niceBuckets.first { span / $0 <= 60 } ?? niceBuckets.last!
        }
        guard span / bucket < Double(maxBuckets) else {
            throw .invalidRequest("since/bucket would make \(Int(span / bucket) + 1) buckets; at most \(maxBuckets): choose a wider bucket")
        }
        return (since, bucket)
    }

    func stats(_ request: Request) async throws -> Response {
        guard let store = controls.writer?.store else {
            throw GatewayError(.unavailable, status: 503, message: "the request log is not enabled (no storage)")
        }
        let now = controls.now()
        let (since, bucket) = try Self.statsRange(request, now: now)
        let samples = try await store.samples(since: since, limit: Self.maxSamples)
        let stats = RequestLogStats.compute(samples, since: since, until: now, bucket: bucket)
        var result = Self.json(stats)
        if case .object(var object) = result {
            // Only the newest maxSamples rows were read: older buckets are incomplete.
            object["truncated"] = .bool(samples.count >= Self.maxSamples)
            result = .object(object)
        }
        return Self.json(["success": .bool(true), "result": result])
    }

    static func json(_ stats: RequestLogStats) -> JSONValue {
        func bucket(_ b: RequestLogStats.Bucket) -> JSONValue {
            .object([
                "start": .number(b.start), "requests": .number(Double(b.requests)), "errors": .number(Double(b.errors)),
                "cached": .number(Double(b.cached)), "tokens_in": .number(Double(b.tokensIn)), "tokens_out": .number(Double(b.tokensOut)),
                "cost": .number(b.cost), "p50_ms": b.p50Ms.map(JSONValue.number) ?? .null, "p99_ms": b.p99Ms.map(JSONValue.number) ?? .null,
                "cache_hit_rate": b.cacheHitRate.map(JSONValue.number) ?? .null,
            ])
        }
        func group(_ g: RequestLogStats.Group) -> JSONValue {
            .object([
                "name": .string(g.name), "requests": .number(Double(g.requests)), "errors": .number(Double(g.errors)),
                "tokens_in": .number(Double(g.tokensIn)), "tokens_out": .number(Double(g.tokensOut)), "cost": .number(g.cost),
            ])
        }
        return .object([
            "since": .number(stats.since), "until": .number(stats.until), "bucket_seconds": .number(stats.bucketSeconds),
            "totals": bucket(stats.totals), "buckets": .array(stats.buckets.map(bucket)),
            "models": .array(stats.models.map(group)), "providers": .array(stats.providers.map(group)),
        ])
    }

    // MARK: Route graph

    func routeDocument(name: String, version: String?) async throws(GatewayError) -> JSONValue {
        let versions = state.routeTable.versions(of: name)
        guard let current = state.routeTable.current.graphs[name] else {
            throw GatewayError(.notFound, status: 404, message: "no route named '\(GatewayError.shown(name))'")
        }
        var graph = current
        if let version {
            if let kept = versions.first(where: { $0.graph.version == version }) {
                graph = kept.graph
            } else {
                // Another instance's version, or one from before a restart: compiled from its stored source.
                let stored: RouteGraph?
                do {
                    stored = try await RouteHistory.graph(of: name, version: version, store: state.routeVersions,
                                                          options: RouteCompilerOptions(configuration: state.configuration))
                } catch {
                    throw GatewayError(.unavailable, status: 503, message: "route versions cannot be read from storage now")
                }
                guard let stored, stored.name == name else {
                    throw GatewayError(.notFound, status: 404, message: "route '\(GatewayError.shown(name))' has no kept version '\(GatewayError.shown(version))'")
                }
                graph = stored
            }
        }
        let nodes: [JSONValue] = graph.nodes.enumerated().map { i, node in
            var object: [String: JSONValue] = [
                "index": .number(Double(i)), "name": .string(node.name), "kind": .string(Self.kindName(node)),
                "detail": .string(RouteGraphRenderer.detail(of: node)),
                "edges": .array(RouteGraphEdges.labelled(node).map { .object(["label": .string($0.label), "target": .number(Double($0.target))]) }),
                "line": .null, "column": .null,
            ]
            if let location = node.location {
                object["line"] = .number(Double(location.line))
                object["column"] = .number(Double(location.column))
            }
            return .object(object)
        }
        let errors = state.routeTable.current.errors.filter { $0.contains(": error:") && $0.hasPrefix(current.sourcePath + ":") }
        return .object([
            "success": .bool(true),
            "result": .object([
                "name": .string(graph.name), "version": .string(graph.version), "current": .bool(graph.version == current.version),
                "source": .string(graph.sourcePath), "description": graph.description.map(JSONValue.string) ?? .null,
                "start": .number(Double(graph.start)), "nodes": .array(nodes),
                "mermaid": .string(RouteGraphRenderer.mermaid(graph)),
                "errors": .array(errors.map(JSONValue.string)),
            ]),
        ])
    }

    static func kindName(_ node: RouteNode) -> String {
        switch node.kind {
        case .conditional: "conditional"
        case .split: "split"
        case .pick: "pick"
        case .rateLimit: "rate_limit"
        case .budget: "budget"
        case .model: "model"
        case .reject: "reject"
        }
    }

    // MARK: Limits

    /// Every limit node with its busiest keys. Use is read from the in-memory limit state (the
    /// authority every request consults); another store shows the configuration only.
    func limitsDocument(now: Double) -> JSONValue {
        let entries = (state.limits as? InMemoryLimitStore)?.entries()
        var rates: [String: [(key: String, counter: WindowCounter)]] = [:]
        var budgets: [String: [(key: String, state: InMemoryLimitStore.BudgetState)]] = [:]
        for (key, entry) in entries?.rates ?? [:] { rates[key.route + "\u{0}" + key.node, default: []].append((key.keyValue, entry.counter)) }
        for (key, entry) in entries?.budgets ?? [:] { budgets[key.route + "\u{0}" + key.node, default: []].append((key.keyValue, entry)) }

        func rateKeys(_ id: String, limit: Double, window: Seconds, technique: RouteNode.WindowTechnique) -> (JSONValue, Int) {
            var used: [(key: String, count: Double)] = []
            for entry in rates[id] ?? [] {
                let count = entry.counter.effectiveCount(now: now, window: window, technique: technique)
                if count > 0 { used.append((entry.key, count)) }
            }
            used.sort { $0.count != $1.count ? $0.count > $1.count : $0.key < $1.key }
            let shown: [JSONValue] = used.prefix(Self.maxKeysPerNode).map { item -> JSONValue in
                let object: [String: JSONValue] = [
                    "key": .string(LimitKeyText.display(item.key)), "used": .number(item.count), "remaining": .number(max(0, limit - item.count)),
                ]
                return .object(object)
            }
            return (.array(shown), used.count)
        }
        func budgetKeys(_ id: String, limit: Double, window: Seconds) -> (JSONValue, Int) {
            let start = WindowCounter.windowStart(for: now, window: window)
            var used: [(key: String, state: InMemoryLimitStore.BudgetState)] = (budgets[id] ?? []).filter {
                $0.state.windowStart == start && ($0.state.spent > 0 || $0.state.reserved > 0)
            }
            used.sort { a, b in
                let x = a.state.spent + a.state.reserved
                let y = b.state.spent + b.state.reserved
                return x != y ? x > y : a.key < b.key
            }
            let shown: [JSONValue] = used.prefix(Self.maxKeysPerNode).map { item -> JSONValue in
                let remaining = max(0, limit - item.state.spent - item.state.reserved)
                let object: [String: JSONValue] = [
                    "key": .string(LimitKeyText.display(item.key)), "spent": .number(item.state.spent),
                    "reserved": .number(item.state.reserved), "remaining": .number(remaining),
                ]
                return .object(object)
            }
            return (.array(shown), used.count)
        }

        var items: [JSONValue] = []
        for name in state.gateways.keys.sorted() {
            guard let rate = state.gateways[name]?.settings.rateLimit else { continue }
            let technique: RouteNode.WindowTechnique = rate.technique == .fixed ? .fixed : .sliding
            let (keys, count) = rateKeys("gateway\u{0}" + name, limit: Double(rate.limit), window: rate.per, technique: technique)
            items.append(.object([
                "scope": .string("gateway"), "route": .null, "gateway": .string(name), "node": .string(name), "kind": .string("rate_limit"),
                "limit": .number(Double(rate.limit)), "window": .string(DurationText.format(rate.per)), "window_seconds": .number(rate.per),
                "technique": .string(technique.rawValue), "key": .null, "keys": keys, "key_count": .number(Double(count)),
            ]))
        }
        let catalog = state.routeTable.current
        for name in catalog.names {
            guard let graph = catalog.graphs[name] else { continue }
            for node in graph.nodes {
                let id = graph.name + "\u{0}" + node.name
                switch node.kind {
                case .rateLimit(let r):
                    let (keys, count) = rateKeys(id, limit: r.limit, window: r.window, technique: r.technique)
                    items.append(.object([
                        "scope": .string("route"), "route": .string(graph.name), "gateway": .null, "node": .string(node.name), "kind": .string("rate_limit"),
                        "limit": .number(r.limit), "window": .string(DurationText.format(r.window)), "window_seconds": .number(r.window),
                        "technique": .string(r.technique.rawValue), "key": r.key.map { .string($0.description) } ?? .null,
                        "keys": keys, "key_count": .number(Double(count)),
                    ]))
                case .budget(let b):
                    let (keys, count) = budgetKeys(id, limit: b.limit, window: b.window)
                    items.append(.object([
                        "scope": .string("route"), "route": .string(graph.name), "gateway": .null, "node": .string(node.name), "kind": .string("budget"),
                        "limit": .number(b.limit), "window": .string(DurationText.format(b.window)), "window_seconds": .number(b.window),
                        "technique": .null, "key": b.key.map { .string($0.description) } ?? .null,
                        "keys": keys, "key_count": .number(Double(count)),
                    ]))
                default:
                    continue
                }
            }
        }
        var result: [String: JSONValue] = ["limits": .array(items), "now": .number(now)]
        if let store = state.limits as? InMemoryLimitStore {
            result["key_count"] = .number(Double(store.keyCount))
            result["max_keys"] = .number(Double(store.maxKeys))
        }
        return .object(["success": .bool(true), "result": .object(result)])
    }

    static func json(_ value: JSONValue) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: value.canonicalJSON)))
    }
    static func json(_ object: [String: JSONValue]) -> Response { json(.object(object)) }
}
