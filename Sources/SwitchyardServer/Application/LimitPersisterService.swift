import Foundation
import Logging
import ServiceLifecycle
import SwitchyardCore
import SwitchyardStorage

/// Runs a `LimitPersister` in the application's service group: flushes changed counters every
/// interval, and once more when the server has drained on shutdown.
struct LimitPersisterService: Service {
    let persister: LimitPersister

    func run() async throws {
        let persister = self.persister
        while !Task.isCancelled {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: persister.interval) }
            } catch {
                break
            }
            await persister.flush()
        }
        // In a task of its own: this one is cancelled by now, which would abort the write.
        await Task { await persister.flush() }.value
    }
}

/// The durable limit state of `serve`: the configured storage opened, the in-memory authority
/// restored from it, and the persister that keeps it written.
public enum LimitStorage {
    /// A store restored from `backend`, and its persister (nil without a backend).
    /// - Parameters:
    ///   - maxKeys: the store's cap on distinct keys (`limits.max_limit_keys`).
    ///   - now: the clock the requests use (what has expired at restore).
    public static func open(
        backend: (any LimitSnapshotStore)?, logger: Logger, maxKeys: Int = InMemoryLimitStore.defaultMaxKeys,
        now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }
    ) async throws -> (InMemoryLimitStore, LimitPersister?) {
        let store = InMemoryLimitStore(trackChanges: backend != nil, maxKeys: maxKeys)
        guard let backend else { return (store, nil) }
        let persister = LimitPersister(store: store, backend: backend, logger: logger, now: now)
        try await persister.restore()
        return (store, persister)
    }
}
