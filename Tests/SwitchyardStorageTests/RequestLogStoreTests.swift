import Foundation
import Logging
import Synchronization
import SwitchyardCore
import SwitchyardStorage
import Testing

@Suite struct RequestLogStoreTests {
    func record(_ i: Int, model: String = "openai/gpt-5-mini", status: Int = 200, metadata: [String: JSONValue] = [:]) -> RequestLogRecord {
        RequestLogRecord(
            id: String(format: "log-%05d", i), createdAt: 1_800_000_000 + Double(i), gateway: "default", provider: "openai",
            model: model, statusCode: status, success: status < 400, durationMs: Double(i),
            usage: Usage(promptTokens: 10 * i, completionTokens: i), cost: Double(i) / 1000, metadata: metadata)
    }

    @Test func filtersOrderAndPages() async throws {
        let db = try SQLiteDatabase(path: ":memory:")
        try await db.insert((1...30).map { i in
            record(i, model: i % 3 == 0 ? "anthropic/claude-haiku-4-5" : "openai/gpt-5-mini", status: i % 10 == 0 ? 500 : 200,
                   metadata: ["user": .string("u\(i % 4)"), "n": .number(Double(i))])
        })
        let all = try await db.query(RequestLogQuery(perPage: 7))
        #expect(all.total == 30)
        #expect(all.records.map(\.id) == (24...30).reversed().map { String(format: "log-%05d", $0) })

        let page2 = try await db.query(RequestLogQuery(orderBy: .createdAt, descending: false, page: 2, perPage: 10))
        #expect(page2.records.first?.id == "log-00011")

        let anthropic = try await db.query(RequestLogQuery(filters: [.init(.field(.model), .contains, .string("claude"))]))
        #expect(anthropic.total == 10)

        let failed = try await db.query(RequestLogQuery(filters: [.init(.field(.statusCode), .gt, .number(399))]))
        #expect(failed.records.map(\.id).sorted() == ["log-00010", "log-00020", "log-00030"])

        let user1 = try await db.query(RequestLogQuery(filters: [.init(.metadata("user"), .eq, .string("u1"))]))
        #expect(user1.total == 8)
        let notUser1 = try await db.query(RequestLogQuery(filters: [.init(.metadata("user"), .neq, .string("u1"))]))
        #expect(notUser1.total == 22)
        let bigN = try await db.query(RequestLogQuery(filters: [.init(.metadata("n"), .gt, .number(25))]))
        #expect(bigN.total == 5)
        let since = try await db.query(RequestLogQuery(since: 1_800_000_021))
        #expect(since.total == 10)
    }

    @Test func roundTripsEveryFieldAndPatches() async throws {
        let db = try SQLiteDatabase(path: ":memory:")
        var r = record(7, metadata: ["plan": .string("paid")])
        r.route = "customer-support@abc"
        r.routePath = "plan>paid-budget>claude"
        r.requestBody = #"{"model":"x"}"#
        r.timeToFirstByteMs = 12.5
        r.cachedTokensIn = 3
        try await db.insert([r])
        #expect(try await db.record(id: r.id) == r)

        let patched = try await db.patch(id: r.id, RequestLogPatch(feedback: 1, score: 0.9, metadata: ["reviewed": .bool(true)]))
        #expect(patched?.feedback == 1)
        #expect(patched?.metadata == ["plan": .string("paid"), "reviewed": .bool(true)])
        #expect(try await db.record(id: r.id)?.score == 0.9)
        #expect(try await db.patch(id: "nope", RequestLogPatch(feedback: 1)) == nil)
    }

    @Test func retentionByRowsAndAge() async throws {
        let db = try SQLiteDatabase(path: ":memory:")
        try await db.insert((1...100).map { record($0) })
        let byAge = try await db.prune(maxRows: nil, maxAge: 50, now: 1_800_000_100)
        #expect(byAge == 49)  // created at +1 … +49, strictly older than now − 50
        let byRows = try await db.prune(maxRows: 20, maxAge: nil, now: 1_800_000_100)
        #expect(byRows == 31)
        let left = try await db.query(RequestLogQuery(perPage: 1000))
        #expect(left.records.map(\.id).sorted() == (81...100).map { String(format: "log-%05d", $0) })
    }

