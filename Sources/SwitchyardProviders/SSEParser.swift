/// One server-sent event.
public struct SSEEvent: Sendable, Hashable {
    public var event: String?
    public var data: String
    public var id: String?

    public init(event: String? = nil, data: String, id: String? = nil) {
        self.event = event
        self.data = data
        self.id = id
    }
}

/// An incremental server-sent-events parser following the WHATWG rules: lines end with `\n`, `\r\n`
/// or `\r` (a `\r` split from its `\n` across two chunks counts once), `:` starts a comment, one space
/// after the field's colon is dropped, `data` lines are joined with `\n`, a blank line dispatches.
public struct SSEParser: Sendable {
    private var line: [UInt8] = []
    private var data: [UInt8] = []
    private var hasData = false
    private var eventName: String?
    private var lastEventID: String?
    private var skipLineFeed = false

    public init() {}

    /// Feeds the next bytes of the stream; returns the events they complete.
    public mutating func feed<Bytes: Sequence>(_ bytes: Bytes) -> [SSEEvent] where Bytes.Element == UInt8 {
        var events: [SSEEvent] = []
        for byte in bytes {
            if skipLineFeed {
                skipLineFeed = false
                if byte == UInt8(ascii: "\n") { continue }
            }
            switch byte {
            case UInt8(ascii: "\n"):
                if let event = processLine() { events.append(event) }
            case UInt8(ascii: "\r"):
                skipLineFeed = true
                if let event = processLine() { events.append(event) }
            default:
                line.append(byte)
            }
        }
        return events
    }

    /// The end of the stream: a last event not followed by a blank line is dispatched too, as
    /// providers that close the connection right after the last `data:` line expect.
    public mutating func finish() -> SSEEvent? {
        if !line.isEmpty { _ = processLine() }
        return dispatch()
    }

    private mutating func processLine() -> SSEEvent? {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty { return dispatch() }
        if line[0] == UInt8(ascii: ":") { return nil }
        let colon = line.firstIndex(of: UInt8(ascii: ":"))
        let name = colon.map { line[..<$0] } ?? line[...]
        var valueStart = colon.map { $0 + 1 } ?? line.endIndex
        if valueStart < line.endIndex, line[valueStart] == UInt8(ascii: " ") { valueStart += 1 }
        let value = line[valueStart...]
        switch String(decoding: name, as: UTF8.self) {
        case "data":
            if hasData { data.append(UInt8(ascii: "\n")) }
            data.append(contentsOf: value)
            hasData = true
        case "event":
            eventName = String(decoding: value, as: UTF8.self)
        case "id":
            if !value.contains(0) { lastEventID = String(decoding: value, as: UTF8.self) }
        default:
            break
        }
        return nil
    }

    private mutating func dispatch() -> SSEEvent? {
        defer {
            data.removeAll(keepingCapacity: true)
            hasData = false
            eventName = nil
        }
        guard hasData else { return nil }
        return SSEEvent(event: eventName, data: String(decoding: data, as: UTF8.self), id: lastEventID)
    }
}
