import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A fake AI provider on a real socket: OpenAI, Anthropic, Gemini and Workers AI wire formats with fault knobs.
public final class FakeUpstream: Sendable {
    private let serverChannel: any Channel
    private let state: FakeUpstreamState
    private let connections: ConnectionBox
    public let host: String
    public let port: Int

    private init(serverChannel: any Channel, state: FakeUpstreamState, connections: ConnectionBox, host: String, port: Int) {
        self.serverChannel = serverChannel
        self.state = state
        self.connections = connections
        self.host = host
        self.port = port
    }

    public static func start(_ configuration: FakeUpstreamConfiguration = .init()) async throws -> FakeUpstream {
        let state = FakeUpstreamState(configuration: configuration)
        let responder = FakeResponder(state: state)
        let connections = ConnectionBox()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 4096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                connections.add(channel)
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(FakeHTTPHandler(responder: responder, state: state))
                }
            }
            .bind(host: configuration.host, port: configuration.port)
            .get()
        let port = channel.localAddress?.port ?? configuration.port
        return FakeUpstream(serverChannel: channel, state: state, connections: connections, host: configuration.host, port: port)
    }

    /// "http://HOST:PORT", the Anthropic and Gemini base URL.
    public var baseURL: String { host.contains(":") ? "http://[\(host)]:\(port)" : "http://\(host):\(port)" }
    /// baseURL + "/v1", the OpenAI-compatible base URL.
    public var openAIBaseURL: String { baseURL + "/v1" }

    public func requests() -> [RecordedRequest] { state.requests }
    public var counters: FakeUpstreamCounters { state.counters }
    public var openConnections: Int { state.counters.openConnections }

    /// True once at least `count` requests have arrived; false after `timeout`.
    public func waitForRequests(count: Int, timeout: Duration) async -> Bool {
        await state.wait(timeout: timeout) { $0.requests >= count }
    }

    /// True once a peer has closed a streaming response's connection before the stream ended.
    public func waitForCancelledStream(timeout: Duration) async -> Bool {
        await waitForCancelledStreams(count: 1, timeout: timeout)
    }

    public func waitForCancelledStreams(count: Int, timeout: Duration) async -> Bool {
        await state.wait(timeout: timeout) { $0.cancelledStreams >= count }
    }

    /// Waits for any condition on the counters (open connections, completed streams, ...).
    public func wait(timeout: Duration, until condition: @escaping @Sendable (FakeUpstreamCounters) -> Bool) async -> Bool {
        await state.wait(timeout: timeout, until: condition)
    }

    /// Replaces the default behaviour for later requests.
    public func setDefaults(_ behavior: FakeBehavior) {
        state.updateConfiguration { $0.defaults = behavior }
    }

    /// Sets (or with nil removes) the rule for one model, for later requests.
    public func setBehavior(_ behavior: FakeBehavior?, forModel model: String) {
        state.updateConfiguration { $0.perModel[model] = behavior }
    }

    public func shutdown() async throws {
        try? await serverChannel.close()
        for channel in connections.all() {
            try? await channel.close()
        }
    }
}

/// Live child channels, so shutdown can close connections that clients keep alive.
final class ConnectionBox: Sendable {
    private let channels = Mutex<[ObjectIdentifier: any Channel]>([:])

    func add(_ channel: any Channel) {
        let key = ObjectIdentifier(channel)
        channels.withLock { $0[key] = channel }
        channel.closeFuture.whenComplete { _ in
            _ = self.channels.withLock { $0.removeValue(forKey: key) }
        }
    }

    func all() -> [any Channel] { channels.withLock { Array($0.values) } }
}
