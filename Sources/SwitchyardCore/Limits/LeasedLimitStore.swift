import Synchronization

/// Where leases come from: the shared database (`PostgresLeaseBackend`), or a fake in tests.
public protocol LeaseBackend: Sendable {
    /// Takes up to `amount` more of the key's window (`windowStart`, `capacity` = the limit) for
    /// `instance`; returns what was granted (0 when the window's capacity is all handed out).
    func acquire(_ request: LeaseRequest, instance: String, expiresAt: Double) async throws -> Double
    /// Records how much of each lease the instance has used and extends all its leases to
    /// `expiresAt`; returns to the pools what leases of dead instances (expired by `now`) did
    /// not use.
    func report(_ usage: [LeaseUsage], instance: String, expiresAt: Double, now: Double) async throws
    /// Records the final usage and gives back every unused part of the instance's leases.
    func release(_ usage: [LeaseUsage], instance: String) async throws
    /// Deletes pools and leases of windows that ended before `before`: keys nobody uses any
    /// more would otherwise keep their rows forever.
    func expireWindows(before: Double) async throws
}

extension LeaseBackend {
    public func expireWindows(before: Double) async throws {}
}

public struct LeaseRequest: Sendable, Hashable {
    public var key: LimitKey
    public var windowStart: Double
    public var capacity: Double
    public var amount: Double
    /// The window's length (seconds): when its pool and leases may be deleted.
    public var window: Double
    public init(key: LimitKey, windowStart: Double, capacity: Double, amount: Double, window: Double = 0) {
        self.window = window
        self.key = key
        self.windowStart = windowStart
        self.capacity = capacity
        self.amount = amount
    }
}

public struct LeaseUsage: Sendable, Hashable {
    public var key: LimitKey
    public var windowStart: Double
    public var used: Double
    public init(key: LimitKey, windowStart: Double, used: Double) {
        self.key = key
        self.windowStart = windowStart
        self.used = used
    }
}

/// Limits shared by several gateway instances, without a database round trip per request.
///
/// Each instance serves a key's window from a local lease: a slice of the limit taken from the
/// shared pool (`LeaseBackend.acquire`). The request path only touches memory; `LeaseSync`
/// refills leases in the background when they run low, reports usage in batches (renewing the
/// leases) and gives unused capacity back on shutdown. A lease not renewed within `leaseTTL`
/// (its instance was killed) returns its unused part to the pool, for the others to take.
///
/// Overshoot: while a refill is in flight an instance may admit up to one lease beyond what it
/// holds (so that a key's first requests are not refused while the first lease is fetched);
/// the next grant covers that debt unless the pool has run dry. Hence per key and window
///   admitted ≤ limit + N × L   (N instances, L = lease size = `leaseFraction` × limit, at least `minimumLease`)
/// plus, for an instance killed with `kill -9`, what it admitted since its last report
/// (at most its lease) may be granted again. Budgets keep reserve → reconcile: a request's
/// estimate is reserved from the lease, its real cost replaces it; spend above the estimate
/// adds to the bound exactly as on one instance. Sliding windows are served as fixed windows
/// (a pool per window).
public final class LeasedLimitStore: LimitStore, Sendable {
    public enum DatabaseDownPolicy: String, Sendable, CaseIterable {
        /// When the leases held are used up and the database cannot be reached, each instance
        /// enforces the limits alone (worst case N × limit while the outage lasts).
        case open
        /// When the leases held are used up (or expired) and the database cannot be reached,
        /// refuse (exact, at the cost of availability).
        case closed
    }

    public struct Settings: Sendable, Equatable {
        /// Lease size as a fraction of the limit (0 < f ≤ 1).
        public var leaseFraction: Double
        /// Smallest lease for a rate limit counted in requests.
        public var minimumLease: Double
        /// Seconds a lease stays valid without a report from its instance.
        public var leaseTTL: Double
        public var onDatabaseDown: DatabaseDownPolicy
        public init(leaseFraction: Double = 0.05, minimumLease: Double = 1, leaseTTL: Double = 15, onDatabaseDown: DatabaseDownPolicy = .closed) {
            self.leaseFraction = leaseFraction
            self.minimumLease = minimumLease
            self.leaseTTL = leaseTTL
            self.onDatabaseDown = onDatabaseDown
        }
    }

