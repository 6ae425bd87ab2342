import Foundation
import PostgresNIO
import SwitchyardCore

extension PostgresDatabase: RequestLogStore {
    static let logColumns = SQLiteDatabase.logColumns
    static let logColumnCount = 31
    /// Rows per INSERT: 31 parameters each, under PostgreSQL's 65,535.
    static let insertChunk = 1000

    /// One multi-row INSERT per chunk; a record with an id already stored replaces it (as
    /// SQLite's INSERT OR REPLACE does), so a retried batch never duplicates.
    public func insert(_ records: [RequestLogRecord]) async throws {
        var start = 0
        while start < records.count {
            let chunk = records[start..<min(records.count, start + Self.insertChunk)]
            start += chunk.count
            var binds = PostgresBindings(capacity: chunk.count * Self.logColumnCount)
            var tuples: [String] = []
            tuples.reserveCapacity(chunk.count)
            for original in chunk {
                let r = RequestLogRecord.withoutNUL(original)
                let base = binds.count
                binds.append(r.id); binds.append(r.createdAt); binds.append(r.gateway); binds.append(r.account)
                binds.append(r.provider); binds.append(r.model); binds.append(r.route); binds.append(r.routePath)
                binds.append(r.step); binds.append(r.path); binds.append(r.statusCode); binds.append(r.success)
                binds.append(r.cached); binds.append(r.stream); binds.append(r.durationMs); binds.append(r.timeToFirstByteMs)
                binds.append(r.tokensIn); binds.append(r.tokensOut); binds.append(r.cachedTokensIn); binds.append(r.reasoningTokens)
                binds.append(r.cost); binds.append(JSONValue.object(r.metadata).canonicalJSON); binds.append(r.eventId)
                binds.append(r.userAgent); binds.append(r.requestSize); binds.append(r.responseSize); binds.append(r.requestBody)
                binds.append(r.responseBody); binds.append(r.feedback); binds.append(r.score)
                binds.append(r.routeFacts?.jsonText)
                let placeholders = (1...Self.logColumnCount).map { i in i == 22 ? "$\(base + i)::jsonb" : "$\(base + i)" }
                tuples.append("(" + placeholders.joined(separator: ",") + ")")
            }
            let updates = Self.logColumns.split(separator: ",").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
                .filter { $0 != "id" }.map { "\($0) = EXCLUDED.\($0)" }.joined(separator: ", ")
            let sql = "INSERT INTO request_log (\(Self.logColumns)) VALUES \(tuples.joined(separator: ",")) ON CONFLICT (id) DO UPDATE SET \(updates)"
            try await rows(PostgresQuery(unsafeSQL: sql, binds: binds))
        }
    }

    enum ColumnKind { case text, integer, real, boolean }

    static func kind(_ field: RequestLogQuery.Field) -> ColumnKind {
        switch field {
        case .id, .gateway, .account, .provider, .model, .route, .path, .eventId: .text
        case .step, .statusCode, .tokensIn, .tokensOut, .feedback: .integer
        case .createdAt, .duration, .cost, .score: .real
        case .success, .cached, .stream: .boolean
        }
    }

    /// Binds `value` as the column's type; nil when it cannot be one (the comparison then
    /// matches nothing, or everything for `neq`).
    static func bind(_ value: JSONValue, as kind: ColumnKind, into binds: inout PostgresBindings) -> Bool {
        switch (kind, value) {
        case (.text, .string(let s)): binds.append(s)
        case (.text, .number(let n)): binds.append(n == n.rounded() && abs(n) < 1e15 ? String(Int64(n)) : String(n))
        case (.text, .bool(let b)): binds.append(b ? "1" : "0")
        case (.integer, .number(let n)) where n.isFinite && n == n.rounded() && abs(n) < 9e18: binds.append(Int64(n))
        case (.integer, .bool(let b)): binds.append(Int64(b ? 1 : 0))
        case (.integer, .string(let s)) where Int64(s) != nil: binds.append(Int64(s)!)
        case (.real, .number(let n)): binds.append(n)
        case (.real, .bool(let b)): binds.append(b ? 1.0 : 0.0)
        case (.real, .string(let s)) where Double(s) != nil: binds.append(Double(s)!)
        case (.boolean, .bool(let b)): binds.append(b)
        case (.boolean, .number(let n)) where n == 0 || n == 1: binds.append(n == 1)
        default: return false
        }
        return true
    }

