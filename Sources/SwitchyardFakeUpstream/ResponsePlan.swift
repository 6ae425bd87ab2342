/// One server-sent event. `name` is Anthropic's `event:` line.
struct SSEEvent: Sendable, Equatable {
    var name: String?
    var data: String

    init(name: String? = nil, data: String) {
        self.name = name
        self.data = data
    }

    func bytes(lineEnding: String) -> [UInt8] {
        var text = ""
        if let name { text += "event: " + name + lineEnding }
        text += "data: " + data + lineEnding + lineEnding
        return Array(text.utf8)
    }
}

/// Everything the connection handler must do to answer one request; built without I/O.
struct ResponsePlan: Sendable {
    enum Body: Sendable {
        case full([UInt8])
        /// Each element is one framed event, written separately with `chunkIntervalMs` between them.
        case stream([[UInt8]])
        /// No response at all: RST the connection.
        case resetBeforeFirstByte
    }

    var status: Int
    var headers: [(String, String)]
    var body: Body
    var latencyMs: Int = 0
    var chunkIntervalMs: Int = 0
    /// When set, RST the connection after this many stream events (or after half of a full body).
    var resetAfterEvents: Int?

    var isStream: Bool {
        if case .stream = body { return true }
        return false
    }

    static func json(status: Int = 200, _ text: String, headers: [(String, String)] = [], contentType: String = "application/json") -> ResponsePlan {
        ResponsePlan(status: status, headers: [("content-type", contentType)] + headers, body: .full(Array(text.utf8)))
    }

    /// `events` become SSE frames; `malformedIndex` (if any) has its JSON cut in half.
    static func sse(
        _ events: [SSEEvent],
        lineEnding: String = "\n",
        malformedIndex: Int?,
        headers: [(String, String)] = [],
        contentType: String = "text/event-stream; charset=utf-8"
    ) -> ResponsePlan {
        var events = events
        if let index = malformedIndex, events.indices.contains(index) {
            let data = events[index].data
            events[index].data = String(data.prefix(max(1, data.count / 2)))
        }
        return ResponsePlan(
            status: 200,
            headers: [("content-type", contentType), ("cache-control", "no-cache")] + headers,
            body: .stream(events.map { $0.bytes(lineEnding: lineEnding) })
        )
    }
}
