import Foundation
import Logging
import Synchronization
import SwitchyardCore

/// A request log in a shared database that may be down: a batch the database refuses is
/// written to a local spool directory (one file per batch, bounded in bytes) and inserted again
/// when the database answers, also after a restart of the gateway. Reads go to the database.
///
/// Inserts are idempotent (a record's id replaces it), so a batch that was written just before a
/// crash and is replayed from the spool is not duplicated.
public final class SpoolingRequestLogStore: RequestLogStore, Sendable {
    public let base: any RequestLogStore
    public let directory: URL
    public let maxBytes: Int
    private let logger: Logger
    private let state = Mutex(State())

    struct State {
        var bytes = 0
        var files = 0
        var dropped = 0
        var spooled = 0
        var drained = 0
        /// When an insert last failed (monotonic): for a second after, batches go to the spool
        /// without waiting on the database (each wait may last the query timeout).
        var lastFailure: ContinuousClock.Instant?
    }

    public init(base: any RequestLogStore, directory: String, maxBytes: Int, logger: Logger) throws {
        self.base = base
        self.directory = URL(fileURLWithPath: directory, isDirectory: true)
        self.maxBytes = maxBytes
        self.logger = logger
        try FileManager.default.createDirectory(at: self.directory, withIntermediateDirectories: true)
        let files = spoolFiles()
        let bytes = files.reduce(0) { $0 + ((try? FileManager.default.attributesOfItem(atPath: $1.path)[.size] as? Int) ?? 0) }
        state.withLock { $0.bytes = bytes; $0.files = files.count }
    }

    /// Records waiting in the spool (files), their bytes, and batches dropped because it was full.
    public var spoolFileCount: Int { state.withLock { $0.files } }
    public var spoolBytes: Int { state.withLock { $0.bytes } }
    public var droppedBatches: Int { state.withLock { $0.dropped } }
    public var spooledRecords: Int { state.withLock { $0.spooled } }
    public var drainedRecords: Int { state.withLock { $0.drained } }

    public func insert(_ records: [RequestLogRecord]) async throws {
        guard !records.isEmpty else { return }
        // Just after a failure, with batches already spooled, the database is likely still down:
        // spool at once, so the writer keeps pace during an outage; the drain loop (every second)
        // finds out when it is back. Otherwise try it (it may be back) and spool on failure.
        let recentFailure = state.withLock { s in s.files > 0 && s.lastFailure.map { ContinuousClock.now - $0 < .seconds(1) } == true }
        if recentFailure {
            try spool(records, error: StorageError(description: "the database failed less than a second ago"))
            return
        }
        do {
            try await base.insert(records)
        } catch {
            state.withLock { $0.lastFailure = .now }
            try spool(records, error: error)
        }
    }

    func spool(_ records: [RequestLogRecord], error: any Error) throws {
        let encoder = JSONEncoder()
        var data = Data()
        for r in records {
            data.append(try encoder.encode(r))
            data.append(0x0A)
        }
        let fits = state.withLock { s -> Bool in
            guard s.bytes + data.count <= maxBytes else {
                s.dropped += 1
                return false
            }
            s.bytes += data.count
            s.files += 1
            return true
        }
        guard fits else {
            logger.error("request-log spool full; batch dropped", metadata: ["records": "\(records.count)", "spool_bytes": "\(spoolBytes)"])
            throw error
        }
        let name = String(format: "%017.6f", Date().timeIntervalSince1970) + "-" + UUID().uuidString + ".jsonl"
        let temporary = directory.appendingPathComponent("." + name)
        do {
            try data.write(to: temporary)
            try FileManager.default.moveItem(at: temporary, to: directory.appendingPathComponent(name))
        } catch {
            state.withLock { $0.bytes -= data.count; $0.files -= 1 }
            throw error
        }
        state.withLock { $0.spooled += records.count }
        logger.warning("request log database unavailable; batch spooled", metadata: ["records": "\(records.count)", "error": "\(PostgresDatabase.describe(error))"])
    }

    func spoolFiles() -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".jsonl") && !$0.hasPrefix(".") }.sorted().map { directory.appendingPathComponent($0) }
    }

    /// Inserts spooled batches, oldest first, until one fails; returns how many records went in.
    @discardableResult
    public func drain() async -> Int {
        var total = 0
        for file in spoolFiles() {
            guard let data = try? Data(contentsOf: file) else { continue }
            let decoder = JSONDecoder()
            let records = data.split(separator: 0x0A).compactMap { try? decoder.decode(RequestLogRecord.self, from: Data($0)) }
            do {
                try await base.insert(records)
            } catch {
                return total
            }
            try? FileManager.default.removeItem(at: file)
            state.withLock { $0.bytes = max(0, $0.bytes - data.count); $0.files = max(0, $0.files - 1); $0.drained += records.count }
            total += records.count
        }
        if total > 0 { logger.info("request-log spool drained", metadata: ["records": "\(total)"]) }
        return total
    }

    /// Drains every `interval` until cancelled.
    public func run(interval: Duration = .seconds(1)) async {
        while !Task.isCancelled {
            if spoolFileCount > 0 { await drain() }
            do { try await Task.sleep(for: interval) } catch { break }
        }
    }

    public func query(_ query: RequestLogQuery) async throws -> (records: [RequestLogRecord], total: Int) { try await base.query(query) }
    public func record(id: String) async throws -> RequestLogRecord? { try await base.record(id: id) }
    public func patch(id: String, _ patch: RequestLogPatch) async throws -> RequestLogRecord? { try await base.patch(id: id, patch) }
    public func prune(maxRows: Int?, maxAge: Double?, now: Double) async throws -> Int {
        try await base.prune(maxRows: maxRows, maxAge: maxAge, now: now)
    }
}
