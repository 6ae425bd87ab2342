import Foundation
import PostgresNIO

extension PostgresDatabase {
    /// One schema version: applied once, in order, in a transaction of its own.
    struct Migration: Sendable {
        var version: Int
        var name: String
        var statements: [String]
    }

    /// Append only: a shipped migration never changes (instances of an older release may share
    /// the database during a rolling upgrade).
    static let migrations: [Migration] = [
        Migration(version: 1, name: "request-log-and-limits", statements: [
            """
            CREATE TABLE request_log (
              id text PRIMARY KEY, created_at double precision NOT NULL, gateway text NOT NULL, account text NOT NULL,
              provider text NOT NULL, model text NOT NULL, route text, route_path text, step bigint NOT NULL, path text NOT NULL,
              status_code bigint NOT NULL, success boolean NOT NULL, cached boolean NOT NULL, stream boolean NOT NULL,
              duration double precision NOT NULL, ttfb double precision, tokens_in bigint NOT NULL, tokens_out bigint NOT NULL,
              cached_tokens_in bigint NOT NULL, reasoning_tokens bigint NOT NULL, cost double precision NOT NULL,
              metadata jsonb NOT NULL, event_id text, user_agent text, request_size bigint NOT NULL, response_size bigint NOT NULL,
              request_body text, response_body text, feedback bigint, score double precision)
            """,
            "CREATE INDEX request_log_created_at ON request_log (created_at, id)",
            "CREATE INDEX request_log_model ON request_log (model)",
            "CREATE INDEX request_log_route ON request_log (route)",
            """
            CREATE TABLE limit_rate (
              route text NOT NULL, node text NOT NULL, key_value text NOT NULL, window_start double precision NOT NULL,
              current double precision NOT NULL, previous double precision NOT NULL, window_seconds double precision,
              PRIMARY KEY (route, node, key_value))
            """,
            """
            CREATE TABLE limit_budget (
              route text NOT NULL, node text NOT NULL, key_value text NOT NULL, window_start double precision NOT NULL,
              spent double precision NOT NULL, window_seconds double precision,
              PRIMARY KEY (route, node, key_value))
            """,
        ]),
        Migration(version: 2, name: "limit-leases", statements: [
            // What the instances together took of one counter's window: `granted` is capacity
            // handed out in leases (requests, or USD), never more than `capacity`.
            """
            CREATE TABLE limit_pool (
              route text NOT NULL, node text NOT NULL, key_value text NOT NULL, window_start double precision NOT NULL,
              capacity double precision NOT NULL, granted double precision NOT NULL, last_grant double precision NOT NULL,
              PRIMARY KEY (route, node, key_value))
            """,
            // One instance's share of a counter's window: what it was granted and, as of its last
            // report, used. When `expires_at` passes (the instance died) the unused rest returns
            // to the pool.
            """
            CREATE TABLE limit_lease (
              instance text NOT NULL, route text NOT NULL, node text NOT NULL, key_value text NOT NULL,
              window_start double precision NOT NULL, granted double precision NOT NULL, used double precision NOT NULL,
              expires_at double precision NOT NULL,
              PRIMARY KEY (instance, route, node, key_value))
            """,
            "CREATE INDEX limit_lease_expires ON limit_lease (expires_at)",
        ]),
        Migration(version: 3, name: "request-log-route-facts", statements: [
            // `RouteFacts` as JSON text: what a dynamic route read of the request (`switchyard simulate`).
            "ALTER TABLE request_log ADD COLUMN route_facts text",
        ]),
        Migration(version: 4, name: "route-versions", statements: [
            """
            CREATE TABLE route_versions (
              route text NOT NULL, version text NOT NULL, source_path text NOT NULL, source text NOT NULL,
              first_loaded_at double precision NOT NULL, last_loaded_at double precision NOT NULL,
              PRIMARY KEY (route, version))
            """,
            "CREATE INDEX route_versions_first_loaded ON route_versions (route, first_loaded_at)",
        ]),
        // The window length of pools and leases, so rows of ended windows can be deleted (NULL in
        // rows written before: left alone).
        Migration(version: 5, name: "limit-pool-windows", statements: [
            "ALTER TABLE limit_pool ADD COLUMN window_seconds double precision",
            "ALTER TABLE limit_lease ADD COLUMN window_seconds double precision",
        ]),
    ]

    public static var latestSchemaVersion: Int { migrations.last?.version ?? 0 }

    /// Brings the schema to the latest version; returns the migrations it applied. Safe when
    /// several instances start at once: each migration runs under a transaction-scoped advisory
    /// lock and re-checks the version inside it.
    @discardableResult
    public func migrate() async throws -> [String] {
        try await rows(PostgresQuery(unsafeSQL: "CREATE SCHEMA IF NOT EXISTS \"\(settings.schema)\""))
        try await rows("""
            CREATE TABLE IF NOT EXISTS switchyard_migrations (
              version integer PRIMARY KEY, name text NOT NULL, applied_at double precision NOT NULL)
            """)
        var applied: [String] = []
        for migration in Self.migrations {
            roundTrips.add(1)
            let did = try await client.withTransaction(logger: logger) { connection -> Bool in
                try await connection.query("SELECT pg_advisory_xact_lock(hashtext('switchyard-migrate:' || current_schema()))", logger: logger)
                var present = false
                for try await _ in try await connection.query("SELECT 1 FROM switchyard_migrations WHERE version = \(migration.version)", logger: logger) {
                    present = true
                }
                if present { return false }
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query(
                    "INSERT INTO switchyard_migrations (version, name, applied_at) VALUES (\(migration.version), \(migration.name), \(Date().timeIntervalSince1970))",
                    logger: logger)
                return true
            }
            if did { applied.append("\(migration.version) \(migration.name)") }
        }
        return applied
    }

    /// The highest applied version (0 for an empty database).
    public func schemaVersion() async throws -> Int {
        let r = try await rows("SELECT coalesce(max(version), 0) FROM switchyard_migrations")
        return try r.first?.decode(Int.self) ?? 0
    }

    /// Drops the configured schema with everything in it (tests; never called by the gateway).
    public func dropSchema() async throws {
        precondition(settings.schema != "public", "refusing to drop the public schema")
        try await rows(PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \"\(settings.schema)\" CASCADE"))
    }
}