    public func query(_ query: RequestLogQuery) async throws -> (records: [RequestLogRecord], total: Int) {
        var clauses: [String] = []
        var binds = PostgresBindings()
        if let since = query.since {
            binds.append(since)
            clauses.append("created_at >= $\(binds.count)")
        }
        for filter in query.filters {
            switch filter.subject {
            case .field(let field):
                let column = field.rawValue
                let kind = Self.kind(field)
                if filter.op == .contains {
                    guard case .string(let s) = filter.value else {
                        binds.append(filter.value.canonicalJSON)
                        clauses.append("strpos(\(Self.textOf(column, kind)), $\(binds.count)) > 0")
                        continue
                    }
                    binds.append(s)
                    clauses.append("strpos(\(Self.textOf(column, kind)), $\(binds.count)) > 0")
                    continue
                }
                if case .null = filter.value {
                    // SQLite's `= NULL` matches nothing; `IS NULL OR != NULL` matches the NULLs.
                    clauses.append(filter.op == .neq ? "\(column) IS NULL" : "FALSE")
                    continue
                }
                guard Self.bind(filter.value, as: kind, into: &binds) else {
                    clauses.append(filter.op == .neq ? "TRUE" : "FALSE")
                    continue
                }
                let p = "$\(binds.count)"
                switch filter.op {
                case .eq: clauses.append("\(column) = \(p)")
                case .neq: clauses.append("(\(column) IS NULL OR \(column) != \(p))")
                case .lt: clauses.append("\(column) < \(p)")
                case .gt: clauses.append("\(column) > \(p)")
                case .contains: break
                }
            case .metadata(let key):
                binds.append(key)
                let value = "metadata -> $\(binds.count)"
                if filter.op == .contains {
                    // As SQLite's instr over json_extract: the text of a string, else its JSON.
                    let text: String
                    if case .string(let s) = filter.value { text = s } else { text = filter.value.canonicalJSON }
                    binds.append(text)
                    clauses.append("strpos(CASE jsonb_typeof(\(value)) WHEN 'string' THEN \(value) #>> '{}' ELSE (\(value))::text END, $\(binds.count)) > 0")
                    continue
                }
                binds.append(filter.value.canonicalJSON)
                let p = "$\(binds.count)::jsonb"
                switch filter.op {
                case .eq: clauses.append("\(value) = \(p)")
                case .neq: clauses.append("(\(value) IS NULL OR \(value) != \(p))")
                // jsonb orders numbers numerically and strings as text; values of different
                // types never match a range.
                case .lt: clauses.append("(jsonb_typeof(\(value)) = jsonb_typeof(\(p)) AND \(value) < \(p))")
                case .gt: clauses.append("(jsonb_typeof(\(value)) = jsonb_typeof(\(p)) AND \(value) > \(p))")
                case .contains: break
                }
            }
        }
        let whereSQL = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
        let direction = query.descending ? "DESC" : "ASC"
        let order = "\(query.orderBy.rawValue) \(direction) NULLS \(query.descending ? "LAST" : "FIRST"), id \(direction)"
        let (product, overflow) = max(0, query.page - 1).multipliedReportingOverflow(by: max(1, query.perPage))
        let offset = overflow ? Int.max : product
        let total = try await rows(PostgresQuery(unsafeSQL: "SELECT count(*) FROM request_log \(whereSQL)", binds: binds)).first?.decode(Int.self) ?? 0
        let found = try await rows(PostgresQuery(
            unsafeSQL: "SELECT \(Self.selectColumns) FROM request_log \(whereSQL) ORDER BY \(order) LIMIT \(query.perPage) OFFSET \(offset)", binds: binds))
        return (try found.map(Self.record(from:)), total)
    }

