import Foundation

public struct FakeUpstreamConfiguration: Sendable {
    public var host: String
    /// 0 lets the OS choose; read the bound port from `FakeUpstream.port`.
    public var port: Int
    public var defaults: FakeBehavior
    /// Model name (as sent in the body, or in the path for Gemini and Workers AI) → behaviour.
    public var perModel: [String: FakeBehavior]
    /// Prefix answers with "[simulated] " (for `switchyard serve --demo`).
    public var simulatedMarker: Bool
    /// Seconds since 1970 used for `created` fields.
    public var clock: @Sendable () -> Int
    /// Longest user text echoed back; longer input is cut.
    public var maxEchoCharacters: Int
    /// Keep every request for `requests()`. Long benchmark runs turn it off; counters are kept either way.
    public var recordRequests: Bool

    public init(
        host: String = "127.0.0.1",
        port: Int = 0,
        defaults: FakeBehavior = FakeBehavior(),
        perModel: [String: FakeBehavior] = [:],
        simulatedMarker: Bool = false,
        clock: @escaping @Sendable () -> Int = { Int(Date().timeIntervalSince1970) },
        maxEchoCharacters: Int = 200,
        recordRequests: Bool = true
    ) {
        self.host = host
        self.port = port
        self.defaults = defaults
        self.perModel = perModel
        self.simulatedMarker = simulatedMarker
        self.clock = clock
        self.maxEchoCharacters = maxEchoCharacters
        self.recordRequests = recordRequests
    }
}
