import Synchronization
import SwitchyardCore

/// Where a streamed response leaves the usage it saw, for the request log line written after the
/// stream ends. Set at most a few times per request; no lock is held across an await.
public final class UsageRecorder: Sendable {
    private let state = Mutex<Usage?>(nil)

    public init() {}

    public func record(_ usage: Usage?) {
        guard let usage else { return }
        state.withLock { $0 = usage }
    }

    public var usage: Usage? { state.withLock { $0 } }
}