    struct Slot {
        var windowStart: Double
        var window: Double
        var capacity: Double
        /// Granted to this instance in this window.
        var granted: Double = 0
        /// Admitted (requests, or USD spent plus reserved) in this window.
        var used: Double = 0
        /// Budgets: the part of `used` still reserved by requests in flight.
        var reserved: Double = 0
        /// The pool said no (or less than asked): no more admissions beyond `granted` until a
        /// new grant; re-asked every `reprobe` seconds (capacity given back by others).
        var exhausted = false
        var lastAsk = -Double.infinity
        var pending = false
        /// `used` differs from what was last reported.
        var dirty = false
        /// A rate limit counted in requests (leases of whole requests).
        var countsRequests = false
    }

    struct State {
        var slots: [LimitKey: Slot] = [:]
        /// When the last exchange with the database succeeded (unix seconds).
        var lastContact: Double
        var databaseUp = true
    }

    public let settings: Settings
    /// A gateway's own policy for its rate limit (keys `gateway/<id>`), when it sets one; else
    /// `settings.onDatabaseDown`. Asked only while the database is down, so a configuration
    /// reload applies at once.
    public let gatewayPolicy = Mutex<(@Sendable (String) -> DatabaseDownPolicy?)?>(nil)
    public let instance: String
    private let state: Mutex<State>
    /// Admissions while the database is down and the policy is open.
    let fallback: InMemoryLimitStore
    private let wake: AsyncStream<Void>.Continuation
    let wakes: AsyncStream<Void>
    /// At most this many keys tracked (new keys beyond it are refused, as `InMemoryLimitStore`).
    public let maxKeys: Int
    /// Seconds between re-asks of an exhausted pool.
    public let reprobe: Double = 1

