import GRDB
import SwitchyardCore

/// The embedded default storage: one SQLite file in WAL mode, opened through GRDB.
///
/// `sqlite:switchyard.sqlite` in the configuration; `:memory:` for tests.
public final class SQLiteDatabase: Sendable {
    let writer: any DatabaseWriter

    /// Opens (creating if needed) the database at `path` and migrates it.
    public init(path: String) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        if path == ":memory:" {
            writer = try DatabaseQueue(configuration: configuration)
        } else {
            // DatabasePool turns WAL on: readers never block the background writer.
            writer = try DatabasePool(path: path, configuration: configuration)
        }
        try Self.migrator.migrate(writer)
    }

    /// Parses a storage URL of the configuration (`sqlite:PATH`, `sqlite://PATH`, or a bare path).
    public static func path(fromStorageURL url: String) -> String? {
        if url.hasPrefix("sqlite://") { return String(url.dropFirst("sqlite://".count)) }
        if url.hasPrefix("sqlite:") { return String(url.dropFirst("sqlite:".count)) }
        if url.contains("://") { return nil }
        return url
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1-limits") { db in
            try db.create(table: "limit_rate") { t in
                t.column("route", .text).notNull()
                t.column("node", .text).notNull()
                t.column("key_value", .text).notNull()
                t.column("window_start", .double).notNull()
                t.column("current", .double).notNull()
                t.column("previous", .double).notNull()
                t.primaryKey(["route", "node", "key_value"])
            }
            try db.create(table: "limit_budget") { t in
                t.column("route", .text).notNull()
                t.column("node", .text).notNull()
                t.column("key_value", .text).notNull()
                t.column("window_start", .double).notNull()
                t.column("spent", .double).notNull()
                t.primaryKey(["route", "node", "key_value"])
            }
        }
        m.registerMigration("v1-request-log") { db in
            try db.create(table: "request_log") { t in
                t.column("id", .text).primaryKey()
                t.column("created_at", .double).notNull().indexed()
                t.column("gateway", .text).notNull()
                t.column("account", .text).notNull()
                t.column("provider", .text).notNull()
                t.column("model", .text).notNull().indexed()
                t.column("route", .text).indexed()
                t.column("route_path", .text)
                t.column("step", .integer).notNull()
                t.column("path", .text).notNull()
                t.column("status_code", .integer).notNull()
                t.column("success", .boolean).notNull()
                t.column("cached", .boolean).notNull()
                t.column("stream", .boolean).notNull()
                t.column("duration", .double).notNull()
                t.column("ttfb", .double)
                t.column("tokens_in", .integer).notNull()
                t.column("tokens_out", .integer).notNull()
                t.column("cached_tokens_in", .integer).notNull()
                t.column("reasoning_tokens", .integer).notNull()
                t.column("cost", .double).notNull()
                t.column("metadata", .text).notNull()
                t.column("event_id", .text)
                t.column("user_agent", .text)
                t.column("request_size", .integer).notNull()
                t.column("response_size", .integer).notNull()
                t.column("request_body", .text)
                t.column("response_body", .text)
                t.column("feedback", .integer)
                t.column("score", .double)
            }
        }
        m.registerMigration("v2-limit-windows") { db in
            // The window each counter was last used with, so expired rows can be found and
            // deleted; NULL in rows written before.
            try db.alter(table: "limit_rate") { t in t.add(column: "window_seconds", .double) }
            try db.alter(table: "limit_budget") { t in t.add(column: "window_seconds", .double) }
        }
        m.registerMigration("v3-request-log-route-facts") { db in
            // `RouteFacts` as JSON text: what a dynamic route read of the request (`switchyard simulate`).
            try db.alter(table: "request_log") { t in t.add(column: "route_facts", .text) }
        }
        m.registerMigration("v4-route-versions") { db in
            try db.create(table: "route_versions") { t in
                t.column("route", .text).notNull()
                t.column("version", .text).notNull()
                t.column("source_path", .text).notNull()
                t.column("source", .text).notNull()
                t.column("first_loaded_at", .double).notNull()
                t.column("last_loaded_at", .double).notNull()
                t.primaryKey(["route", "version"])
            }
            try db.create(index: "route_versions_first_loaded", on: "route_versions", columns: ["route", "first_loaded_at"])
        }
        return m
    }
}

extension SQLiteDatabase: LimitSnapshotStore {
    public func loadLimitSnapshot() async throws -> LimitSnapshot {
        try await writer.read { db in
            var snapshot = LimitSnapshot()
            for row in try Row.fetchAll(db, sql: "SELECT route, node, key_value, window_start, current, previous, window_seconds FROM limit_rate") {
                let key = LimitKey(route: row["route"], node: row["node"], keyValue: row["key_value"])
                snapshot.rates[key] = WindowCounter(windowStart: row["window_start"], current: row["current"], previous: row["previous"])
                if let window: Double = row["window_seconds"] { snapshot.windows[key] = window }
            }
            for row in try Row.fetchAll(db, sql: "SELECT route, node, key_value, window_start, spent, window_seconds FROM limit_budget") {
                let key = LimitKey(route: row["route"], node: row["node"], keyValue: row["key_value"])
                snapshot.budgets[key] = InMemoryLimitStore.BudgetState(windowStart: row["window_start"], spent: row["spent"], reserved: 0)
                if let window: Double = row["window_seconds"] { snapshot.windows[key] = window }
            }
            return snapshot
        }
    }

