/// The state machine of one rate-limit counter.
///
/// Fixed windows start at multiples of the window length since the Unix epoch (a daily window
/// resets at 00:00 UTC). Sliding windows use the two-window estimate Cloudflare uses: the
/// previous window's count weighted by how much of it still overlaps the sliding window.
public struct WindowCounter: Sendable, Hashable {
    public private(set) var windowStart: Double = 0
    public private(set) var current: Double = 0
    public private(set) var previous: Double = 0

    public init() {}

    public init(windowStart: Double, current: Double, previous: Double) {
        self.windowStart = windowStart
        self.current = current
        self.previous = previous
    }

    public static func windowStart(for now: Double, window: Seconds) -> Double {
        (now / window).rounded(.down) * window
    }

    mutating func roll(now: Double, window: Seconds) {
        let start = Self.windowStart(for: now, window: window)
        if start == windowStart { return }
        if start - windowStart == window {
            previous = current
        } else {
            previous = 0
        }
        current = 0
        windowStart = start
    }

    /// The count the limit is compared against, after rolling to `now`.
    public func effectiveCount(now: Double, window: Seconds, technique: RouteNode.WindowTechnique) -> Double {
        var copy = self
        copy.roll(now: now, window: window)
        switch technique {
        case .fixed:
            return copy.current
        case .sliding:
            let elapsed = (now - copy.windowStart) / window
            return copy.previous * (1 - elapsed) + copy.current
        }
    }

    /// True when the counter would read zero at `now` and at every later time, whatever the
    /// technique: both its current and its previous window have passed. An idle counter can be
    /// dropped; a fresh one decides the same.
    public func isIdle(now: Double, window: Seconds) -> Bool {
        var copy = self
        copy.roll(now: now, window: window)
        return copy.current == 0 && copy.previous == 0
    }

    public mutating func consume(cost: Double, limit: Double, window: Seconds, technique: RouteNode.WindowTechnique, now: Double) -> RateDecision {
        roll(now: now, window: window)
        let count = effectiveCount(now: now, window: window, technique: technique)
        if count + cost <= limit + 1e-9 {
            current += cost
            return .allowed(remaining: max(0, limit - count - cost))
        }
        let windowEnd = windowStart + window
        switch technique {
        case .fixed:
            return .exceeded(retryAfter: max(windowEnd - now, 0.001))
        case .sliding:
            // The estimate decays as the previous window slides out; solve for the time at which
            // previous × (1 − elapsed) + current + cost ≤ limit, else wait for the next window.
            if previous > 0 {
                let needed = count + cost - limit
                let t = needed / (previous / window)
                if now + t < windowEnd { return .exceeded(retryAfter: max(t, 0.001)) }
            }
            return .exceeded(retryAfter: max(windowEnd - now, 0.001))
        }
    }
}
