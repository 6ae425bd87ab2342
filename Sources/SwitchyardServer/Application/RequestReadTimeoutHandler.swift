import Hummingbird
import HummingbirdCore
import NIOHTTPTypes
import NIOCore

/// Closes connections that are slow to send a request: a new connection must deliver its first
/// complete request head within `headerTimeout` (slow-header attacks), and every request its body
/// within `bodyTimeout` of the read that brought its head (slow-body attacks). Keep-alive connections waiting for their
/// next request are closed by Hummingbird's idle timeout (`limits.idle_timeout`), which counts from
/// the last activity, so a slowly sent later head is bounded by it too.
///
/// Sits after HTTP decoding (Hummingbird's `additionalChannelHandlers`), so it sees request parts.
final class RequestReadTimeoutHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let headerTimeout: TimeAmount
    private let bodyTimeout: TimeAmount
    private let onTimeout: @Sendable (_ phase: String) -> Void
    private var timer: Scheduled<Void>?
    private var sawFirstHead = false
    /// A request head arrived and its end has not.
    private var awaitingEnd = false

    init(headerTimeout: Duration, bodyTimeout: Duration, onTimeout: @escaping @Sendable (_ phase: String) -> Void = { _ in }) {
        self.headerTimeout = TimeAmount(headerTimeout)
        self.bodyTimeout = TimeAmount(bodyTimeout)
        self.onTimeout = onTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context, after: headerTimeout, phase: "header") }
    }

    func channelActive(context: ChannelHandlerContext) {
        if !sawFirstHead, timer == nil { arm(context, after: headerTimeout, phase: "header") }
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        disarm()
    }

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        // The client is gone: the request it was waiting for is cancelled (ConnectionWatch).
        ConnectionWatch.shared.closed(ObjectIdentifier(context.channel))
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            sawFirstHead = true
            awaitingEnd = true
            disarm()
        case .body:
            break
        case .end:
            awaitingEnd = false
            disarm()
        }
        context.fireChannelRead(data)
    }

    /// The body timer is armed only when a read ends with a request still incomplete: most
    /// requests arrive whole in one read, and cost no timer at all.
    func channelReadComplete(context: ChannelHandlerContext) {
        if awaitingEnd, timer == nil { arm(context, after: bodyTimeout, phase: "body") }
        context.fireChannelReadComplete()
    }

    private func arm(_ context: ChannelHandlerContext, after delay: TimeAmount, phase: String) {
        disarm()
        let onTimeout = self.onTimeout
        let loopBound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: delay) {
            let (handler, context) = loopBound.value
            handler.timer = nil
            onTimeout(phase)
            context.close(promise: nil)
        }
    }

    private func disarm() {
        timer?.cancel()
        timer = nil
    }
}
