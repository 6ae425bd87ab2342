import AsyncHTTPClient
import NIOCore
import SwitchyardCore

/// An upstream SSE body re-framed for the client as it arrives: each upstream chunk is parsed,
/// translated and handed on before the next one is read. Dropping the iterator (the client went
/// away and the writing task was cancelled) cancels the upstream request.
public struct UpstreamEventStream: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer

    let body: HTTPClientResponse.Body
    let translator: any StreamTranslator
    let usage: UsageRecorder
    let provider: String

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(upstream: body.makeAsyncIterator(), translator: translator, usage: usage, provider: provider)
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var upstream: HTTPClientResponse.Body.AsyncIterator
        var translator: any StreamTranslator
        let usage: UsageRecorder
        let provider: String
        var parser = SSEEventDecoder()
        var finished = false

        public mutating func next() async throws -> ByteBuffer? {
            while !finished {
                let chunk: ByteBuffer?
                do {
                    chunk = try await upstream.next()
                } catch {
                    if Task.isCancelled { throw error }
                    finished = true
                    usage.record(translator.usage)
                    let body = OpenAIErrorBody.make(message: "provider '\(provider)' stream failed: \(error)", type: "server_error", code: .number(2005))
                    return Self.frame([String(buffer: body)])
                }
                guard let chunk else {
                    finished = true
                    var payloads: [String] = []
                    for last in parser.finish() { payloads += translator.translate(last) }
                    payloads += translator.finish()
                    usage.record(translator.usage)
                    return payloads.isEmpty ? nil : Self.frame(payloads)
                }
                var payloads: [String] = []
                for event in parser.feed(chunk.readableBytesView) {
                    payloads += translator.translate(event)
                }
                if !payloads.isEmpty {
                    usage.record(translator.usage)
                    return Self.frame(payloads)
                }
            }
            return nil
        }

        static func frame(_ payloads: [String]) -> ByteBuffer {
            var buffer = ByteBuffer()
            for payload in payloads {
                buffer.writeString("data: ")
                buffer.writeString(payload)
                buffer.writeString("\n\n")
            }
            return buffer
        }
    }
}
