import Foundation
import Logging
import Synchronization
import SwitchyardCore
import SwitchyardStorage
import Testing

/// A request log whose database can be switched off.
final class FlakyStore: RequestLogStore {
    struct Down: Error {}
    let inner: SQLiteDatabase
    let down = Mutex(false)
    init() throws { inner = try SQLiteDatabase(path: ":memory:") }
    func check() throws { if down.withLock({ $0 }) { throw Down() } }
    func insert(_ records: [RequestLogRecord]) async throws { try check(); try await inner.insert(records) }
    func query(_ query: RequestLogQuery) async throws -> (records: [RequestLogRecord], total: Int) { try await inner.query(query) }
    func record(id: String) async throws -> RequestLogRecord? { try await inner.record(id: id) }
    func patch(id: String, _ patch: RequestLogPatch) async throws -> RequestLogRecord? { try await inner.patch(id: id, patch) }
    func prune(maxRows: Int?, maxAge: Double?, now: Double) async throws -> Int { try await inner.prune(maxRows: maxRows, maxAge: maxAge, now: now) }
}

@Suite struct SpoolingRequestLogStoreTests {
    func record(_ i: Int) -> RequestLogRecord {
        RequestLogRecord(id: "r\(i)", createdAt: 1_800_000_000 + Double(i), gateway: "default", provider: "openai", model: "m", statusCode: 200,
                         success: true, durationMs: 1, metadata: ["i": .number(Double(i))])
    }

    @Test func batchesRefusedByTheDatabaseAreSpooledAndReplayedAfterARestart() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("spool-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let base = try FlakyStore()
        let spool = try SpoolingRequestLogStore(base: base, directory: dir, maxBytes: 1 << 20, logger: Logger(label: "t"))
        try await spool.insert([record(1), record(2)])
        base.down.withLock { $0 = true }
        // The writer sees success: the batches are on disk.
        try await spool.insert([record(3), record(4)])
        try await spool.insert([record(5)])
        #expect(spool.spoolFileCount == 2 && spool.spooledRecords == 3)
        #expect(await spool.drain() == 0, "still down: nothing drained, nothing lost")
        #expect(spool.spoolFileCount == 2)

        // The gateway restarts while the database is still down, then the database comes back.
        let restarted = try SpoolingRequestLogStore(base: base, directory: dir, maxBytes: 1 << 20, logger: Logger(label: "t"))
        #expect(restarted.spoolFileCount == 2 && restarted.spoolBytes > 0)
        base.down.withLock { $0 = false }
        #expect(await restarted.drain() == 3)
        #expect(restarted.spoolFileCount == 0 && restarted.spoolBytes == 0)
        let all = try await base.query(RequestLogQuery(orderBy: .createdAt, descending: false))
        #expect(all.records.map(\.id) == ["r1", "r2", "r3", "r4", "r5"])
        #expect(all.records[2] == record(3), "every field survives the spool")
    }

    @Test func aFullSpoolRefusesTheBatch() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("spool-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let base = try FlakyStore()
        base.down.withLock { $0 = true }
        let spool = try SpoolingRequestLogStore(base: base, directory: dir, maxBytes: 1 << 16, logger: Logger(label: "t"))
        var refused = 0
        for i in 0..<200 {
            do { try await spool.insert((0..<10).map { record(i * 10 + $0) }) } catch { refused += 1 }
        }
        #expect(refused > 0 && spool.droppedBatches == refused)
        #expect(spool.spoolBytes <= 1 << 16)
    }
}