    public func saveLimitSnapshot(_ snapshot: LimitSnapshot) async throws {
        guard !snapshot.isEmpty else { return }
        try await writer.write { db in
            // Deletes first: a key both removed and written is written.
            if !snapshot.removedRates.isEmpty {
                let delete = try db.makeStatement(sql: "DELETE FROM limit_rate WHERE route = ? AND node = ? AND key_value = ?")
                for k in snapshot.removedRates { try delete.execute(arguments: [k.route, k.node, k.keyValue]) }
            }
            if !snapshot.removedBudgets.isEmpty {
                let delete = try db.makeStatement(sql: "DELETE FROM limit_budget WHERE route = ? AND node = ? AND key_value = ?")
                for k in snapshot.removedBudgets { try delete.execute(arguments: [k.route, k.node, k.keyValue]) }
            }
            let rate = try db.makeStatement(sql: """
                INSERT INTO limit_rate (route, node, key_value, window_start, current, previous, window_seconds) VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (route, node, key_value) DO UPDATE SET
                  window_start = excluded.window_start, current = excluded.current, previous = excluded.previous,
                  window_seconds = excluded.window_seconds
                """)
            for (k, c) in snapshot.rates {
                try rate.execute(arguments: [k.route, k.node, k.keyValue, c.windowStart, c.current, c.previous, snapshot.windows[k]])
            }
            let budget = try db.makeStatement(sql: """
                INSERT INTO limit_budget (route, node, key_value, window_start, spent, window_seconds) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (route, node, key_value) DO UPDATE SET
                  window_start = excluded.window_start, spent = excluded.spent, window_seconds = excluded.window_seconds
                """)
            for (k, b) in snapshot.budgets {
                try budget.execute(arguments: [k.route, k.node, k.keyValue, b.windowStart, b.spent, snapshot.windows[k]])
            }
        }
    }

    /// One DELETE per table: rate counters whose window and the one after it have passed,
    /// budgets whose window has passed (the expiries of `LimitSnapshot`). Rows without a recorded
    /// window are left to the in-memory store, which drops them when they expire.
    public func deleteExpiredLimitState(now: Double) async throws {
        try await writer.write { db in
            try db.execute(sql: "DELETE FROM limit_rate WHERE window_seconds IS NOT NULL AND window_start + 2 * window_seconds <= ?", arguments: [now])
            try db.execute(sql: "DELETE FROM limit_budget WHERE window_seconds IS NOT NULL AND window_start + window_seconds <= ?", arguments: [now])
        }
    }
}

extension SQLiteDatabase: RouteVersionStore {
    public func recordRouteVersion(_ record: RouteVersionRecord) async throws {
        try await writer.write { db in
            try db.execute(sql: """
                INSERT INTO route_versions (route, version, source_path, source, first_loaded_at, last_loaded_at) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (route, version) DO UPDATE SET last_loaded_at = max(last_loaded_at, excluded.last_loaded_at)
                """, arguments: [record.route, record.version, record.sourcePath, record.source, record.firstLoadedAt, record.lastLoadedAt])
            try db.execute(sql: """
                DELETE FROM route_versions WHERE route = ? AND version NOT IN (
                  SELECT version FROM route_versions WHERE route = ? ORDER BY first_loaded_at DESC, version LIMIT ?)
                """, arguments: [record.route, record.route, RouteVersionHistory.kept])
        }
    }

    public func routeVersions(route: String, limit: Int) async throws -> [RouteVersionRecord] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: """
                SELECT route, version, source_path, source, first_loaded_at, last_loaded_at FROM route_versions
                WHERE route = ? ORDER BY first_loaded_at DESC, version LIMIT ?
                """, arguments: [route, max(0, limit)]).map(Self.routeVersion(from:))
        }
    }

    public func routeVersion(route: String, version: String) async throws -> RouteVersionRecord? {
        try await writer.read { db in
            try Row.fetchOne(db, sql: """
                SELECT route, version, source_path, source, first_loaded_at, last_loaded_at FROM route_versions WHERE route = ? AND version = ?
                """, arguments: [route, version]).map(Self.routeVersion(from:))
        }
    }

    static func routeVersion(from row: Row) -> RouteVersionRecord {
        RouteVersionRecord(route: row["route"], version: row["version"], sourcePath: row["source_path"], source: row["source"],
                           firstLoadedAt: row["first_loaded_at"], lastLoadedAt: row["last_loaded_at"])
    }
}
