/// A compiled route: an immutable decision graph of nodes in an array with integer edges.
///
/// Built once by the compiler, shared by every request; hot reload swaps a whole new graph in.
public struct RouteGraph: Sendable {
    /// The route's name (`dynamic/<name>`).
    public let name: String
    public let description: String?
    /// Content hash of the source (first 12 hex digits of SHA-256): the route's version.
    public let version: String
    /// The file the route came from, as given to the compiler.
    public let sourcePath: String
    /// The file's text: stored with the version (`RouteVersionStore`) so that any instance can
    /// show, diff or recompile a version it never loaded itself.
    public let source: String
    public let nodes: [RouteNode]
    public let start: NodeIndex
    /// What of the request body the route's conditions and keys read, so that a request decodes
    /// only those members (most routes read none, and `messages` can be megabytes).
    public let bodyReads: BodyReads
    /// Every fact of the request the route reads (headers, body members, `request.tokens`): what
    /// the request log keeps of a request to it (`RouteFacts`), so `simulate` can replay it.
    public let reads: RouteReads

    public init(name: String, description: String?, version: String, sourcePath: String, source: String = "", nodes: [RouteNode], start: NodeIndex) {
        self.source = source
        self.name = name
        self.description = description
        self.version = version
        self.sourcePath = sourcePath
        self.nodes = nodes
        self.start = start
        bodyReads = BodyReads(nodes)
        reads = RouteReads(nodes)
    }

    /// `name@version`, as sent in `x-switchyard-route`.
    public var qualifiedName: String { "\(name)@\(version)" }
}

public typealias NodeIndex = Int

public struct RouteNode: Sendable {
    /// The node's name in the source; inline model targets get a synthetic name equal to the model id.
    public let name: String
    public let kind: Kind
    public let location: SourceLocation?

    public init(name: String, kind: Kind, location: SourceLocation?) {
        self.name = name
        self.kind = kind
        self.location = location
    }

    public enum Kind: Sendable {
        case conditional(Conditional)
        case split(Split)
        case pick(Pick)
        case rateLimit(RateLimit)
        case budget(Budget)
        case model(ModelNode)
        case reject(Reject)
    }

    public struct Conditional: Sendable {
        public let condition: Condition
        /// The condition as written, for `explain` and `graph`.
        public let source: String
        public let then: NodeIndex
        public let `else`: NodeIndex
        /// `budget.<node>.…` and `rate.<node>.…` paths: read from the limit store just before evaluating.
        public let livePaths: [ValuePath]
        public init(condition: Condition, source: String, then: NodeIndex, else: NodeIndex) {
            self.condition = condition
            self.source = source
            self.then = then
            self.else = `else`
            self.livePaths = condition.paths.filter(\.isLive)
        }
    }

    public struct Split: Sendable {
        public struct Arm: Sendable {
            /// Percentage, 0 < weight <= 100.
            public let weight: Double
            public let target: NodeIndex
            public init(weight: Double, target: NodeIndex) {
                self.weight = weight
                self.target = target
            }
        }
        public let arms: [Arm]
        /// Cumulative upper bounds of the arms in [0, 1]: arm i covers [bounds[i-1], bounds[i]).
        /// A position that does not move when weights change keeps its arm unless its band moved.
        public let upperBounds: [Double]
        /// When set, the position is a hash of this value, so a key always takes the same arm.
        public let sticky: ValuePath?
        /// Weights that follow feedback (`adaptive:`); `feedbackKey` is its key in `FeedbackStats`.
        public let adaptive: AdaptiveSplit?
        public let feedbackKey: FeedbackKey?
        public init(arms: [Arm], sticky: ValuePath?, adaptive: AdaptiveSplit? = nil, feedbackKey: FeedbackKey? = nil) {
            self.arms = arms
            self.sticky = sticky
            self.adaptive = adaptive
            self.feedbackKey = feedbackKey
            var total = 0.0
            var bounds: [Double] = []
            for arm in arms {
                total += arm.weight
                bounds.append(total / 100)
            }
            if !bounds.isEmpty { bounds[bounds.count - 1] = 1.0 }
            self.upperBounds = bounds
        }
    }

    /// Chooses among arms by their live figures (`pick:`), see `PickStats`.
    public struct Pick: Sendable {
        public let arms: [NodeIndex]
        public let spec: PickSpec
        /// The node's key in `PickStats`, built once by the compiler.
        public let key: PickKey
        public init(arms: [NodeIndex], spec: PickSpec, key: PickKey) {
            self.arms = arms
            self.spec = spec
            self.key = key
        }
    }

    public enum WindowTechnique: String, Sendable {
        case fixed
        case sliding
    }

    public struct RateLimit: Sendable {
        /// Requests allowed per window (for `limitType: count`), or USD per window for `cost`.
        public let limit: Double
        public let window: Seconds
        public let key: ValuePath?
        public let technique: WindowTechnique
        public let then: NodeIndex
        public let exceeded: NodeIndex
        public init(limit: Double, window: Seconds, key: ValuePath?, technique: WindowTechnique, then: NodeIndex, exceeded: NodeIndex) {
            self.limit = limit
            self.window = window
            self.key = key
            self.technique = technique
            self.then = then
            self.exceeded = exceeded
        }
    }

    public struct Budget: Sendable {
        /// USD per window.
        public let limit: Double
        public let window: Seconds
        public let key: ValuePath?
        public let then: NodeIndex
        public let exceeded: NodeIndex
        /// The highest prices of any model reachable through `then`, computed at compile time:
        /// the reservation made before dispatch uses them, so it never underestimates.
        public let reservationPrice: ModelPrice
        public init(limit: Double, window: Seconds, key: ValuePath?, then: NodeIndex, exceeded: NodeIndex, reservationPrice: ModelPrice) {
            self.limit = limit
            self.window = window
            self.key = key
            self.then = then
            self.exceeded = exceeded
            self.reservationPrice = reservationPrice
        }
    }

