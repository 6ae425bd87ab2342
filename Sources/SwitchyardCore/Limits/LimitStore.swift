/// Identifies one limit counter: a route's node and the value of its key path
/// (requests whose key path is missing share the bucket with `keyValue == ""`). Values taken from
/// a request are bounded first (`LimitKeyText.bounded`).
public struct LimitKey: Sendable, Hashable, CustomStringConvertible {
    public var route: String
    public var node: String
    public var keyValue: String

    public init(route: String, node: String, keyValue: String) {
        self.route = route
        self.node = node
        self.keyValue = keyValue
    }

    public var description: String { "\(route)/\(node)[\(LimitKeyText.display(keyValue))]" }
}

public enum RateDecision: Sendable, Equatable {
    case allowed(remaining: Double)
    /// Seconds until a request would be allowed again.
    case exceeded(retryAfter: Seconds)
    /// The key is new and the store already tracks as many keys as it may (`maxKeys`): refused,
    /// as if exceeded (fail closed). Never returned for a shared bucket (`keyValue == ""`).
    case tooManyKeys(retryAfter: Seconds)

    public var isAllowed: Bool { if case .allowed = self { return true }; return false }
}

/// A budget reservation made before dispatch; reconcile it with the real cost when the response ends.
public struct BudgetReservation: Sendable, Hashable {
    public var key: LimitKey
    /// Start of the window the reservation was made in (unix seconds).
    public var windowStart: Double
    public var amount: Double

    public init(key: LimitKey, windowStart: Double, amount: Double) {
        self.key = key
        self.windowStart = windowStart
        self.amount = amount
    }
}

public enum BudgetDecision: Sendable, Equatable {
    case reserved(BudgetReservation)
    case exceeded(retryAfter: Seconds)
    /// As `RateDecision.tooManyKeys`: a new key refused because the store is full.
    case tooManyKeys(retryAfter: Seconds)
}

/// Limit state: rate windows and budgets. Synchronous and non-blocking on purpose: the hot path
/// never awaits a disk write; durable stores keep an in-memory authority and persist behind it.
public protocol LimitStore: Sendable {
    /// Counts `cost` (1 for a request, USD for cost-based rate limits) against the window if it fits.
    func consume(_ key: LimitKey, cost: Double, limit: Double, window: Seconds, technique: RouteNode.WindowTechnique, now: Double) -> RateDecision
    /// Reserves `amount` USD if spent + reserved + amount stays within `limit` for the current window.
    func reserve(_ key: LimitKey, amount: Double, limit: Double, window: Seconds, now: Double) -> BudgetDecision
    /// Replaces the reservation with the actual cost (0 when the request failed before any tokens).
    func reconcile(_ reservation: BudgetReservation, actualCost: Double)
    /// Spent plus reserved in the current window, for `explain` and the admin API.
    func budgetUsage(_ key: LimitKey, window: Seconds, now: Double) -> (spent: Double, reserved: Double)
    /// Requests counted in the window as of `now` (sliding: weighted as `consume` counts them), without
    /// counting one; nil when the store cannot tell (a condition then reads the limit as unused).
    func rateCount(_ key: LimitKey, window: Seconds, technique: RouteNode.WindowTechnique, now: Double) -> Double?
}

extension LimitStore {
    public func rateCount(_ key: LimitKey, window: Seconds, technique: RouteNode.WindowTechnique, now: Double) -> Double? { nil }
}
