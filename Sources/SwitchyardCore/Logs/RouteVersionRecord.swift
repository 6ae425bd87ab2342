/// One version of a route as storage keeps it: the source text it was compiled from, and when
/// any instance first and last loaded it. Instances sharing a database share the history.
public struct RouteVersionRecord: Sendable, Hashable {
    public var route: String
    /// The content hash (`RouteGraph.version`).
    public var version: String
    public var sourcePath: String
    public var source: String
    /// Unix seconds.
    public var firstLoadedAt: Double
    public var lastLoadedAt: Double

    public init(route: String, version: String, sourcePath: String, source: String, firstLoadedAt: Double, lastLoadedAt: Double) {
        self.route = route
        self.version = version
        self.sourcePath = sourcePath
        self.source = source
        self.firstLoadedAt = firstLoadedAt
        self.lastLoadedAt = lastLoadedAt
    }

    public init(_ graph: RouteGraph, loadedAt: Double) {
        self.init(route: graph.name, version: graph.version, sourcePath: graph.sourcePath, source: graph.source, firstLoadedAt: loadedAt, lastLoadedAt: loadedAt)
    }
}

/// Durable route version history, implemented by the storage layer (SQLite and PostgreSQL).
public protocol RouteVersionStore: Sendable {
    /// Records that `record.version` of `record.route` was loaded at `record.lastLoadedAt`: a new
    /// version is inserted, a known one keeps its first load and source and moves its last load.
    /// Keeps the newest `RouteVersionHistory.kept` versions of each route.
    func recordRouteVersion(_ record: RouteVersionRecord) async throws
    /// The route's versions, newest first load first, at most `limit`.
    func routeVersions(route: String, limit: Int) async throws -> [RouteVersionRecord]
    func routeVersion(route: String, version: String) async throws -> RouteVersionRecord?
}

public enum RouteVersionHistory {
    /// Versions kept per route in storage.
    public static let kept = 100
}
