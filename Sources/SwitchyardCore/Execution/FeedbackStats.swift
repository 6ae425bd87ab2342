import Foundation
import Synchronization

/// `adaptive:` of a split: its weights follow the feedback recorded for the requests each arm
/// served (`PATCH /admin/logs/{id}` with `feedback` 1 or -1).
public struct AdaptiveSplit: Sendable, Hashable {
    /// Time constant of the decayed counts: a verdict `window` old weighs 1/e of a new one.
    public let window: Seconds
    /// Smallest share any arm keeps (0 ... 1 / arms).
    public let minimum: Double

    public init(window: Seconds = 86400, minimum: Double = 0.05) {
        self.window = window
        self.minimum = minimum
    }
}

/// One adaptive split of one route; like `PickKey`, from compiled routes only.
public struct FeedbackKey: Sendable, Hashable {
    public let route: String
    public let node: String
    public let arms: [String]
    public let adaptive: AdaptiveSplit

    public init(route: String, node: String, arms: [String], adaptive: AdaptiveSplit) {
        self.route = route
        self.node = node
        self.arms = arms
        self.adaptive = adaptive
    }
}

/// Positive and negative verdicts per arm of every adaptive split, decayed by time, and the
/// weights they give: arm i's weight is its written weight times its smoothed approval
/// (positives + 1) / (verdicts + 2), normalised, then raised to `minimum` where below it.
/// Owned by the server's `RouteTable`; pure: every call takes the time.
public final class FeedbackStats: Sendable {
    /// `first`: positive verdicts, `second`: negative ones.
    typealias Counts = DecayingPair

    private let entries = Mutex<[FeedbackKey: [Counts]]>([:])

    public init() {}

    /// Counts a verdict for `arm`: +1 or -1; `replacing` a verdict given before for the same
    /// request takes that one back first.
    public func record(_ key: FeedbackKey, arm: Int, verdict: Int, replacing previous: Int? = nil, now: Double) {
        guard arm >= 0, arm < key.arms.count else { return }
        entries.withLock { entries in
            var arms = entries[key] ?? Array(repeating: Counts(), count: key.arms.count)
            arms[arm].decay(to: now, window: key.adaptive.window)
            switch previous {
            case .some(1): arms[arm].first = max(0, arms[arm].first - 1)
            case .some(-1): arms[arm].second = max(0, arms[arm].second - 1)
            default: break
            }
            if verdict > 0 { arms[arm].first += 1 } else if verdict < 0 { arms[arm].second += 1 }
            entries[key] = arms
        }
    }

    /// The split's weights now, as shares summing to 1; the written ones (`prior`, percentages)
    /// while no verdict is known.
    public func shares(_ key: FeedbackKey, prior: [Double], now: Double) -> [Double] {
        let total = prior.reduce(0, +)
        let written = prior.map { $0 / max(total, 1e-12) }
        guard let arms = entries.withLock({ $0[key] }), arms.count == prior.count else { return written }
        var raw = zip(written, arms).map { w, counts -> Double in
            let c = counts.decayed(to: now, window: key.adaptive.window)
            return w * (c.first + 1) / (c.first + c.second + 2)
        }
        let sum = raw.reduce(0, +)
        raw = raw.map { $0 / max(sum, 1e-12) }
        return Self.floor(raw, minimum: min(key.adaptive.minimum, 1 / Double(raw.count)))
    }

    /// Raises every share below `minimum` to it, taking the difference from the others in
    /// proportion to what they hold above the floor.
    static func floor(_ shares: [Double], minimum: Double) -> [Double] {
        var out = shares
        for _ in 0..<out.count {
            let low = out.indices.filter { out[$0] < minimum - 1e-12 }
            guard !low.isEmpty else { break }
            let deficit = low.reduce(0) { $0 + minimum - out[$1] }
            let donors = out.indices.filter { out[$0] > minimum + 1e-12 }
            let room = donors.reduce(0) { $0 + out[$1] - minimum }
            guard room > 0 else { break }
            for i in low { out[i] = minimum }
            for i in donors { out[i] -= deficit * (out[i] - minimum) / room }
        }
        return out
    }

    /// Verdicts per arm as of `now` (positive, negative), for `explain` and `/admin/routes`.
    public func counts(_ key: FeedbackKey, now: Double) -> [(positive: Double, negative: Double)] {
        let arms = entries.withLock { $0[key] } ?? Array(repeating: Counts(), count: key.arms.count)
        return arms.map { c in
            let d = c.decayed(to: now, window: key.adaptive.window)
            return (d.first, d.second)
        }
    }

    public func retain(_ live: Set<FeedbackKey>) {
        entries.withLock { entries in entries = entries.filter { live.contains($0.key) } }
    }

    public static func keys(of graphs: some Sequence<RouteGraph>) -> Set<FeedbackKey> {
        var keys = Set<FeedbackKey>()
        for graph in graphs {
            for node in graph.nodes {
                if case .split(let s) = node.kind, let key = s.feedbackKey { keys.insert(key) }
            }
        }
        return keys
    }

    /// Feedback for a logged request: `routePath` is the path it took (`a>b>c`) through `graph`;
    /// every adaptive split on it counts the verdict for the arm the request took there.
    public func record(verdict: Int, replacing previous: Int?, routePath: String, graph: RouteGraph, now: Double) {
        let names = routePath.split(separator: ">").map(String.init)
        for (i, name) in names.enumerated() where i + 1 < names.count {
            guard let node = graph.node(named: name), case .split(let s) = node.kind, let key = s.feedbackKey,
                  let arm = key.arms.firstIndex(of: names[i + 1]) else { continue }
            record(key, arm: arm, verdict: verdict, replacing: previous, now: now)
        }
    }
}
