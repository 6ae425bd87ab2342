import Foundation
import Synchronization

/// What a `pick:` node ranks its arms by: lower is better for every metric.
public enum PickMetric: String, Sendable, CaseIterable {
    /// Whole request duration (the answer's last byte), of requests the arm answered.
    case latency
    /// Time to the first byte of the answer sent to the client (for streams, the first token).
    case ttft
    /// USD per request the arm answered.
    case cost
    /// Share of requests through the arm whose attempt failed.
    case errors
}

/// A `pick:` node's settings.
public struct PickSpec: Sendable, Hashable, CustomStringConvertible {
    public let by: PickMetric
    /// Time constant of the exponentially weighted averages: a sample `window` old weighs 1/e of a
    /// new one, and arms without a sample in the last few windows count as unmeasured.
    public let window: Seconds
    /// Share of requests sent to an arm drawn uniformly at random, whatever the figures say, so
    /// every arm keeps being measured (0 ... 0.5).
    public let explore: Double

    public init(by: PickMetric, window: Seconds = 300, explore: Double = 0.05) {
        self.by = by
        self.window = window
        self.explore = explore
    }

    public var description: String {
        "pick by \(by.rawValue) (window \(DurationText.format(window)), explore \(RouteRun.format((explore * 1000).rounded() / 10))%)"
    }
}

/// One `pick:` node of one route: the key of its live figures. Keys come from compiled routes,
/// never from requests, so the store stays as small as the routes.
public struct PickKey: Sendable, Hashable {
    public let route: String
    public let node: String
    /// The arms' node names, in order: a reload that changes them starts the figures afresh.
    public let arms: [String]
    public let spec: PickSpec

    public init(route: String, node: String, arms: [String], spec: PickSpec) {
        self.route = route
        self.node = node
        self.arms = arms
        self.spec = spec
    }
}

/// The figures a pick decided on, per arm (`explain`, `/admin/routes`).
public struct PickFigure: Sendable, Equatable {
    /// The arm's average of the node's metric (seconds or USD); nil when unmeasured.
    public let value: Double?
    /// Recent error share, 0...1; nil when unmeasured.
    public let errorRate: Double?
    /// Decayed sample count: how much the average rests on.
    public let weight: Double
}

/// Which arm a request took at a pick node, and the attempt number its first model got: the
/// request's outcome counts for the arm only when that attempt answered it.
public struct PickChoice: Sendable, Equatable {
    public let key: PickKey
    public let arm: Int
    public let step: Int
}

/// How a request ended, as pick nodes learn from it.
public struct PickOutcome: Sendable {
    /// The attempt number (`cf-aig-step`) of the attempt that answered or failed last; nil when no
    /// attempt ran.
    public var step: Int?
    /// A 2xx answer handed over whole.
    public var success: Bool
    public var duration: Seconds
    public var timeToFirstByte: Seconds?
    public var cost: Double

    public init(step: Int?, success: Bool, duration: Seconds, timeToFirstByte: Seconds?, cost: Double) {
        self.step = step
        self.success = success
        self.duration = duration
        self.timeToFirstByte = timeToFirstByte
        self.cost = cost
    }
}

/// Live figures of every `pick:` node: exponentially weighted averages per arm, decayed by time
/// (irregular samples: each sum is multiplied by e^(-Δt/window) before a sample is added), shared
/// by all requests. Owned by the server's `RouteTable`; pure: every call takes the time.
public final class PickStats: Sendable {
    struct Average: Sendable {
        /// `first`: the sum of samples, `second`: their weight.
        var sums = DecayingPair()

        mutating func add(_ x: Double, now: Double, window: Seconds) {
            sums.decay(to: now, window: window)
            sums.first += x
            sums.second += 1
        }

        func weight(at now: Double, window: Seconds) -> Double { sums.decayed(to: now, window: window).second }
        var mean: Double? { sums.second > 0 ? sums.first / sums.second : nil }
    }

    struct Arm: Sendable {
        var metric = Average()
        var errors = Average()
    }

    /// An arm whose decayed sample weight is below this counts as unmeasured and is tried first.
    static let measured = 0.05
    /// Arms failing more than this share of their recent requests rank after every other arm.
    static let failingShare = 0.5

    private let entries = Mutex<[PickKey: [Arm]]>([:])

    public init() {}

    /// Never told anything: every arm stays unmeasured (`explain` without live state).
    static let unmeasured = PickStats()

