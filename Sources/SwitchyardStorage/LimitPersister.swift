import Logging
import SwitchyardCore

/// Keeps an `InMemoryLimitStore` (the authority on the request path) durable: restores it at
/// startup and writes what changed every `interval` in the background, plus once at shutdown.
///
/// What a crash (`kill -9`) can lose: the counters changed within the last `interval`, and every
/// in-flight budget reservation (reservations are never persisted; their real cost is recorded
/// when the request ends, which a crashed process never sees).
public struct LimitPersister: Sendable {
    public let store: InMemoryLimitStore
    public let backend: any LimitSnapshotStore
    public let interval: Swift.Duration
    public let logger: Logger

    public init(store: InMemoryLimitStore, backend: any LimitSnapshotStore, interval: Swift.Duration = .milliseconds(500), logger: Logger) {
        self.store = store
        self.backend = backend
        self.interval = interval
        self.logger = logger
    }

    public func restore() async throws {
        let snapshot = try await backend.loadLimitSnapshot()
        store.restore(snapshot)
        logger.info("restored limit state", metadata: ["rates": "\(snapshot.rates.count)", "budgets": "\(snapshot.budgets.count)"])
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