    @Test func writerDropsWhenFullAndFlushesOnShutdown() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-log-\(UUID().uuidString).sqlite").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let db = try SQLiteDatabase(path: path)
        let writer = RequestLogWriter(store: db, capacity: 100, batchSize: 50, flushInterval: .seconds(3600), logger: Logger(label: "t"), now: { 1_800_000_000 })
        // Nothing runs the writer yet: the 101st record is dropped, not waited on.
        for i in 1...101 { writer.submit(record(i)) }
        #expect(writer.dropped == 1)
        #expect(writer.queueDepth == 100)

        // Shutdown before the first tick still writes everything accepted.
        let task = Task { await writer.run() }
        writer.finish()
        await task.value
        #expect(writer.queueDepth == 0)
        #expect(writer.written == 100)
        // A fresh connection sees every accepted record.
        let reopened = try SQLiteDatabase(path: path)
        #expect(try await reopened.query(RequestLogQuery()).total == 100)
    }

    /// Payloads are rendered by the writer when it writes their batch: never on the submitting
    /// request's path, and never for a record the full queue dropped. Their bytes count against
    /// `maxBytes` before they are rendered.
    @Test func payloadsAreRenderedByTheWriterOnlyForAcceptedRecords() async throws {
        let db = try SQLiteDatabase(path: ":memory:")
        let writer = RequestLogWriter(store: db, capacity: 2, maxBytes: 1 << 20, batchSize: 50, flushInterval: .seconds(3600), logger: Logger(label: "t"), now: { 1_800_000_000 })
        let renders = Mutex(0)
        func payload(_ i: Int) -> RequestLogWriter.Payload {
            .init(weight: 10) {
                renders.withLock { $0 += 1 }
                return ("request \(i)", "answer \(i)")
            }
        }
        #expect(writer.submit(record(1), payload: payload(1)))
        #expect(writer.submit(record(2), payload: payload(2)))
        #expect(!writer.submit(record(3), payload: payload(3)))
        #expect(renders.withLock { $0 } == 0)
        // A payload's weight alone can fill the queue's byte budget.
        let small = RequestLogWriter(store: db, capacity: 10, maxBytes: 4096, batchSize: 50, flushInterval: .seconds(3600), logger: Logger(label: "t"), now: { 1_800_000_000 })
        #expect(small.submit(record(4), payload: .init(weight: 3000) { (nil, nil) }))
        #expect(!small.submit(record(5), payload: .init(weight: 3000) { (nil, nil) }))

        await writer.flush()
        #expect(renders.withLock { $0 } == 2)
        let stored = try await db.query(RequestLogQuery(perPage: 10)).records.sorted { $0.id < $1.id }
        #expect(stored.map(\.requestBody) == ["request 1", "request 2"])
        #expect(stored.map(\.responseBody) == ["answer 1", "answer 2"])
    }

    @Test func tenThousandConcurrentSubmissionsAllLand() async throws {
        let db = try SQLiteDatabase(path: ":memory:")
        let writer = RequestLogWriter(store: db, capacity: 20_000, batchSize: 500, flushInterval: .milliseconds(20), logger: Logger(label: "t"), now: { 1_800_000_000 })
        let task = Task { await writer.run() }
        await withTaskGroup(of: Void.self) { group in
            for t in 0..<10 {
                group.addTask {
                    for i in 0..<1000 { writer.submit(self.record(t * 1000 + i)) }
                }
            }
        }
        task.cancel()
        await task.value
        #expect(writer.dropped == 0)
        #expect(try await db.query(RequestLogQuery()).total == 10_000)
    }
}
