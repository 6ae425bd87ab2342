import PostgresNIO
import SwitchyardCore

/// Leases of shared limit capacity in PostgreSQL (`limit_pool`, `limit_lease`; see
/// `LeasedLimitStore` for the protocol and its bound). Each call is one statement, so one round
/// trip: the pool's row lock serialises instances taking from the same key.
extension PostgresDatabase: LeaseBackend {
    public func acquire(_ request: LeaseRequest, instance: String, expiresAt: Double) async throws -> Double {
        let k = request.key
        let window: Double? = request.window > 0 ? request.window : nil
        let rows = try await rows("""
            WITH pool AS (
              INSERT INTO limit_pool AS p (route, node, key_value, window_start, capacity, granted, last_grant, window_seconds)
              VALUES (\(k.route), \(k.node), \(k.keyValue), \(request.windowStart), \(request.capacity),
                      LEAST(\(request.amount), \(request.capacity)), LEAST(\(request.amount), \(request.capacity)), \(window))
              ON CONFLICT (route, node, key_value) DO UPDATE SET
                capacity = EXCLUDED.capacity,
                window_seconds = coalesce(EXCLUDED.window_seconds, p.window_seconds),
                last_grant = CASE WHEN p.window_start < EXCLUDED.window_start THEN EXCLUDED.last_grant
                                  WHEN p.window_start > EXCLUDED.window_start THEN 0
                                  ELSE GREATEST(0, LEAST(\(request.amount), EXCLUDED.capacity - p.granted)) END,
                granted = CASE WHEN p.window_start < EXCLUDED.window_start THEN EXCLUDED.granted
                               WHEN p.window_start > EXCLUDED.window_start THEN p.granted
                               ELSE p.granted + GREATEST(0, LEAST(\(request.amount), EXCLUDED.capacity - p.granted)) END,
                window_start = GREATEST(p.window_start, EXCLUDED.window_start)
              RETURNING last_grant
            ), lease AS (
              INSERT INTO limit_lease AS l (instance, route, node, key_value, window_start, granted, used, expires_at, window_seconds)
              SELECT \(instance), \(k.route), \(k.node), \(k.keyValue), \(request.windowStart), last_grant, 0, \(expiresAt), \(window) FROM pool
              ON CONFLICT (instance, route, node, key_value) DO UPDATE SET
                window_seconds = coalesce(EXCLUDED.window_seconds, l.window_seconds),
                granted = CASE WHEN l.window_start = EXCLUDED.window_start THEN l.granted + EXCLUDED.granted ELSE EXCLUDED.granted END,
                used = CASE WHEN l.window_start = EXCLUDED.window_start THEN l.used ELSE 0 END,
                window_start = EXCLUDED.window_start, expires_at = EXCLUDED.expires_at
            )
            SELECT last_grant FROM pool
            """)
        return try rows.first?.decode(Double.self) ?? 0
    }

    public func report(_ usage: [LeaseUsage], instance: String, expiresAt: Double, now: Double) async throws {
        let a = Self.arrays(usage)
        try await rows("""
            WITH renew AS (
              UPDATE limit_lease l SET expires_at = \(expiresAt),
                used = coalesce((SELECT v.used FROM unnest(\(a.routes)::text[], \(a.nodes)::text[], \(a.values)::text[], \(a.starts)::float8[], \(a.used)::float8[])
                                   AS v(route, node, key_value, window_start, used)
                                 WHERE v.route = l.route AND v.node = l.node AND v.key_value = l.key_value AND v.window_start = l.window_start
                                 LIMIT 1), l.used)
              WHERE l.instance = \(instance)
            ), dead AS (
              DELETE FROM limit_lease WHERE expires_at < \(now) AND instance <> \(instance)
              RETURNING route, node, key_value, window_start, GREATEST(0, granted - used) AS unused
            )
            UPDATE limit_pool p SET granted = GREATEST(0, p.granted - d.unused)
            FROM (SELECT route, node, key_value, window_start, sum(unused) AS unused FROM dead GROUP BY 1, 2, 3, 4) d
            WHERE p.route = d.route AND p.node = d.node AND p.key_value = d.key_value AND p.window_start = d.window_start
            """)
    }

    public func release(_ usage: [LeaseUsage], instance: String) async throws {
        let a = Self.arrays(usage)
        try await rows("""
            WITH gone AS (
              DELETE FROM limit_lease l WHERE l.instance = \(instance)
              RETURNING route, node, key_value, window_start, GREATEST(0, granted - coalesce(
                (SELECT v.used FROM unnest(\(a.routes)::text[], \(a.nodes)::text[], \(a.values)::text[], \(a.starts)::float8[], \(a.used)::float8[])
                   AS v(route, node, key_value, window_start, used)
                 WHERE v.route = l.route AND v.node = l.node AND v.key_value = l.key_value AND v.window_start = l.window_start
                 LIMIT 1), used)) AS unused
            )
            UPDATE limit_pool p SET granted = GREATEST(0, p.granted - d.unused)
            FROM (SELECT route, node, key_value, window_start, sum(unused) AS unused FROM gone GROUP BY 1, 2, 3, 4) d
            WHERE p.route = d.route AND p.node = d.node AND p.key_value = d.key_value AND p.window_start = d.window_start
            """)
    }

    /// One statement: leases, then pools, of windows that ended before `before`. A pool whose
    /// window ended is never granted from again (a new window resets it), so deleting it changes
    /// no limit; a key seen again starts a new pool row.
    public func expireWindows(before: Double) async throws {
        try await rows("""
            WITH leases AS (
              DELETE FROM limit_lease WHERE window_seconds IS NOT NULL AND window_start + window_seconds < \(before)
            )
            DELETE FROM limit_pool WHERE window_seconds IS NOT NULL AND window_start + window_seconds < \(before)
            """)
    }

    static func arrays(_ usage: [LeaseUsage]) -> (routes: [String], nodes: [String], values: [String], starts: [Double], used: [Double]) {
        (usage.map(\.key.route), usage.map(\.key.node), usage.map(\.key.keyValue), usage.map(\.windowStart), usage.map(\.used))
    }
}

extension PostgresDatabase {
    /// What the instances together hold or used of a key's current pool (0 without one).
    public func poolGranted(_ key: LimitKey) async throws -> Double {
        try await rows("SELECT granted FROM limit_pool WHERE route = \(key.route) AND node = \(key.node) AND key_value = \(key.keyValue)")
            .first?.decode(Double.self) ?? 0
    }

    /// Rows in one of the gateway's own tables (tests and diagnostics).
    public func count(table: String) async throws -> Int {
        precondition(["limit_pool", "limit_lease", "route_versions", "request_log"].contains(table))
        return try await rows(PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(table)")).first?.decode(Int.self) ?? 0
    }
}
