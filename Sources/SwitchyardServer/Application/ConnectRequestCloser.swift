import Hummingbird
import NIOCore
import NIOHTTPTypes

/// Closes the connection after the answer to a CONNECT request. The gateway opens no tunnels (its
/// responder answers 405 or 404), but NIO's HTTP decoder stops parsing after a CONNECT head, since
/// what follows would be tunnel bytes, and its encoder writes the answer without a body or a
/// length, so that a client can only read it until the connection closes. Left open, such a
/// connection was held until the idle timeout with nothing more to read or send; it is now closed
/// (and the answer says `connection: close`) as soon as the answer is written.
///
/// Sits after HTTP decoding (Hummingbird's `additionalChannelHandlers`), so it sees request and
/// response parts.
final class ConnectRequestCloser: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private var closeAfterResponse = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let head) = unwrapInboundIn(data), head.method == .connect { closeAfterResponse = true }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard closeAfterResponse else {
            context.write(data, promise: promise)
            return
        }
        switch unwrapOutboundIn(data) {
        case .head(var response):
            response.headerFields[.connection] = "close"
            context.write(wrapOutboundOut(.head(response)), promise: promise)
        case .body:
            context.write(data, promise: promise)
        case .end:
            let written = promise ?? context.eventLoop.makePromise()
            context.writeAndFlush(data, promise: written)
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            written.futureResult.whenComplete { _ in loopBound.value.close(promise: nil) }
        }
    }
}
