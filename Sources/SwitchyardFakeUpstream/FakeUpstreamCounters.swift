/// Counters the fake keeps for tests to await.
public struct FakeUpstreamCounters: Sendable, Equatable {
    public var requests = 0
    /// Connections currently open.
    public var openConnections = 0
    /// Connections accepted since start.
    public var acceptedConnections = 0
    /// Streaming answers whose connection the peer closed before the last event was written
    /// (also while the fake was still waiting out `latencyMs`).
    public var cancelledStreams = 0
    /// Any answer, streaming or not, abandoned by the peer before it was complete.
    public var cancelledResponses = 0
    /// Streams written to the end.
    public var completedStreams = 0
    /// Connections the fake reset on purpose (reset knobs).
    public var resets = 0
}
