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
