import Synchronization

/// A clock the test moves by hand (Unix seconds), for everything that takes an injected `now`.
public final class ManualClock: Sendable {
    private let value: Mutex<Double>

    public init(_ start: Double = 1_800_000_000) { value = Mutex(start) }

    public var now: Double { value.withLock { $0 } }

    public func advance(_ seconds: Double) { value.withLock { $0 += seconds } }
}