    public init(settings: Settings, instance: String, maxKeys: Int = InMemoryLimitStore.defaultMaxKeys, now: Double) {
        self.settings = settings
        self.instance = instance
        self.maxKeys = maxKeys
        state = Mutex(State(lastContact: now))
        fallback = InMemoryLimitStore(maxKeys: maxKeys)
        (wakes, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    func leaseSize(_ slot: Slot, requests: Bool) -> Double {
        let l = slot.capacity * settings.leaseFraction
        return requests ? max(settings.minimumLease, l.rounded(.up)) : max(l, 0)
    }

    /// Whether the leases held may still be used: the database was reached within the TTL
    /// (after that, the others may already have reclaimed them).
    func leasesValid(_ s: State, now: Double) -> Bool { now - s.lastContact < settings.leaseTTL }

    enum Outcome { case admitted, refused(Double), tooManyKeys, fallback }

    private func admit(_ key: LimitKey, cost: Double, limit: Double, window: Double, requests: Bool, budget: Bool, now: Double) -> Outcome {
        let windowStart = window > 0 ? (now / window).rounded(.down) * window : now
        var shouldWake = false
        let outcome: Outcome = state.withLock { s in
            if s.slots[key] == nil, s.slots.count >= maxKeys, !key.keyValue.isEmpty {
                // Drop slots of windows that have ended before refusing.
                s.slots = s.slots.filter { $0.value.windowStart + $0.value.window > now }
                if s.slots.count >= maxKeys { return .tooManyKeys }
            }
            var slot = s.slots[key] ?? Slot(windowStart: windowStart, window: window, capacity: limit)
            if slot.windowStart != windowStart || slot.window != window {
                slot = Slot(windowStart: windowStart, window: window, capacity: limit)
            }
            slot.capacity = limit
            slot.countsRequests = requests
            let up = s.databaseUp && leasesValid(s, now: now)
            let lease = leaseSize(slot, requests: requests)
            defer { s.slots[key] = slot }
            if !up {
                // Held capacity is usable while it has not expired on the server.
                if leasesValid(s, now: now), slot.used + cost <= slot.granted {
                    slot.used += cost
                    if budget { slot.reserved += cost }
                    slot.dirty = true
                    return .admitted
                }
                // Ask again now and then: the answer tells when the database is back.
                if !slot.pending, now - slot.lastAsk >= reprobe {
                    slot.pending = true
                    shouldWake = true
                }
                if policy(for: key) == .open { return .fallback }
                return .refused(1)
            }
            let advance = slot.exhausted ? 0 : lease
            if cost > limit || slot.used + cost > slot.granted + advance {
                if slot.exhausted {
                    if !slot.pending, now - slot.lastAsk >= reprobe {
                        slot.pending = true
                        shouldWake = true
                    }
                    return .refused(max(1, min(slot.windowStart + slot.window - now, reprobe)))
                }
                if !slot.pending {
                    slot.pending = true
                    shouldWake = true
                }
                return .refused(1)
            }
            slot.used += cost
            if budget { slot.reserved += cost }
            slot.dirty = true
            if !slot.pending, !slot.exhausted || now - slot.lastAsk >= reprobe, slot.granted - slot.used < lease / 2 + cost {
                slot.pending = true
                shouldWake = true
            }
            return .admitted
        }
        if shouldWake { wake.yield() }
        return outcome
    }

    public func consume(_ key: LimitKey, cost: Double, limit: Double, window: Seconds, technique: RouteNode.WindowTechnique, now: Double) -> RateDecision {
        switch admit(key, cost: cost, limit: limit, window: window, requests: cost == 1, budget: false, now: now) {
        case .admitted: return .allowed(remaining: max(0, remainingLocally(key)))
        case .refused(let after): return .exceeded(retryAfter: after)
        case .tooManyKeys: return .tooManyKeys(retryAfter: window)
        case .fallback: return fallback.consume(key, cost: cost, limit: limit, window: window, technique: .fixed, now: now)
        }
    }

    func remainingLocally(_ key: LimitKey) -> Double {
        state.withLock { s in s.slots[key].map { $0.granted - $0.used } ?? 0 }
    }

    public func reserve(_ key: LimitKey, amount: Double, limit: Double, window: Seconds, now: Double) -> BudgetDecision {
        let windowStart = window > 0 ? (now / window).rounded(.down) * window : now
        switch admit(key, cost: amount, limit: limit, window: window, requests: false, budget: true, now: now) {
        case .admitted: return .reserved(BudgetReservation(key: key, windowStart: windowStart, amount: amount))
        case .refused(let after): return .exceeded(retryAfter: after)
        case .tooManyKeys: return .tooManyKeys(retryAfter: window)
        case .fallback:
            // Marked as the fallback's by a negative window start (never a real one).
            if case .reserved(let r) = fallback.reserve(key, amount: amount, limit: limit, window: window, now: now) {
                return .reserved(BudgetReservation(key: key, windowStart: -1 - r.windowStart, amount: amount))
            }
            return .exceeded(retryAfter: 1)
        }
    }

    public func reconcile(_ reservation: BudgetReservation, actualCost: Double) {
        if reservation.windowStart < 0 {
            var r = reservation
            r.windowStart = -1 - reservation.windowStart
            fallback.reconcile(r, actualCost: actualCost)
            return
        }
        state.withLock { s in
            guard var slot = s.slots[reservation.key], slot.windowStart == reservation.windowStart else { return }
            slot.reserved = max(0, slot.reserved - reservation.amount)
            slot.used = max(0, slot.used - reservation.amount + max(0, actualCost))
            slot.dirty = true
            s.slots[reservation.key] = slot
        }
    }

    public func budgetUsage(_ key: LimitKey, window: Seconds, now: Double) -> (spent: Double, reserved: Double) {
        state.withLock { s in
            guard let slot = s.slots[key], slot.windowStart + slot.window > now else { return (0, 0) }
            return (slot.used - slot.reserved, slot.reserved)
        }
    }

    func policy(for key: LimitKey) -> DatabaseDownPolicy {
        if key.route == "gateway", let ask = gatewayPolicy.withLock({ $0 }), let own = ask(key.node) { return own }
        return settings.onDatabaseDown
    }

    // MARK: the background side (LeaseSync)

    /// What to ask the pool for now: every slot marked pending, for a lease plus its debt.
    func takeRequests(now: Double) -> [LeaseRequest] {
        state.withLock { s in
            var out: [LeaseRequest] = []
            for (key, var slot) in s.slots where slot.pending {
                guard slot.windowStart + slot.window > now else {
                    slot.pending = false
                    s.slots[key] = slot
                    continue
                }
                let lease = leaseSize(slot, requests: slot.countsRequests)
                out.append(LeaseRequest(key: key, windowStart: slot.windowStart, capacity: slot.capacity, amount: lease + max(0, slot.used - slot.granted), window: slot.window))
                slot.lastAsk = now
                s.slots[key] = slot
            }
            return out
        }
    }

    /// Applies a grant (or a failure to get one: nil).
    func granted(_ request: LeaseRequest, amount: Double?, now: Double) {
        state.withLock { s in
            guard var slot = s.slots[request.key] else { return }
            slot.pending = false
            if let amount {
                s.lastContact = now
                s.databaseUp = true
                if slot.windowStart == request.windowStart {
                    slot.granted += amount
                    // Less than asked: the pool is dry for this window.
                    slot.exhausted = amount < request.amount - 1e-9
                }
            } else {
                s.databaseUp = false
            }
            s.slots[request.key] = slot
        }
    }

    /// Usage of the current windows (all of it when `all`, else what changed since the last report).
    func usage(all: Bool, now: Double) -> [LeaseUsage] {
        state.withLock { s in
            var out: [LeaseUsage] = []
            for (key, var slot) in s.slots where all || slot.dirty {
                if slot.windowStart + slot.window <= now, !all {
                    s.slots[key] = nil
                    continue
                }
                out.append(LeaseUsage(key: key, windowStart: slot.windowStart, used: slot.used))
                slot.dirty = false
                s.slots[key] = slot
            }
            return out
        }
    }

    func reported(success: Bool, usage: [LeaseUsage], now: Double) {
        state.withLock { s in
            if success {
                s.lastContact = now
                s.databaseUp = true
            } else {
                s.databaseUp = false
                for u in usage { s.slots[u.key]?.dirty = true }
            }
        }
    }

    /// Whether there is work for the background side (a refill is wanted).
    var wakeups: AsyncStream<Void> { wakes }

    public var databaseUp: Bool { state.withLock { $0.databaseUp } }
    public var keyCount: Int { state.withLock { $0.slots.count } }
}

/// The background side of a `LeasedLimitStore`: refills leases when woken, reports usage (and
/// renews the leases) every `reportInterval`, releases everything on shutdown.
public struct LeaseSync: Sendable {
    public let store: LeasedLimitStore
    public let backend: any LeaseBackend
    public let reportInterval: Swift.Duration
    public let now: @Sendable () -> Double
    /// Called with each failure (logged by the caller).
    public let failed: @Sendable (String, any Error) -> Void

    public init(
        store: LeasedLimitStore, backend: any LeaseBackend, reportInterval: Swift.Duration, now: @escaping @Sendable () -> Double,
        failed: @escaping @Sendable (String, any Error) -> Void = { _, _ in }
    ) {
        self.store = store
        self.backend = backend
        self.reportInterval = reportInterval
        self.now = now
        self.failed = failed
    }

    /// Asks the pool for every pending lease, concurrently.
    public func refill() async {
        let t = now()
        let requests = store.takeRequests(now: t)
        guard !requests.isEmpty else { return }
        let expires = t + store.settings.leaseTTL
        await withTaskGroup(of: Void.self) { group in
            for request in requests {
                group.addTask {
                    do {
                        let amount = try await backend.acquire(request, instance: store.instance, expiresAt: expires)
                        store.granted(request, amount: amount, now: now())
                    } catch {
                        store.granted(request, amount: nil, now: now())
                        failed("acquire", error)
                    }
                }
            }
        }
    }

    /// Reports usage and renews this instance's leases; reclaims dead instances' leases.
    public func report() async {
        let t = now()
        let usage = store.usage(all: false, now: t)
        do {
            try await backend.report(usage, instance: store.instance, expiresAt: t + store.settings.leaseTTL, now: t)
            store.reported(success: true, usage: usage, now: now())
        } catch {
            store.reported(success: false, usage: usage, now: now())
            failed("report", error)
        }
    }

    /// Gives back what this instance holds and has not used (graceful shutdown).
    public func release() async {
        let usage = store.usage(all: true, now: now())
        do {
            try await backend.release(usage, instance: store.instance)
        } catch {
            failed("release", error)
        }
    }

    /// Refills when woken, reports every `reportInterval`, until cancelled; then releases.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in store.wakeups {
                    if Task.isCancelled { break }
                    await refill()
                }
            }
            group.addTask {
                var lastExpiry = now()
                while !Task.isCancelled {
                    do { try await Task.sleep(for: reportInterval) } catch { break }
                    await report()
                    // Once a minute, a window ended more than a minute ago (clocks differ) is let go.
                    if now() - lastExpiry >= 60 {
                        lastExpiry = now()
                        do { try await backend.expireWindows(before: lastExpiry - 60) } catch { failed("expire", error) }
                    }
                    // Retries refills that failed while the database was away.
                    await refill()
                }
            }
            await group.next()
            group.cancelAll()
        }
    }
}
