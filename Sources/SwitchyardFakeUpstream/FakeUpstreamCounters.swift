/// Counters the fake keeps for tests to await.
public struct FakeUpstreamCounters: Sendable, Equatable {
    public var requests = 0
    /// Connections currently open.
    public var openConnections = 0
    /// Connections accepted since start.
    public var acceptedConnections = 0
    /// Streams whose connection the peer closed before the last event was written.
    public var cancelledStreams = 0
    /// Streams written to the end.
    public var completedStreams = 0
    /// Connections the fake reset on purpose (reset knobs).
    public var resets = 0
}