    static func textOf(_ column: String, _ kind: ColumnKind) -> String {
        switch kind {
        case .text: column
        case .boolean: "(\(column))::int::text"
        case .integer, .real: "(\(column))::text"
        }
    }

    /// The columns as read back: metadata as text.
    static var selectColumns: String { logColumns.replacingOccurrences(of: " metadata,", with: " metadata::text AS metadata,") }

    public func record(id: String) async throws -> RequestLogRecord? {
        try await rows("SELECT \(unescaped: Self.selectColumns) FROM request_log WHERE id = \(id)").first.map(Self.record(from:))
    }

    public func patch(id: String, _ patch: RequestLogPatch) async throws -> RequestLogRecord? {
        roundTrips.add(1)
        return try await client.withTransaction(logger: logger) { connection -> RequestLogRecord? in
            var found: PostgresRow?
            for try await row in try await connection.query("SELECT \(unescaped: Self.selectColumns) FROM request_log WHERE id = \(id) FOR UPDATE", logger: logger) {
                found = row
            }
            guard let found else { return nil }
            var record = try Self.record(from: found)
            if let f = patch.feedback { record.feedback = f }
            if let s = patch.score { record.score = s }
            if let m = patch.metadata { record.metadata.merge(m) { _, new in new } }
            try await connection.query(
                "UPDATE request_log SET feedback = \(record.feedback), score = \(record.score), metadata = \(JSONValue.object(record.metadata).canonicalJSON)::jsonb WHERE id = \(id)",
                logger: logger)
            return record
        }
    }

    public func prune(maxRows: Int?, maxAge: Double?, now: Double) async throws -> Int {
        var deleted = 0
        if let maxAge {
            deleted += try await rows("WITH d AS (DELETE FROM request_log WHERE created_at < \(now - maxAge) RETURNING 1) SELECT count(*) FROM d")
                .first?.decode(Int.self) ?? 0
        }
        if let maxRows {
            deleted += try await rows("""
                WITH d AS (DELETE FROM request_log WHERE id IN (
                  SELECT id FROM request_log ORDER BY created_at DESC, id DESC OFFSET \(max(0, maxRows))) RETURNING 1)
                SELECT count(*) FROM d
                """).first?.decode(Int.self) ?? 0
        }
        return deleted
    }

    static func record(from row: PostgresRow) throws -> RequestLogRecord {
        let r = row.makeRandomAccess()
        func v<T: PostgresDecodable>(_ name: String, _: T.Type = T.self) throws -> T { try r[name].decode(T.self) }
        let metadataText: String = try v("metadata")
        let metadata = (try? JSONValue.parse(metadataText))?.objectValue ?? [:]
        let factsText: String? = try v("route_facts")
        return RequestLogRecord(
            id: try v("id"), createdAt: try v("created_at"), gateway: try v("gateway"), account: try v("account"),
            provider: try v("provider"), model: try v("model"), route: try v("route"), routePath: try v("route_path"),
            step: try v("step"), path: try v("path"), statusCode: try v("status_code"), success: try v("success"),
            cached: try v("cached"), stream: try v("stream"), durationMs: try v("duration"), timeToFirstByteMs: try v("ttfb"),
            usage: Usage(promptTokens: try v("tokens_in"), completionTokens: try v("tokens_out"),
                         cachedPromptTokens: try v("cached_tokens_in"), reasoningTokens: try v("reasoning_tokens")),
            cost: try v("cost"), metadata: metadata, eventId: try v("event_id"), userAgent: try v("user_agent"),
            requestSize: try v("request_size"), responseSize: try v("response_size"), requestBody: try v("request_body"),
            responseBody: try v("response_body"), feedback: try v("feedback"), score: try v("score"),
            routeFacts: factsText.flatMap(RouteFacts.init(jsonText:)))
    }
}

