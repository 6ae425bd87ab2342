/// A path into a request's facts, resolved at compile time into a root and segments.
///
/// `metadata.plan`, `headers["x-tier"]`, `body.messages.length`, `body.messages[0].role`, `model`, `gateway`,
/// `request.tokens`, `budget.<node>.used|remaining`, `rate.<node>.remaining`.
public struct ValuePath: Sendable, Hashable, CustomStringConvertible {
    public enum Root: String, Sendable, Hashable {
        case metadata
        case headers
        case body
        case model
        case gateway
        /// `request.tokens`: the prompt's estimated tokens.
        case request
        /// `budget.<node>.used` / `.remaining` (USD in the current window, for this request's key).
        case budget
        /// `rate.<node>.remaining` (requests left in the window, for this request's key).
        case rate
    }

    /// Whether the value comes from live limit state rather than the request.
    public var isLive: Bool { root == .budget || root == .rate }

    public enum Segment: Sendable, Hashable {
        case key(String)
        case index(Int)
        /// `.length` of a list, string or object; a key named `length` on an object wins.
        case length
    }

    public let root: Root
    public let segments: [Segment]

    public init(root: Root, segments: [Segment]) {
        self.root = root
        // Header names are case-insensitive: stored lowercased, matched against lowercased facts.
        if root == .headers {
            self.segments = segments.map { if case .key(let k) = $0 { return .key(k.lowercased()) } else { return $0 } }
        } else {
            self.segments = segments
        }
    }

    public var description: String {
        var s = root.rawValue
        for seg in segments {
            switch seg {
            case .key(let k):
                if k.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) { s += ".\(k)" } else { s += "[\"\(k)\"]" }
            case .index(let i): s += "[\(i)]"
            case .length: s += ".length"
            }
        }
        return s
    }
}
