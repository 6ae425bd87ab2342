import Foundation
import GRDB
import SwitchyardCore

extension SQLiteDatabase: RequestLogStore {
    static let logColumns = """
        id, created_at, gateway, account, provider, model, route, route_path, step, path, status_code, success,
        cached, stream, duration, ttfb, tokens_in, tokens_out, cached_tokens_in, reasoning_tokens, cost, metadata,
        event_id, user_agent, request_size, response_size, request_body, response_body, feedback, score, route_facts
        """

    public func insert(_ records: [RequestLogRecord]) async throws {
        guard !records.isEmpty else { return }
        try await writer.write { db in
            let statement = try db.makeStatement(sql: """
                INSERT OR REPLACE INTO request_log (\(Self.logColumns))
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for original in records {
                let r = RequestLogRecord.withoutNUL(original)
                let values: [(any DatabaseValueConvertible)?] = [
                    r.id, r.createdAt, r.gateway, r.account, r.provider, r.model, r.route, r.routePath, r.step, r.path,
                    r.statusCode, r.success, r.cached, r.stream, r.durationMs, r.timeToFirstByteMs, r.tokensIn, r.tokensOut,
                    r.cachedTokensIn, r.reasoningTokens, r.cost, JSONValue.object(r.metadata).canonicalJSON, r.eventId,
                    r.userAgent, r.requestSize, r.responseSize, r.requestBody, r.responseBody, r.feedback, r.score, r.routeFacts?.jsonText,
                ]
                try statement.execute(arguments: StatementArguments(values))
            }
        }
    }

    public func query(_ query: RequestLogQuery) async throws -> (records: [RequestLogRecord], total: Int) {
        var clauses: [String] = []
        var arguments = StatementArguments()
        if let since = query.since {
            clauses.append("created_at >= ?")
            _ = arguments.append(contentsOf: [since])
        }
        for filter in query.filters {
            let column: String
            switch filter.subject {
            case .field(let f): column = f.rawValue
            case .metadata(let key):
                column = "json_extract(metadata, ?)"
                _ = arguments.append(contentsOf: ["$.\"\(key.replacingOccurrences(of: "\"", with: ""))\""])
            }
            let value = Self.databaseValue(filter.value)
            switch filter.op {
            case .eq: clauses.append("\(column) = ?")
            case .neq: clauses.append("(\(column) IS NULL OR \(column) != ?)")
            case .lt: clauses.append("\(column) < ?")
            case .gt: clauses.append("\(column) > ?")
            case .contains: clauses.append("instr(CAST(\(column) AS TEXT), ?) > 0")
            }
            if case .metadata = filter.subject, filter.op == .neq {
                // The path argument appears twice in the neq clause.
                if case .metadata(let key) = filter.subject {
                    _ = arguments.append(contentsOf: ["$.\"\(key.replacingOccurrences(of: "\"", with: ""))\""])
                }
            }
            _ = arguments.append(contentsOf: [value])
        }
        let whereSQL = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
        let order = "\(query.orderBy.rawValue) \(query.descending ? "DESC" : "ASC"), id \(query.descending ? "DESC" : "ASC")"
        // Saturating: page and per_page come from a query string.
        let (product, overflow) = max(0, query.page - 1).multipliedReportingOverflow(by: max(1, query.perPage))
        let offset = overflow ? Int.max : product
        let frozenArguments = arguments
        return try await writer.read { db in
            let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM request_log \(whereSQL)", arguments: frozenArguments) ?? 0
            let rows = try Row.fetchAll(
                db, sql: "SELECT \(Self.logColumns) FROM request_log \(whereSQL) ORDER BY \(order) LIMIT \(query.perPage) OFFSET \(offset)",
                arguments: frozenArguments)
            return (rows.map(Self.record(from:)), total)
        }
    }

    public func record(id: String) async throws -> RequestLogRecord? {
        try await writer.read { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.logColumns) FROM request_log WHERE id = ?", arguments: [id]).map(Self.record(from:))
        }
    }

    public func patch(id: String, _ patch: RequestLogPatch) async throws -> RequestLogRecord? {
        try await writer.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT \(Self.logColumns) FROM request_log WHERE id = ?", arguments: [id]) else { return nil }
            var record = Self.record(from: row)
            if let f = patch.feedback { record.feedback = f }
            if let s = patch.score { record.score = s }
            if let m = patch.metadata { record.metadata.merge(m) { _, new in new } }
            try db.execute(
                sql: "UPDATE request_log SET feedback = ?, score = ?, metadata = ? WHERE id = ?",
                arguments: [record.feedback, record.score, JSONValue.object(record.metadata).canonicalJSON, id])
            return record
        }
    }

    public func prune(maxRows: Int?, maxAge: Double?, now: Double) async throws -> Int {
        try await writer.write { db in
            var deleted = 0
            if let maxAge {
                try db.execute(sql: "DELETE FROM request_log WHERE created_at < ?", arguments: [now - maxAge])
                deleted += db.changesCount
            }
            if let maxRows {
                try db.execute(sql: """
                    DELETE FROM request_log WHERE id IN (
                      SELECT id FROM request_log ORDER BY created_at DESC, id DESC LIMIT -1 OFFSET ?)
                    """, arguments: [maxRows])
                deleted += db.changesCount
            }
            return deleted
        }
    }

    /// Only the chart columns: the bodies are never read.
    public func samples(since: Double, limit: Int) async throws -> [RequestLogSample] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: """
                SELECT created_at, success, cached, duration, tokens_in, tokens_out, cost, model, provider
                FROM request_log WHERE created_at >= ? ORDER BY created_at DESC LIMIT ?
                """, arguments: [since, max(0, limit)]).map { row in
                RequestLogSample(
                    createdAt: row["created_at"], success: row["success"], cached: row["cached"], durationMs: row["duration"],
                    tokensIn: row["tokens_in"], tokensOut: row["tokens_out"], cost: row["cost"], model: row["model"], provider: row["provider"])
            }
        }
    }

    static func databaseValue(_ v: JSONValue) -> DatabaseValue {
        switch v {
        case .null: .null
        case .bool(let b): b.databaseValue
        case .number(let n): n.databaseValue
        case .string(let s): s.databaseValue
        default: v.canonicalJSON.databaseValue
        }
    }

    static func record(from row: Row) -> RequestLogRecord {
        let metadataText: String = row["metadata"] ?? "{}"
        let metadata = (try? JSONValue.parse(metadataText))?.objectValue ?? [:]
        let factsText: String? = row["route_facts"]
        return RequestLogRecord(
            id: row["id"], createdAt: row["created_at"], gateway: row["gateway"], account: row["account"],
            provider: row["provider"], model: row["model"], route: row["route"], routePath: row["route_path"],
            step: row["step"], path: row["path"], statusCode: row["status_code"], success: row["success"],
            cached: row["cached"], stream: row["stream"], durationMs: row["duration"], timeToFirstByteMs: row["ttfb"],
            usage: Usage(promptTokens: row["tokens_in"], completionTokens: row["tokens_out"],
                         cachedPromptTokens: row["cached_tokens_in"], reasoningTokens: row["reasoning_tokens"]),
            cost: row["cost"], metadata: metadata, eventId: row["event_id"], userAgent: row["user_agent"],
            requestSize: row["request_size"], responseSize: row["response_size"], requestBody: row["request_body"],
            responseBody: row["response_body"], feedback: row["feedback"], score: row["score"],
            routeFacts: factsText.flatMap(RouteFacts.init(jsonText:)))
    }
}
