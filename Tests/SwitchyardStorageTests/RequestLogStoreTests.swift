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