extension PostgresDatabase: LimitSnapshotStore {
    public func loadLimitSnapshot() async throws -> LimitSnapshot {
        var snapshot = LimitSnapshot()
        for row in try await rows("SELECT route, node, key_value, window_start, current, previous, window_seconds FROM limit_rate") {
            let (route, node, value, start, current, previous, window) = try row.decode((String, String, String, Double, Double, Double, Double?).self)
            let key = LimitKey(route: route, node: node, keyValue: value)
            snapshot.rates[key] = WindowCounter(windowStart: start, current: current, previous: previous)
            if let window { snapshot.windows[key] = window }
        }
        for row in try await rows("SELECT route, node, key_value, window_start, spent, window_seconds FROM limit_budget") {
            let (route, node, value, start, spent, window) = try row.decode((String, String, String, Double, Double, Double?).self)
            let key = LimitKey(route: route, node: node, keyValue: value)
            snapshot.budgets[key] = InMemoryLimitStore.BudgetState(windowStart: start, spent: spent, reserved: 0)
            if let window { snapshot.windows[key] = window }
        }
        return snapshot
    }

    /// At most four statements whatever the number of keys: arrays are unnested server-side.
    public func saveLimitSnapshot(_ snapshot: LimitSnapshot) async throws {
        guard !snapshot.isEmpty else { return }
        for (table, keys) in [("limit_rate", snapshot.removedRates), ("limit_budget", snapshot.removedBudgets)] where !keys.isEmpty {
            let k = Array(keys)
            try await rows("""
                DELETE FROM \(unescaped: table) t USING unnest(\(k.map(\.route))::text[], \(k.map(\.node))::text[], \(k.map(\.keyValue))::text[]) AS d(route, node, key_value)
                WHERE t.route = d.route AND t.node = d.node AND t.key_value = d.key_value
                """)
        }
        if !snapshot.rates.isEmpty {
            let entries = Array(snapshot.rates)
            // NaN stands for "no window recorded" in the array (arrays of optionals do not bind).
            let windows = entries.map { snapshot.windows[$0.key] ?? .nan }
            try await rows("""
                INSERT INTO limit_rate (route, node, key_value, window_start, current, previous, window_seconds)
                SELECT route, node, key_value, window_start, current, previous, NULLIF(window_seconds, 'NaN')
                FROM unnest(\(entries.map(\.key.route))::text[], \(entries.map(\.key.node))::text[], \(entries.map(\.key.keyValue))::text[],
                            \(entries.map(\.value.windowStart))::float8[], \(entries.map(\.value.current))::float8[], \(entries.map(\.value.previous))::float8[],
                            \(windows)::float8[]) AS v(route, node, key_value, window_start, current, previous, window_seconds)
                ON CONFLICT (route, node, key_value) DO UPDATE SET
                  window_start = EXCLUDED.window_start, current = EXCLUDED.current, previous = EXCLUDED.previous,
                  window_seconds = EXCLUDED.window_seconds
                """)
        }
        if !snapshot.budgets.isEmpty {
            let entries = Array(snapshot.budgets)
            let windows = entries.map { snapshot.windows[$0.key] ?? .nan }
            try await rows("""
                INSERT INTO limit_budget (route, node, key_value, window_start, spent, window_seconds)
                SELECT route, node, key_value, window_start, spent, NULLIF(window_seconds, 'NaN')
                FROM unnest(\(entries.map(\.key.route))::text[], \(entries.map(\.key.node))::text[], \(entries.map(\.key.keyValue))::text[],
                            \(entries.map(\.value.windowStart))::float8[], \(entries.map(\.value.spent))::float8[],
                            \(windows)::float8[]) AS v(route, node, key_value, window_start, spent, window_seconds)
                ON CONFLICT (route, node, key_value) DO UPDATE SET
                  window_start = EXCLUDED.window_start, spent = EXCLUDED.spent, window_seconds = EXCLUDED.window_seconds
                """)
        }
    }

    public func deleteExpiredLimitState(now: Double) async throws {
        try await rows("DELETE FROM limit_rate WHERE window_seconds IS NOT NULL AND window_start + 2 * window_seconds <= \(now)")
        try await rows("DELETE FROM limit_budget WHERE window_seconds IS NOT NULL AND window_start + window_seconds <= \(now)")
    }
}
