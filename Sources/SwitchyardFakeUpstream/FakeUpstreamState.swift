import Synchronization

/// Shared mutable state: recorded requests, counters, per-model failure counters and waiters.
final class FakeUpstreamState: Sendable {
    private struct Waiter {
        let condition: @Sendable (FakeUpstreamCounters) -> Bool
        let continuation: CheckedContinuation<Bool, Never>
    }

    private struct Storage {
        var configuration: FakeUpstreamConfiguration
        var requests: [RecordedRequest] = []
        var counters = FakeUpstreamCounters()
        var perModelRequests: [String: Int] = [:]
        var nextSerial = 1
        var nextConnection = 1
        var waiters: [Int: Waiter] = [:]
        var nextWaiter = 0
    }

    private let storage: Mutex<Storage>

    init(configuration: FakeUpstreamConfiguration) {
        storage = Mutex(Storage(configuration: configuration))
    }

    var configuration: FakeUpstreamConfiguration {
        storage.withLock { $0.configuration }
    }

    func updateConfiguration(_ change: (inout FakeUpstreamConfiguration) -> Void) {
        storage.withLock { change(&$0.configuration) }
    }

    var requests: [RecordedRequest] { storage.withLock { $0.requests } }
    var counters: FakeUpstreamCounters { storage.withLock { $0.counters } }

    func connectionOpened() -> Int {
        update { storage in
            storage.counters.openConnections += 1
            storage.counters.acceptedConnections += 1
            defer { storage.nextConnection += 1 }
            return storage.nextConnection
        }
    }

    func connectionClosed() { update { $0.counters.openConnections -= 1 } }
    func responseCancelled(stream: Bool) {
        update { storage in
            storage.counters.cancelledResponses += 1
            if stream { storage.counters.cancelledStreams += 1 }
        }
    }
    func streamCompleted() { update { $0.counters.completedStreams += 1 } }
    func connectionReset() { update { $0.counters.resets += 1 } }

    /// Records the request; returns its server-wide serial and the 1-based count of requests for `model`.
    func record(_ request: RecordedRequest, model: String?) -> (serial: Int, modelCount: Int) {
        update { storage in
            if storage.configuration.recordRequests { storage.requests.append(request) }
            storage.counters.requests += 1
            let serial = storage.nextSerial
            storage.nextSerial += 1
            var modelCount = 0
            if let model {
                modelCount = storage.perModelRequests[model, default: 0] + 1
                storage.perModelRequests[model] = modelCount
            }
            return (serial, modelCount)
        }
    }

    /// Resolves true as soon as `condition` holds, false after `timeout`.
    func wait(timeout: Duration, until condition: @escaping @Sendable (FakeUpstreamCounters) -> Bool) async -> Bool {
        await withCheckedContinuation { continuation in
            let id: Int? = storage.withLock { storage in
                if condition(storage.counters) { return nil }
                let id = storage.nextWaiter
                storage.nextWaiter += 1
                storage.waiters[id] = Waiter(condition: condition, continuation: continuation)
                return id
            }
            guard let id else {
                continuation.resume(returning: true)
                return
            }
            Task {
                try? await Task.sleep(for: timeout)
                let expired = self.storage.withLock { $0.waiters.removeValue(forKey: id) }
                expired?.continuation.resume(returning: false)
            }
        }
    }

    private func update<T>(_ change: (inout Storage) -> T) -> T {
        let (result, ready): (T, [Waiter]) = storage.withLock { storage in
            let result = change(&storage)
            var ready: [Waiter] = []
            for (id, waiter) in storage.waiters where waiter.condition(storage.counters) {
                ready.append(waiter)
                storage.waiters.removeValue(forKey: id)
            }
            return (result, ready)
        }
        for waiter in ready { waiter.continuation.resume(returning: true) }
        return result
    }
}
