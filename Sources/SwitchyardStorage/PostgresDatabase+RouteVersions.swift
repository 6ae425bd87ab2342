import PostgresNIO
import SwitchyardCore

extension PostgresDatabase: RouteVersionStore {
    public func recordRouteVersion(_ record: RouteVersionRecord) async throws {
        // One statement: the upsert, then the versions beyond the newest `kept` of the route.
        try await rows("""
            WITH upsert AS (
              INSERT INTO route_versions (route, version, source_path, source, first_loaded_at, last_loaded_at)
              VALUES (\(record.route), \(record.version), \(record.sourcePath), \(record.source), \(record.firstLoadedAt), \(record.lastLoadedAt))
              ON CONFLICT (route, version) DO UPDATE SET last_loaded_at = greatest(route_versions.last_loaded_at, excluded.last_loaded_at)
              RETURNING 1)
            -- Same snapshot as the upsert: the new row is unseen here, so it is spared by name.
            DELETE FROM route_versions WHERE route = \(record.route) AND version NOT IN (
              SELECT version FROM route_versions WHERE route = \(record.route) ORDER BY first_loaded_at DESC, version LIMIT \(RouteVersionHistory.kept - 1))
              AND version <> \(record.version)
            """)
    }

    public func routeVersions(route: String, limit: Int) async throws -> [RouteVersionRecord] {
        try await rows("""
            SELECT route, version, source_path, source, first_loaded_at, last_loaded_at FROM route_versions
            WHERE route = \(route) ORDER BY first_loaded_at DESC, version LIMIT \(max(0, limit))
            """).map(Self.routeVersion(from:))
    }

    public func routeVersion(route: String, version: String) async throws -> RouteVersionRecord? {
        try await rows("""
            SELECT route, version, source_path, source, first_loaded_at, last_loaded_at FROM route_versions WHERE route = \(route) AND version = \(version)
            """).first.map(Self.routeVersion(from:))
    }

    static func routeVersion(from row: PostgresRow) throws -> RouteVersionRecord {
        let (route, version, path, source, first, last) = try row.decode((String, String, String, String, Double, Double).self)
        return RouteVersionRecord(route: route, version: version, sourcePath: path, source: source, firstLoadedAt: first, lastLoadedAt: last)
    }
}
