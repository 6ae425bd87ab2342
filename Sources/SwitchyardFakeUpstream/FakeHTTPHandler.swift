import NIOCore
import NIOHTTP1
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#else
import Darwin
#endif

/// One connection: collects each request, asks the responder for a plan and carries it out on the event loop,
/// scheduling delays instead of blocking so thousands of slow streams cost no threads.
final class FakeHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let responder: FakeResponder
    private let state: FakeUpstreamState
    private var connectionID: Int?
    private var head: HTTPRequestHead?
    private var body: ByteBuffer?
    /// Set while a response is owed: `true` for a stream. The peer closing then is a cancellation.
    private var owedResponseIsStream: Bool?
    private var closed = false
    private var pending: Scheduled<Void>?

    init(responder: FakeResponder, state: FakeUpstreamState) {
        self.responder = responder
        self.state = state
    }

    func channelActive(context: ChannelHandlerContext) {
        connectionID = state.connectionOpened()
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        pending?.cancel()
        pending = nil
        if let isStream = owedResponseIsStream {
            owedResponseIsStream = nil
            state.responseCancelled(stream: isStream)
        }
        if connectionID != nil { state.connectionClosed() }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            head = requestHead
            body = context.channel.allocator.buffer(capacity: 0)
        case .body(var chunk):
            body?.writeBuffer(&chunk)
        case .end:
            guard let requestHead = head else { return }
            let bytes = body.map { Array($0.readableBytesView) } ?? []
            head = nil
            body = nil
            let request = RecordedRequest(
                method: requestHead.method.rawValue,
                uri: requestHead.uri,
                headers: requestHead.headers.map { (name: $0.name, value: $0.value) },
                body: bytes,
                connectionID: connectionID ?? 0
            )
            let plan = responder.plan(for: request)
            owedResponseIsStream = plan.isStream
            after(plan.latencyMs, context: context) { self.start(plan, request: requestHead, context: context) }
        }
    }

    private func after(_ milliseconds: Int, context: ChannelHandlerContext, _ work: @escaping () -> Void) {
        guard !closed else { return }
        if milliseconds <= 0 {
            work()
        } else {
            pending = context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(milliseconds))) {
                self.pending = nil
                work()
            }
        }
    }

    private func start(_ plan: ResponsePlan, request: HTTPRequestHead, context: ChannelHandlerContext) {
        guard !closed else { return }
        var headers = HTTPHeaders(plan.headers)
        let keepAlive = request.isKeepAlive
        if !keepAlive { headers.replaceOrAdd(name: "connection", value: "close") }
        let head = HTTPResponseHead(version: request.version, status: .init(statusCode: plan.status), headers: headers)

        switch plan.body {
        case .resetBeforeFirstByte:
            owedResponseIsStream = nil
            reset(context: context)
        case .full(let bytes):
            var head = head
            head.headers.replaceOrAdd(name: "content-length", value: String(bytes.count))
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            if plan.resetAfterEvents != nil {
                owedResponseIsStream = nil
                let half = context.channel.allocator.buffer(bytes: bytes.prefix(bytes.count / 2))
                context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(half)))).assumeIsolated().whenComplete { _ in
                    self.after(Self.resetGraceMs, context: context) { self.reset(context: context) }
                }
                return
            }
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: bytes)))), promise: nil)
            finish(keepAlive: keepAlive, context: context)
        case .stream(let events):
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            writeEvents(from: 0, of: events, plan: plan, keepAlive: keepAlive, context: context)
        }
    }

    private func writeEvents(from start: Int, of events: [[UInt8]], plan: ResponsePlan, keepAlive: Bool, context: ChannelHandlerContext) {
        var index = start
        while !closed {
            if let limit = plan.resetAfterEvents, index >= min(limit, events.count - 1) {
                owedResponseIsStream = nil
                context.flush()
                // A RST right behind the data can make the peer's kernel drop what it has not read
                // yet; give the events written so far a moment to be consumed first.
                after(Self.resetGraceMs, context: context) { self.reset(context: context) }
                return
            }
            guard index < events.count else {
                state.streamCompleted()
                finish(keepAlive: keepAlive, context: context)
                return
            }
            let buffer = context.channel.allocator.buffer(bytes: events[index])
            context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
            index += 1
            if index < events.count, plan.chunkIntervalMs > 0 {
                let next = index
                after(plan.chunkIntervalMs, context: context) {
                    self.writeEvents(from: next, of: events, plan: plan, keepAlive: keepAlive, context: context)
                }
                return
            }
        }
    }

    private func finish(keepAlive: Bool, context: ChannelHandlerContext) {
        owedResponseIsStream = nil
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            written.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }

    static let resetGraceMs = 250

    /// RST instead of FIN: SO_LINGER with a zero timeout makes close() abort the connection.
    private func reset(context: ChannelHandlerContext) {
        guard !closed else { return }
        state.connectionReset()
        guard let provider = context.channel as? any SocketOptionProvider else {
            context.close(promise: nil)
            return
        }
        provider.setSoLinger(linger(l_onoff: 1, l_linger: 0)).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }
}
