import SwitchyardProviders
import Testing

@Suite struct SSEParserTests {
    func parse(_ chunks: [String]) -> [SSEEvent] {
        var parser = SSEParser()
        var events: [SSEEvent] = []
        for chunk in chunks { events += parser.feed(Array(chunk.utf8)) }
        if let last = parser.finish() { events.append(last) }
        return events
    }

    @Test func lineEndingsOfEveryKind() {
        let expected = [SSEEvent(data: "a"), SSEEvent(data: "b"), SSEEvent(data: "c")]
        #expect(parse(["data: a\n\ndata: b\r\n\r\ndata: c\r\r"]) == expected)
    }

    @Test func carriageReturnSplitFromItsLineFeed() {
        #expect(parse(["data: a\r", "\n\r", "\ndata: b\r\n", "\r\n"]) == [SSEEvent(data: "a"), SSEEvent(data: "b")])
    }

    @Test func commentsAndOptionalSpace() {
        #expect(parse([": OPENROUTER PROCESSING\n\ndata:x\n\n:keep-alive\ndata:  y\n\n"]) == [SSEEvent(data: "x"), SSEEvent(data: " y")])
    }

    @Test func multiLineDataEventNameAndID() {
        #expect(parse(["event: message_start\nid: 7\ndata: one\ndata: two\n\n"]) == [SSEEvent(event: "message_start", data: "one\ntwo", id: "7")])
    }

    @Test func bytesSplitAnywhere() {
        let text = "data: {\"a\":1}\n\ndata: [DONE]\n\n"
        let bytes = Array(text.utf8)
        var parser = SSEParser()
        var events: [SSEEvent] = []
        for b in bytes { events += parser.feed([b]) }
        #expect(events == [SSEEvent(data: "{\"a\":1}"), SSEEvent(data: "[DONE]")])
    }

    @Test func lastEventWithoutBlankLineIsDispatchedAtTheEnd() {
        #expect(parse(["data: a\n\ndata: tail"]) == [SSEEvent(data: "a"), SSEEvent(data: "tail")])
    }

    @Test func blankLinesWithoutDataDispatchNothing() {
        #expect(parse(["\n\n\nevent: ping\n\n"]) == [])
    }
}
