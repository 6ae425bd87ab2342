import Foundation
import Logging
import SwitchyardCore

/// Keeps an `InMemoryLimitStore` (the authority on the request path) durable: restores it at
/// startup and writes what changed every `interval` in the background, plus once at shutdown.
///
/// What a crash (`kill -9`) can lose: the counters changed within the last `interval`, and every
/// in-flight budget reservation (reservations are never persisted; their real cost is recorded
/// when the request ends, which a crashed process never sees).
///
/// The table stays as bounded as the store: counters the store evicts are deleted at the next
/// flush, and expired rows are deleted (not loaded) at restore.
public struct LimitPersister: Sendable {
    public let store: InMemoryLimitStore
    public let backend: any LimitSnapshotStore
    public let interval: Swift.Duration
    public let logger: Logger
    /// Unix seconds, for what has expired at restore; the clock the store's callers use.
    public let now: @Sendable () -> Double

    public init(
        store: InMemoryLimitStore, backend: any LimitSnapshotStore, interval: Swift.Duration = .milliseconds(500), logger: Logger,
        now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }
    ) {
        self.store = store
        self.backend = backend
        self.interval = interval
        self.logger = logger
        self.now = now
    }

    public func restore() async throws {
        let now = self.now()
        try await backend.deleteExpiredLimitState(now: now)
        let snapshot = try await backend.loadLimitSnapshot()
        store.restore(snapshot, now: now)
        logger.info("restored limit state", metadata: ["rates": "\(snapshot.rates.count)", "budgets": "\(snapshot.budgets.count)", "keys": "\(store.keyCount)"])
    }

    /// Writes what changed since the last flush.
    public func flush() async {
        let snapshot = store.drainSnapshot()
        guard !snapshot.isEmpty else { return }
        do {
            try await backend.saveLimitSnapshot(snapshot)
        } catch {
            // Put nothing back: the next change to these keys re-marks them; log and go on.
            logger.error("could not persist limit state", metadata: ["error": "\(error)"])
        }
    }

    /// Flushes every `interval` until cancelled, then once more.
    public func run() async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: interval) } catch { break }
            await flush()
        }
        await flush()
    }
}