    public struct ModelNode: Sendable {
        public let target: ModelTarget
        /// Time to first byte, per attempt.
        public let timeout: Seconds?
        /// Extra attempts after the first one.
        public let retries: Int
        public let backoff: Backoff
        /// Request parameters overridden for this model.
        public let set: [String: JSONValue]
        public let fallback: NodeIndex?
        /// Failures that are tried again (`retry_on`), while retries are left.
        public let retryOn: FailureMatcher
        /// Failures that move on to `fallback` (`fallback_on`); any other failure ends the request
        /// with that failure.
        public let fallbackOn: FailureMatcher
        /// Skips the node while its target keeps failing (`breaker:`).
        public let breaker: BreakerSpec?
        /// Skips the node while this many of its attempts are in flight (`max_concurrency:`).
        public let maxConcurrency: Int?
        /// A copy of some of the node's requests to another model, answer logged, never returned (`mirror:`).
        public let mirror: Mirror?
        /// Whether the node asks the live target state before each attempt.
        public var isGated: Bool { breaker != nil || maxConcurrency != nil }
        public init(target: ModelTarget, timeout: Seconds?, retries: Int, backoff: Backoff, set: [String: JSONValue], fallback: NodeIndex?,
                    retryOn: FailureMatcher = .defaultRetry, fallbackOn: FailureMatcher = .defaultFallback,
                    breaker: BreakerSpec? = nil, maxConcurrency: Int? = nil, mirror: Mirror? = nil) {
            self.mirror = mirror
            self.breaker = breaker
            self.maxConcurrency = maxConcurrency
            self.target = target
            self.timeout = timeout
            self.retries = retries
            self.backoff = backoff
            self.set = set
            self.fallback = fallback
            self.retryOn = retryOn
            self.fallbackOn = fallbackOn
        }
    }

    /// `mirror: { to: node, share: 5% }`: `target` is a model node.
    public struct Mirror: Sendable {
        public let target: NodeIndex
        /// 0 < share <= 1.
        public let share: Double
        public init(target: NodeIndex, share: Double) {
            self.target = target
            self.share = share
        }
    }

    public struct Reject: Sendable {
        public let status: Int
        public let message: String?
        public init(status: Int, message: String?) {
            self.status = status
            self.message = message
        }
    }
}

/// A duration in seconds.
public typealias Seconds = Double

/// `provider/model`, split at the first `/`.
public struct ModelTarget: Sendable, Hashable, CustomStringConvertible {
    public let provider: String
    public let model: String
    public init(provider: String, model: String) {
        self.provider = provider
        self.model = model
    }

    /// Parses `provider/model`; nil when there is no `/` or either side is empty.
    public init?(_ id: String) {
        guard let slash = id.firstIndex(of: "/") else { return nil }
        let p = String(id[..<slash])
        let m = String(id[id.index(after: slash)...])
        guard !p.isEmpty, !m.isEmpty else { return nil }
        self.provider = p
        self.model = m
    }

    public var description: String { "\(provider)/\(model)" }
}

public struct Backoff: Sendable, Hashable {
    public enum Mode: String, Sendable, CaseIterable {
        case constant
        case linear
        case exponential
    }
    public var delay: Seconds
    public var mode: Mode
    public init(delay: Seconds, mode: Mode) {
        self.delay = delay
        self.mode = mode
    }
    public static let `default` = Backoff(delay: 0.25, mode: .exponential)

    /// Delay before retry number `retry` (1-based), without jitter:
    /// constant: d; linear: d × n; exponential: d × 2^(n-1).
    public func delay(beforeRetry retry: Int) -> Seconds {
        let n = Double(max(retry, 1))
        switch mode {
        case .constant: return delay
        case .linear: return delay * n
        case .exponential: return delay * Double(1 << min(retry - 1, 20))
        }
    }
}

/// The parts of the request body a route reads: none, some top-level members, or the whole body
/// (a path that is `body` itself, `body.length` or `body[i]`).
public enum BodyReads: Sendable, Equatable {
    case none
    case members(Set<String>)
    case whole

    init(_ nodes: [RouteNode]) {
        var reads = BodyReads.none
        func add(_ path: ValuePath?) {
            // `request.tokens` counts the text of the prompt's members.
            if path?.root == .request, reads != .whole {
                for key in ["messages", "prompt", "input"] { add(ValuePath(root: .body, segments: [.key(key)])) }
                return
            }
            guard let path, path.root == .body, reads != .whole else { return }
            guard case .key(let key)? = path.segments.first else {
                reads = .whole
                return
            }
            if case .members(let keys) = reads { reads = .members(keys.union([key])) } else { reads = .members([key]) }
        }
        func add(_ operand: Operand) { if case .path(let p) = operand { add(p) } }
        func add(_ condition: Condition) {
            switch condition {
            case .constant: break
            case .compare(let l, _, let r), .contains(let l, let r), .startsWith(let l, let r):
                add(l)
                add(r)
            case .member(let o, _, _), .matches(let o, _): add(o)
            case .exists(let p): add(p)
            case .and(let cs), .or(let cs): cs.forEach(add)
            case .not(let c): add(c)
            }
        }
        for node in nodes {
            switch node.kind {
            case .conditional(let c): add(c.condition)
            case .split(let s): add(s.sticky)
            case .rateLimit(let r): add(r.key)
            case .budget(let b): add(b.key)
            case .pick, .model, .reject: break
            }
        }
        self = reads
    }
}
