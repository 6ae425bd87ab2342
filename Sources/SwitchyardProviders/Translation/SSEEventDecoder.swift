/// One server-sent event: the `event:` name (nil when absent) and the joined `data:` lines.
public struct SSEEvent: Sendable, Hashable {
    public var event: String?
    public var data: String

    public init(event: String?, data: String) {
        self.event = event
        self.data = data
    }
}

/// Incremental WHATWG-style SSE parsing: lines end in LF, CRLF or CR (Google sends CRLF), an event
/// ends at a blank line, `:` lines are comments, the space after `field:` is optional. Bytes can be fed
/// in any split, including between the CR and LF of one line break.
public struct SSEEventDecoder: Sendable {
    private var line: [UInt8] = []
    private var lastWasCR = false
    private var event: String?
    private var data: [String] = []
    private var hasData = false

    public init() {}

    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [SSEEvent] {
        var out: [SSEEvent] = []
        for b in bytes {
            if lastWasCR {
                lastWasCR = false
                if b == 0x0A { continue }
            }
            switch b {
            case 0x0D:
                lastWasCR = true
                endLine(into: &out)
            case 0x0A:
                endLine(into: &out)
            default:
                line.append(b)
            }
        }
        return out
    }

    /// End of the body: an event not followed by a blank line is still delivered.
    public mutating func finish() -> [SSEEvent] {
        var out: [SSEEvent] = []
        if !line.isEmpty { endLine(into: &out) }
        dispatch(into: &out)
        return out
    }

    private mutating func endLine(into out: inout [SSEEvent]) {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty {
            dispatch(into: &out)
            return
        }
        if line.first == UInt8(ascii: ":") { return }
        let text = String(decoding: line, as: UTF8.self)
        let field: Substring
        var value: Substring
        if let colon = text.firstIndex(of: ":") {
            field = text[..<colon]
            value = text[text.index(after: colon)...]
            if value.first == " " { value = value.dropFirst() }
        } else {
            field = Substring(text)
            value = ""
        }
        switch field {
        case "event": event = String(value)
        case "data":
            data.append(String(value))
            hasData = true
        default: break
        }
    }

    private mutating func dispatch(into out: inout [SSEEvent]) {
        if hasData { out.append(SSEEvent(event: event, data: data.joined(separator: "\n"))) }
        event = nil
        data.removeAll(keepingCapacity: true)
        hasData = false
    }
}
