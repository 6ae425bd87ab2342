import SwitchyardCore

extension RequestLogRecord {
    /// The record with U+0000 replaced by U+FFFD in every string. PostgreSQL's text and jsonb
    /// cannot hold it (one such request would fail its whole batch) and SQLite cuts a string at
    /// it; a client can send it in a body or a header. Both stores write this form.
    static func withoutNUL(_ r: RequestLogRecord) -> RequestLogRecord {
        func clean(_ s: String) -> String { s.utf8.contains(0) ? s.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}") : s }
        func clean(_ v: JSONValue) -> JSONValue {
            switch v {
            case .string(let s): .string(clean(s))
            case .array(let a): .array(a.map(clean))
            case .object(let o): .object(Dictionary(o.map { (clean($0.key), clean($0.value)) }, uniquingKeysWith: { a, _ in a }))
            default: v
            }
        }
        var r = r
        r.id = clean(r.id); r.gateway = clean(r.gateway); r.account = clean(r.account); r.provider = clean(r.provider)
        r.model = clean(r.model); r.route = r.route.map(clean); r.routePath = r.routePath.map(clean); r.path = clean(r.path)
        r.eventId = r.eventId.map(clean); r.userAgent = r.userAgent.map(clean)
        r.requestBody = r.requestBody.map(clean); r.responseBody = r.responseBody.map(clean)
        r.metadata = r.metadata.mapValues(clean)
        if r.metadata.keys.contains(where: { $0.utf8.contains(0) }) {
            r.metadata = Dictionary(r.metadata.map { (clean($0.key), $0.value) }, uniquingKeysWith: { a, _ in a })
        }
        return r
    }

}
