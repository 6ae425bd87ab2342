import Synchronization
import SwitchyardCore

/// The providers' model lists behind `GET /compat/models`, fetched at most once per `ttl` however
/// many clients ask: concurrent requests share one fetch. Without it every call fanned out to every
/// provider with a key, so one client could multiply upstream traffic at will.
final class ModelListCache: Sendable {
    private struct State {
        var task: Task<[JSONValue], Never>?
        var fetchedAt: ContinuousClock.Instant?
    }

    let ttl: Duration
    private let state = Mutex(State())

    init(ttl: Duration = .seconds(60)) { self.ttl = ttl }

    func lists(fetch: @escaping @Sendable () async -> [JSONValue]) async -> [JSONValue] {
        let now = ContinuousClock.now
        let task = state.withLock { s -> Task<[JSONValue], Never> in
            if let task = s.task, let at = s.fetchedAt, now - at < ttl { return task }
            let task = Task { await fetch() }
            s.task = task
            s.fetchedAt = now
            return task
        }
        return await task.value
    }
}
