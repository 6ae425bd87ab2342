/// `breaker: { failures: 5, within: 30s, cooldown: 60s }` of a model node.
public struct BreakerSpec: Sendable, Hashable, CustomStringConvertible {
    /// Failures that open the breaker, 1 to 1000.
    public let failures: Int
    /// The window they must fall within.
    public let within: Seconds
    /// How long an open breaker refuses attempts before it lets one probe through.
    public let cooldown: Seconds

    public init(failures: Int, within: Seconds, cooldown: Seconds) {
        self.failures = failures
        self.within = within
        self.cooldown = cooldown
    }

    public var description: String {
        "breaker \(failures) failures in \(DurationText.format(within)), cooldown \(DurationText.format(cooldown))"
    }
}

/// A circuit breaker for one model target, as a pure state machine: every call takes the time.
///
/// Closed: attempts pass; each failure is remembered, and `failures` of them within `within`
/// open it. Open: attempts are refused until `cooldown` has passed since it opened. Half-open:
/// one attempt (the probe) passes and others are refused while it runs; its success closes the
/// breaker and forgets the failures, its failure opens it for another cooldown. A probe whose
/// result never comes (the request was cancelled) is given up after a cooldown, and another probe
/// may go.
public struct CircuitBreaker: Sendable {
    public enum State: Sendable, Equatable {
        case closed
        case open(until: Double)
        case halfOpen(probeSince: Double?)

        /// For metrics: 0 closed, 1 open, 2 half-open.
        public var gaugeValue: Int {
            switch self {
            case .closed: 0
            case .open: 1
            case .halfOpen: 2
            }
        }

        public var name: String {
            switch self {
            case .closed: "closed"
            case .open: "open"
            case .halfOpen: "half-open"
            }
        }
    }

    public enum Admission: Sendable, Equatable {
        case allowed
        /// Allowed as the half-open probe: its result decides the state.
        case probe
        /// Refused; the breaker lets a probe through at `retryAt`.
        case refused(retryAt: Double)
    }

    public let spec: BreakerSpec
    public private(set) var state: State = .closed
    /// Times of the failures still within the window, oldest first (at most `spec.failures`).
    private var failureTimes: [Double] = []

    public init(spec: BreakerSpec) {
        self.spec = spec
        failureTimes.reserveCapacity(spec.failures)
    }

    /// The state as of `now` (an open breaker whose cooldown has passed reads half-open).
    public func state(at now: Double) -> State {
        if case .open(let until) = state, now >= until { return .halfOpen(probeSince: nil) }
        return state
    }

    /// Whether an attempt may go now.
    public mutating func admit(now: Double) -> Admission {
        switch state {
        case .closed:
            return .allowed
        case .open(let until):
            guard now >= until else { return .refused(retryAt: until) }
            state = .halfOpen(probeSince: now)
            return .probe
        case .halfOpen(let since):
            if let since, now < since + spec.cooldown { return .refused(retryAt: since + spec.cooldown) }
            state = .halfOpen(probeSince: now)
            return .probe
        }
    }

    /// The probe ended without a verdict (cancelled, or a gateway problem): the next attempt may probe.
    public mutating func releaseProbe() {
        if case .halfOpen = state { state = .halfOpen(probeSince: nil) }
    }

    public mutating func recordSuccess(now: Double) {
        switch state {
        case .closed:
            break
        case .halfOpen, .open:
            // An answer from an open breaker's target (an attempt admitted before it opened) also shows it is back.
            state = .closed
            failureTimes.removeAll(keepingCapacity: true)
        }
    }

    public mutating func recordFailure(now: Double) {
        switch state {
        case .open:
            break
        case .halfOpen:
            state = .open(until: now + spec.cooldown)
            failureTimes.removeAll(keepingCapacity: true)
        case .closed:
            failureTimes.removeAll { $0 <= now - spec.within }
            if failureTimes.count == spec.failures { failureTimes.removeFirst() }
            failureTimes.append(now)
            if failureTimes.count >= spec.failures {
                state = .open(until: now + spec.cooldown)
                failureTimes.removeAll(keepingCapacity: true)
            }
        }
    }

    /// Failures counted in the window as of `now`.
    public func recentFailures(at now: Double) -> Int { failureTimes.count { $0 > now - spec.within } }
}

/// One model node's target as the health state knows it. The node's settings are part of the
/// key, so a reload that keeps the node as it was keeps its breaker and in-flight count, and one
/// that changes them starts afresh.
public struct TargetKey: Sendable, Hashable {
    public let route: String
    public let node: String
    public let target: ModelTarget
    public let breaker: BreakerSpec?
    public let maxConcurrency: Int?

    public init(route: String, node: String, target: ModelTarget, breaker: BreakerSpec?, maxConcurrency: Int?) {
        self.route = route
        self.node = node
        self.target = target
        self.breaker = breaker
        self.maxConcurrency = maxConcurrency
    }
}

public enum TargetAdmission: Sendable, Equatable {
    case allowed
    /// Allowed as a half-open breaker's probe.
    case probe
    /// Skipped: the breaker is open until `retryAt`.
    case breakerOpen(retryAt: Double)
    /// Skipped: `limit` attempts are already in flight.
    case full(limit: Int)
}

/// Live per-target state (breakers and in-flight counts), held by the server across requests.
/// `admit` is asked at a model node that has a `breaker` or `max_concurrency`; every admitted
/// attempt is later reported to the holder with its outcome (see the server's `TargetHealth`).
public protocol TargetGate: Sendable {
    func admit(_ key: TargetKey, now: Double) -> TargetAdmission
}
