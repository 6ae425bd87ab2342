/// One request as the fake received it.
public struct RecordedRequest: Sendable {
    public var method: String
    /// Path and query as sent, e.g. `/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse`.
    public var uri: String
    public var path: String
    public var query: String?
    /// In arrival order, names as sent.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// Distinguishes connections, so tests can check keep-alive reuse.
    public var connectionID: Int

    public init(method: String, uri: String, headers: [(name: String, value: String)], body: [UInt8], connectionID: Int) {
        self.method = method
        self.uri = uri
        if let mark = uri.firstIndex(of: "?") {
            path = String(uri[..<mark])
            query = String(uri[uri.index(after: mark)...])
        } else {
            path = uri
            query = nil
        }
        self.headers = headers
        self.body = body
        self.connectionID = connectionID
    }

    public var bodyText: String { String(decoding: body, as: UTF8.self) }

    /// First value of the header, case-insensitively.
    public func header(_ name: String) -> String? {
        let lowered = name.lowercased()
        return headers.first { $0.name.lowercased() == lowered }?.value
    }

    /// The `model` field of a JSON body, if any.
    public var model: String? { JSONValue.parse(body)?["model"]?.string }
}
