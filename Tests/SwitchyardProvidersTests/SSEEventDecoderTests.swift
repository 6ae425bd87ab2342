import SwitchyardProviders
import Testing

/// The WHATWG rules the gateway relies on when it re-frames upstream streams.
@Suite struct SSEEventDecoderTests {
    func parse(_ chunks: [String]) -> [SSEEvent] {
        var parser = SSEEventDecoder()
        var events: [SSEEvent] = []
        for chunk in chunks { events += parser.feed(Array(chunk.utf8)) }
        events += parser.finish()
        return events
    }

    @Test func lineEndingsOfEveryKind() {
        let expected = [SSEEvent(event: nil, data: "a"), SSEEvent(event: nil, data: "b"), SSEEvent(event: nil, data: "c")]
        #expect(parse(["data: a\n\ndata: b\r\n\r\ndata: c\r\r"]) == expected)
    }

    @Test func carriageReturnSplitFromItsLineFeed() {
        #expect(parse(["data: a\r", "\n\r", "\ndata: b\r\n", "\r\n"]) == [SSEEvent(event: nil, data: "a"), SSEEvent(event: nil, data: "b")])
    }

    @Test func commentsAndOptionalSpace() {
        #expect(parse([": OPENROUTER PROCESSING\n\ndata:x\n\n:keep-alive\ndata:  y\n\n"]) == [SSEEvent(event: nil, data: "x"), SSEEvent(event: nil, data: " y")])
    }

    @Test func multiLineDataEventNameAndID() {
        #expect(parse(["event: message_start\nid: 7\ndata: one\ndata: two\n\n"]) == [SSEEvent(event: "message_start", data: "one\ntwo")])
    }

    @Test func bytesSplitAnywhere() {
        let text = "data: {\"a\":1}\n\ndata: [DONE]\n\n"
        let bytes = Array(text.utf8)
        var parser = SSEEventDecoder()
        var events: [SSEEvent] = []
        for b in bytes { events += parser.feed([b]) }
        #expect(events == [SSEEvent(event: nil, data: "{\"a\":1}"), SSEEvent(event: nil, data: "[DONE]")])
    }

    @Test func lastEventWithoutBlankLineIsDispatchedAtTheEnd() {
        #expect(parse(["data: a\n\ndata: tail"]) == [SSEEvent(event: nil, data: "a"), SSEEvent(event: nil, data: "tail")])
    }

    @Test func blankLinesWithoutDataDispatchNothing() {
        #expect(parse(["\n\n\nevent: ping\n\n"]) == [])
    }
}
