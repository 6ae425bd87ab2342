import Synchronization

/// The live state of every gated model target (`breaker:`, `max_concurrency:`): one circuit
/// breaker and one in-flight count per `TargetKey`, shared by all requests. Owned by the
/// server's `RouteTable`, so a reload that keeps a node as it was keeps its state. Pure: every
/// call takes the time.
///
/// Bounded: keys come from compiled routes, never from requests. Keys of nodes no route serves
/// any more are dropped by `retain(_:)` on reload once nothing is in flight for them.
public final class TargetHealth: TargetGate, Sendable {
    struct Entry: Sendable {
        var breaker: CircuitBreaker?
        var inFlight = 0
    }

    private let entries = Mutex<[TargetKey: Entry]>([:])
    /// Told of every breaker state change (route, target, new state): the metrics gauge.
    public let onChange = Mutex<(@Sendable (TargetKey, CircuitBreaker.State) -> Void)?>(nil)

    public init() {}

    public func admit(_ key: TargetKey, now: Double) -> TargetAdmission {
        var changed: CircuitBreaker.State?
        let admission: TargetAdmission = entries.withLock { entries in
            var entry = entries[key] ?? Entry(breaker: key.breaker.map(CircuitBreaker.init(spec:)))
            defer { entries[key] = entry }
            if let limit = key.maxConcurrency, entry.inFlight >= limit { return .full(limit: limit) }
            var admission = TargetAdmission.allowed
            if var breaker = entry.breaker {
                let before = breaker.state
                switch breaker.admit(now: now) {
                case .allowed: break
                case .probe: admission = .probe
                case .refused(let retryAt): return .breakerOpen(retryAt: retryAt)
                }
                if breaker.state.gaugeValue != before.gaugeValue { changed = breaker.state }
                entry.breaker = breaker
            }
            entry.inFlight += 1
            return admission
        }
        if let changed { notify(key, changed) }
        return admission
    }

    /// The end of an attempt `admit` let through. Upstream failures that a retry would also meet
    /// (timeouts, connection failures, 408, 429, 5xx) count against the breaker; an answer, even
    /// a 4xx about the request, shows the target is up; gateway problems and cancellations say
    /// nothing about it.
    public func finished(_ key: TargetKey, report: AttemptReport, now: Double) {
        var changed: CircuitBreaker.State?
        entries.withLock { entries in
            guard var entry = entries[key] else { return }
            entry.inFlight = max(0, entry.inFlight - 1)
            if var breaker = entry.breaker {
                let before = breaker.state
                switch report {
                case .served:
                    breaker.recordSuccess(now: now)
                case .failed(let failure?) where FailureMatcher.defaultRetry.matches(failure):
                    breaker.recordFailure(now: now)
                case .failed(_?):
                    breaker.recordSuccess(now: now)
                case .failed(nil), .abandoned:
                    // A probe that ends without a verdict frees the half-open slot at once.
                    if case .halfOpen = breaker.state { breaker.releaseProbe() }
                }
                if breaker.state.gaugeValue != before.gaugeValue { changed = breaker.state }
                entry.breaker = breaker
            }
            entries[key] = entry
        }
        if let changed { notify(key, changed) }
    }

    private func notify(_ key: TargetKey, _ state: CircuitBreaker.State) {
        if let onChange = onChange.withLock({ $0 }) { onChange(key, state) }
    }

    public struct Snapshot: Sendable {
        public let key: TargetKey
        public let state: CircuitBreaker.State
        public let recentFailures: Int
        public let inFlight: Int
    }

    /// The state of every gated node of `graph` as of `now`, in node order (`/admin/routes`).
    public func snapshot(of graph: RouteGraph, now: Double) -> [Snapshot] {
        let keys = graph.nodes.compactMap { node -> TargetKey? in
            guard case .model(let m) = node.kind, m.isGated else { return nil }
            return TargetKey(route: graph.name, node: node.name, target: m.target, breaker: m.breaker, maxConcurrency: m.maxConcurrency)
        }
        guard !keys.isEmpty else { return [] }
        return entries.withLock { entries in
            keys.map { key in
                let entry = entries[key]
                return Snapshot(key: key, state: entry?.breaker?.state(at: now) ?? .closed,
                                recentFailures: entry?.breaker?.recentFailures(at: now) ?? 0, inFlight: entry?.inFlight ?? 0)
            }
        }
    }

    /// Drops the state of targets no served node has any more (after a reload), unless attempts
    /// are still in flight for them.
    public func retain(_ live: Set<TargetKey>) {
        entries.withLock { entries in
            entries = entries.filter { live.contains($0.key) || $0.value.inFlight > 0 }
        }
    }

    /// Every gated model node of `graphs`.
    public static func keys(of graphs: some Sequence<RouteGraph>) -> Set<TargetKey> {
        var keys = Set<TargetKey>()
        for graph in graphs {
            for node in graph.nodes {
                guard case .model(let m) = node.kind, m.isGated else { continue }
                keys.insert(TargetKey(route: graph.name, node: node.name, target: m.target, breaker: m.breaker, maxConcurrency: m.maxConcurrency))
            }
        }
        return keys
    }
}

/// How one model attempt ended (after its retries), for breakers and in-flight counts.
public enum AttemptReport: Sendable, Equatable {
    /// The provider started answering with a 2xx.
    case served
    /// The attempt failed; nil for a problem of the gateway itself rather than the upstream.
    case failed(UpstreamFailure?)
    /// The request was cancelled while the attempt ran.
    case abandoned
}
