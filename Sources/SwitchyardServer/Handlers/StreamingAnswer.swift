import Hummingbird
import NIOCore

/// The one writer of streamed answers (compat SSE, passthrough and universal bodies): forwards
/// upstream chunks as they arrive and ends the request exactly once, whichever way the stream ends.
enum StreamingAnswer {
    enum End: Sendable {
        /// Every chunk was written.
        case completed
        /// The upstream or the client failed mid-stream.
        case failed(any Error)
        /// The response was dropped before its body was written (the client reset before the head).
        case abandoned
    }

    /// `watching`: the inbound request whose close cancels the forwarding loop (which drops the
    /// upstream iterator and so the upstream request). Hummingbird cannot reuse a connection whose
    /// inbound side was watched, so the response then says `connection: close`.
    static func response<Chunks: AsyncSequence & Sendable>(
        status: HTTPResponse.Status, headers: HTTPFields, chunks: Chunks, watching inbound: Request?,
        observe: @escaping @Sendable (ByteBuffer) -> Void = { _ in },
        end: @escaping @Sendable (End) -> Void
    ) -> Response where Chunks.Element == ByteBuffer {
        var headers = headers
        if inbound != nil { headers[.connection] = "close" }
        return Response(status: status, headers: headers, body: .guarded(ifNeverWritten: { end(.abandoned) }) { writer in
            do {
                if let inbound {
                    try await inbound.body.consumeWithCancellationOnInboundClose { _ in
                        for try await chunk in chunks {
                            observe(chunk)
                            try await writer.write(chunk)
                        }
                    }
                } else {
                    for try await chunk in chunks {
                        observe(chunk)
                        try await writer.write(chunk)
                    }
                }
            } catch {
                end(.failed(error))
                throw error
            }
            end(.completed)
            try await writer.finish(nil)
        })
    }
}
