import Logging
import SwitchyardCore
import SwitchyardStorage

/// The configuration's `storage`, opened once: one database holds the request log and the limit
/// snapshots (two connections to one SQLite file would each run the migrations and contend for
/// SQLite's single writer).
public enum GatewayStorage {
    public struct Unsupported: Error, CustomStringConvertible {
        public let description: String
    }

    /// An open storage: what the gateway reads and writes, and how to close it.
    public struct Opened: Sendable {
        public let requestLog: any RequestLogStore
        /// Where limit state is persisted; nil for `memory` (limits start fresh).
        public let limitSnapshots: (any LimitSnapshotStore)?
        /// Route version history (`/admin/routes`): shared by the instances of one database.
        public let routeVersions: (any RouteVersionStore)?
        /// Set for `postgres://`: shared by several instances.
        public let postgres: PostgresDatabase?
        /// The schema migrations this open applied (empty when it was current).
        public let appliedMigrations: [String]

        /// Ends the PostgreSQL pool (after the last write); nothing for SQLite.
        public func close() async {
            await postgres?.shutdown()
        }
    }

    /// `sqlite:PATH` (WAL mode; durable), `memory` (an in-memory request log, limits that start
    /// fresh), or `postgres://USER:PASSWORD@HOST:PORT/DB[?sslmode=…&schema=…&pool=…]` (pooled;
    /// migrated here). Errors never contain the password.
    public static func open(_ storage: String, logger: Logger = Logger(label: "switchyard.storage")) async throws -> Opened {
        if storage == "memory" {
            let database = try SQLiteDatabase(path: ":memory:")
            return Opened(requestLog: database, limitSnapshots: nil, routeVersions: database, postgres: nil, appliedMigrations: [])
        }
        if PostgresDatabase.isPostgresURL(storage) {
            let database = try await PostgresDatabase.open(url: storage, logger: logger)
            return Opened(requestLog: database, limitSnapshots: database, routeVersions: database, postgres: database, appliedMigrations: database.lastMigrations)
        }
        guard let path = SQLiteDatabase.path(fromStorageURL: storage) else {
            throw Unsupported(description: "'\(storage)' is not sqlite:<file>, postgres://… or memory")
        }
        let database = try SQLiteDatabase(path: path)
        return Opened(requestLog: database, limitSnapshots: database, routeVersions: database, postgres: nil, appliedMigrations: [])
    }

    /// The storage URL as messages may show it (no password).
    public static func shown(_ storage: String) -> String {
        PostgresDatabase.isPostgresURL(storage) ? PostgresDatabase.redacted(storage) : storage
    }
}
