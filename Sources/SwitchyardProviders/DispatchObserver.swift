/// Hooks the dispatcher calls as it works through a plan; the server counts them in its metrics.
public struct DispatchObserver: Sendable {
    /// Before a retry of the same attempt; the provider slug.
    public var retried: @Sendable (String) -> Void
    /// When an attempt failed and the plan moves on to the next one; the failed provider's slug.
    public var fellBack: @Sendable (String) -> Void

    public init(retried: @escaping @Sendable (String) -> Void = { _ in }, fellBack: @escaping @Sendable (String) -> Void = { _ in }) {
        self.retried = retried
        self.fellBack = fellBack
    }
}