    /// The arm for the next request: with probability `explore` one drawn uniformly, else an
    /// unmeasured arm (so each is tried), else the lowest average among arms not failing more than
    /// half their requests (all of them when every arm is). Ties go to the earlier arm.
    public func choose<R: RandomNumberGenerator>(_ key: PickKey, now: Double, rng: inout R) -> (arm: Int, explored: Bool) {
        let count = key.arms.count
        let draw = Double(rng.next() >> 11) * 0x1p-53
        let uniform = Int(rng.next() % UInt64(count))
        if draw < key.spec.explore { return (uniform, true) }
        return entries.withLock { entries in
            guard let arms = entries[key] else { return (uniform, false) }
            return (Self.best(arms, spec: key.spec, now: now, uniform: uniform), false)
        }
    }

    static func best(_ arms: [Arm], spec: PickSpec, now: Double, uniform: Int) -> Int {
        let unmeasured = arms.indices.filter { arms[$0].errors.weight(at: now, window: spec.window) < measured }
        if !unmeasured.isEmpty { return unmeasured[uniform % unmeasured.count] }
        var best: (index: Int, failing: Bool, value: Double)?
        for (i, arm) in arms.enumerated() {
            let errorRate = arm.errors.mean ?? 0
            let failing = spec.by != .errors && errorRate > failingShare
            // An arm that answered nothing recently has no average of its own: rank it by its errors only.
            let value = spec.by == .errors ? errorRate : (arm.metric.mean ?? .infinity)
            // Healthy before failing, then the lower value; an equal one keeps the earlier arm.
            if let b = best, !b.failing && failing || (b.failing == failing && b.value <= value) { continue }
            best = (i, failing, value)
        }
        return best?.index ?? 0
    }

    /// Learns from a request that took `choice`'s arm. Only the outcome of the arm's own first
    /// attempt counts: an answer from it gives a sample of the metric and a success, a failure of
    /// it (the request failed there, or a later attempt answered after it) an error; a request
    /// rejected before any attempt, or cancelled, teaches nothing.
    public func record(_ choice: PickChoice, outcome: PickOutcome, now: Double) {
        guard let step = outcome.step, step >= choice.step else { return }
        let spec = choice.key.spec
        let answered = outcome.success && step == choice.step
        var sample: Double?
        if answered {
            switch spec.by {
            case .latency: sample = outcome.duration
            case .ttft: sample = outcome.timeToFirstByte ?? outcome.duration
            case .cost: sample = outcome.cost
            case .errors: sample = nil
            }
        }
        entries.withLock { entries in
            var arms = entries[choice.key] ?? Array(repeating: Arm(), count: choice.key.arms.count)
            guard choice.arm < arms.count else { return }
            arms[choice.arm].errors.add(answered ? 0 : 1, now: now, window: spec.window)
            if let sample, sample.isFinite { arms[choice.arm].metric.add(sample, now: now, window: spec.window) }
            entries[choice.key] = arms
        }
    }

    /// The figures of each arm of `key` as of `now`.
    public func figures(_ key: PickKey, now: Double) -> [PickFigure] {
        entries.withLock { entries in
            let arms = entries[key] ?? Array(repeating: Arm(), count: key.arms.count)
            return arms.map { arm in
                let weight = arm.errors.weight(at: now, window: key.spec.window)
                let measured = weight >= Self.measured
                return PickFigure(value: measured && key.spec.by != .errors ? arm.metric.mean : (measured ? arm.errors.mean : nil),
                                  errorRate: measured ? arm.errors.mean : nil, weight: weight)
            }
        }
    }

    /// Drops the figures of pick nodes no served route has any more (after a reload).
    public func retain(_ live: Set<PickKey>) {
        entries.withLock { entries in entries = entries.filter { live.contains($0.key) } }
    }

    /// Every pick node of `graphs`.
    public static func keys(of graphs: some Sequence<RouteGraph>) -> Set<PickKey> {
        var keys = Set<PickKey>()
        for graph in graphs {
            for node in graph.nodes {
                if case .pick(let p) = node.kind { keys.insert(p.key) }
            }
        }
        return keys
    }
}

/// Two sums that fade together with time: each is multiplied by e^(-Δt/window) as time passes,
/// so an event `window` old weighs 1/e of a new one (pick averages, adaptive split verdicts).
public struct DecayingPair: Sendable, Equatable {
    public var first = 0.0
    public var second = 0.0
    /// When the sums were last brought up to date.
    public var at = 0.0

    public init() {}

    public mutating func decay(to now: Double, window: Seconds) {
        guard now > at else { return }
        let f = exp(-(now - at) / window)
        first *= f
        second *= f
        at = now
    }

    public func decayed(to now: Double, window: Seconds) -> DecayingPair {
        var copy = self
        copy.decay(to: now, window: window)
        return copy
    }
}
