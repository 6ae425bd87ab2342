/// One request's walk through a route graph.
///
/// `start` walks from the start node to the first model attempt (or a rejection); each
/// `fallback` continues from the current model node's `fallback` edge after that model failed
/// (after its retries, or its timeout). Clock and randomness are injected.
public struct RouteRun: Sendable {
    public let graph: RouteGraph
    /// Nodes visited, in order (`x-switchyard-path`).
    public private(set) var visited: [NodeIndex] = []
    /// Budget reservations made on the way; reconcile each with the real cost when the response ends.
    public private(set) var reservations: [BudgetReservation] = []
    /// What happened at each node, kept only when tracing (for `explain`).
    public private(set) var trace: [TraceEvent]?
    /// 0-based number of the model attempt handed out last (`cf-aig-step`).
    public private(set) var step: Int = -1
    /// The arm taken at each `pick:` node on the way; report the request's outcome to `pickStats`.
    public private(set) var picks: [PickChoice] = []
    /// Copies to send (`mirror:` of the model nodes attempted, drawn by their share); their answers
    /// are logged, never returned, and count against no limit.
    public private(set) var mirrors: [RouteMirror] = []
    /// Live figures of `pick:` nodes; without them (`explain`), every arm counts as unmeasured.
    public let pickStats: PickStats?
    /// Feedback of adaptive splits; without it, they keep their written weights.
    public let feedback: FeedbackStats?
    private var currentModel: NodeIndex?

    public init(graph: RouteGraph, tracing: Bool = false, pickStats: PickStats? = nil, feedback: FeedbackStats? = nil) {
        self.graph = graph
        self.trace = tracing ? [] : nil
        self.pickStats = pickStats
        self.feedback = feedback
        self.visited.reserveCapacity(8)
    }

    /// `a>b>c`: the names of the visited nodes.
    public var pathDescription: String { visited.map { graph.nodes[$0].name }.joined(separator: ">") }

    /// `gate`: the live target state asked at model nodes with a `breaker` or `max_concurrency`;
    /// without one (`explain`), those nodes are never skipped.
    public mutating func start<R: RandomNumberGenerator>(
        facts: RequestFacts, limits: any LimitStore, now: Double, rng: inout R, gate: (any TargetGate)? = nil
    ) -> RouteStep {
        walk(from: graph.start, facts: facts, limits: limits, now: now, rng: &rng, gate: gate)
    }

    /// The current model failed: continue along its `fallback`, or end the route.
    public mutating func fallback<R: RandomNumberGenerator>(
        facts: RequestFacts, limits: any LimitStore, now: Double, rng: inout R, gate: (any TargetGate)? = nil
    ) -> RouteStep {
        guard let current = currentModel, case .model(let m) = graph.nodes[current].kind else { return .exhausted }
        currentModel = nil
        guard let next = m.fallback else {
            trace?.append(.exhausted(node: graph.nodes[current].name))
            return .exhausted
        }
        trace?.append(.fallback(from: graph.nodes[current].name, to: graph.nodes[next].name))
        return walk(from: next, facts: facts, limits: limits, now: now, rng: &rng, gate: gate)
    }

    private mutating func walk<R: RandomNumberGenerator>(
        from start: NodeIndex, facts: RequestFacts, limits: any LimitStore, now: Double, rng: inout R, gate: (any TargetGate)?
    ) -> RouteStep {
        var index = start
        // The compiler rejects cycles; the bound keeps a hand-built graph from spinning forever.
        for _ in 0...(graph.nodes.count * 2 + 2) {
            visited.append(index)
            let node = graph.nodes[index]
            switch node.kind {
            case .conditional(let c):
                let result: Bool
                if c.livePaths.isEmpty {
                    result = c.condition.evaluate(facts)
                } else {
                    var withLive = facts
                    for path in c.livePaths { withLive.live[path] = liveValue(path, facts: facts, limits: limits, now: now) }
                    result = c.condition.evaluate(withLive)
                    trace?.append(.live(node: node.name, values: withLive.live))
                }
                trace?.append(.condition(node: node.name, source: c.source, result: result))
                index = result ? c.then : c.else

            case .split(let s):
                let position: Double
                var stickyValue: String?
                if let path = s.sticky {
                    let key = Self.keyValue(facts.resolve(path))
                    stickyValue = key
                    position = StickyHash.position(route: graph.name, node: node.name, key: key)
                } else {
                    position = Double(rng.next() >> 11) * 0x1p-53
                }
                var arm = s.arms.count - 1
                var weight = s.arms[arm].weight
                if let key = s.feedbackKey, let feedback {
                    // Bands from the live shares: a sticky key moves only when the band it is in moved.
                    let shares = feedback.shares(key, prior: s.arms.map(\.weight), now: now)
                    var bound = 0.0
                    for (i, share) in shares.enumerated() {
                        bound += share
                        if position < bound || i == shares.count - 1 {
                            arm = i
                            break
                        }
                    }
                    weight = shares[arm] * 100
                } else {
                    for (i, bound) in s.upperBounds.enumerated() where position < bound {
                        arm = i
                        break
                    }
                    weight = s.arms[arm].weight
                }
                trace?.append(.split(node: node.name, arm: arm, weight: weight, target: graph.nodes[s.arms[arm].target].name, position: position, sticky: stickyValue))
                index = s.arms[arm].target

            case .pick(let p):
                let chosen = (pickStats ?? PickStats.unmeasured).choose(p.key, now: now, rng: &rng)
                picks.append(PickChoice(key: p.key, arm: chosen.arm, step: step + 1))
                if trace != nil {
                    trace?.append(.pick(node: node.name, arm: chosen.arm, target: graph.nodes[p.arms[chosen.arm]].name, explored: chosen.explored,
                                        figures: (pickStats ?? PickStats.unmeasured).figures(p.key, now: now)))
                }
                index = p.arms[chosen.arm]

            case .rateLimit(let r):
                let keyValue = r.key.map { Self.keyValue(facts.resolve($0)) } ?? ""
                let key = LimitKey(route: graph.name, node: node.name, keyValue: keyValue)
                let decision = limits.consume(key, cost: 1, limit: r.limit, window: r.window, technique: r.technique, now: now)
                trace?.append(.rateLimit(node: node.name, key: keyValue, limit: r.limit, window: r.window, decision: decision))
                switch decision {
                case .allowed:
                    index = r.then
                case .exceeded(let retryAfter):
                    if isReject(r.exceeded) {
                        visited.append(r.exceeded)
                        return .rejected(RouteRejection(
                            node: node.name, kind: .rateLimit, retryAfter: retryAfter,
                            message: "Route '\(graph.name)' rate limit '\(node.name)' exceeded: \(Self.format(r.limit)) requests per \(DurationText.format(r.window)) for key '\(LimitKeyText.display(keyValue))'"))
                    }
                    index = r.exceeded
                case .tooManyKeys(let retryAfter):
                    if isReject(r.exceeded) {
                        visited.append(r.exceeded)
                        return .rejected(Self.tooManyKeys(graph: graph.name, node: node.name, kind: .rateLimit, keyValue: keyValue, retryAfter: retryAfter))
                    }
                    index = r.exceeded
                }

            case .budget(let b):
                let keyValue = b.key.map { Self.keyValue(facts.resolve($0)) } ?? ""
                let key = LimitKey(route: graph.name, node: node.name, keyValue: keyValue)
                let estimate = b.reservationPrice.cost(of: Usage(promptTokens: facts.estimatedInputTokens, completionTokens: facts.estimatedOutputTokens))
                let decision = limits.reserve(key, amount: estimate, limit: b.limit, window: b.window, now: now)
                trace?.append(.budget(node: node.name, key: keyValue, limit: b.limit, window: b.window, estimate: estimate, decision: decision))
                switch decision {
                case .reserved(let reservation):
                    reservations.append(reservation)
                    index = b.then
                case .exceeded(let retryAfter):
                    if isReject(b.exceeded) {
                        visited.append(b.exceeded)
                        return .rejected(RouteRejection(
                            node: node.name, kind: .budget, retryAfter: retryAfter,
                            message: "Route '\(graph.name)' budget '\(node.name)' exceeded: $\(Self.format(b.limit)) per \(DurationText.format(b.window)) for key '\(LimitKeyText.display(keyValue))'"))
                    }
                    index = b.exceeded
                case .tooManyKeys(let retryAfter):
                    if isReject(b.exceeded) {
                        visited.append(b.exceeded)
                        return .rejected(Self.tooManyKeys(graph: graph.name, node: node.name, kind: .budget, keyValue: keyValue, retryAfter: retryAfter))
                    }
                    index = b.exceeded
                }

            case .model(let m):
                var gateKey: TargetKey?
                if m.isGated, let gate {
                    let key = TargetKey(route: graph.name, node: node.name, target: m.target, breaker: m.breaker, maxConcurrency: m.maxConcurrency)
                    let admission = gate.admit(key, now: now)
                    switch admission {
                    case .allowed, .probe:
                        gateKey = key
                    case .breakerOpen, .full:
                        // Skipped like a failed attempt: on to the fallback, else the route ends.
                        trace?.append(.skipped(node: node.name, admission: admission))
                        if let next = m.fallback {
                            trace?.append(.fallback(from: node.name, to: graph.nodes[next].name))
                            index = next
                            continue
                        }
                        // After a failed attempt the client gets that attempt's error; with none, 503.
                        if step >= 0 { return .exhausted }
                        let why: String
                        if case .full(let limit) = admission {
                            why = "\(limit) attempts are in flight (max_concurrency)"
                        } else {
                            why = "its circuit breaker is open"
                        }
                        let retryAfter: Seconds? = if case .breakerOpen(let retryAt) = admission { max(retryAt - now, 1) } else { nil }
                        return .rejected(RouteRejection(
                            node: node.name, kind: .unavailable, retryAfter: retryAfter,
                            message: "Route '\(graph.name)' skipped '\(node.name)' (\(m.target)): \(why), and it has no fallback"))
                    }
                }
                step += 1
                currentModel = index
                trace?.append(.model(node: node.name, target: m.target, step: step))
                if let mirror = m.mirror, case .model(let copy) = graph.nodes[mirror.target].kind {
                    let sent = mirror.share >= 1 || Double(rng.next() >> 11) * 0x1p-53 < mirror.share
                    if sent {
                        mirrors.append(RouteMirror(node: node.name, mirrorNode: graph.nodes[mirror.target].name, target: copy.target, timeout: copy.timeout, set: copy.set))
                    }
                    trace?.append(.mirror(node: node.name, to: graph.nodes[mirror.target].name, share: mirror.share, sent: sent))
                }
                return .attempt(RouteAttempt(node: index, nodeName: node.name, step: step, target: m.target, timeout: m.timeout, retries: m.retries, backoff: m.backoff, set: m.set,
                                             retryOn: m.retryOn, fallbackOn: m.fallback == nil ? .never : m.fallbackOn, gateKey: gateKey))

            case .reject(let r):
                trace?.append(.reject(node: node.name, status: r.status))
                return .rejected(RouteRejection(
                    node: node.name, kind: .reject, chosenStatus: r.status, retryAfter: nil,
                    message: r.message ?? "Route '\(graph.name)' rejected the request at '\(node.name)'"))
            }
        }
        return .exhausted
    }

    /// `budget.<node>.used|remaining` (USD spent plus reserved in the current window) and
    /// `rate.<node>.remaining` (requests), for this request's key of that node. The compiler
    /// checked that the node exists and has that kind.
    func liveValue(_ path: ValuePath, facts: RequestFacts, limits: any LimitStore, now: Double) -> Double? {
        guard path.segments.count == 2, case .key(let name) = path.segments[0], case .key(let field) = path.segments[1],
              let node = graph.nodes.first(where: { $0.name == name }) else { return nil }
        switch node.kind {
        case .budget(let b) where path.root == .budget:
            let key = LimitKey(route: graph.name, node: name, keyValue: b.key.map { Self.keyValue(facts.resolve($0)) } ?? "")
            let usage = limits.budgetUsage(key, window: b.window, now: now)
            let used = usage.spent + usage.reserved
            return field == "used" ? used : max(0, b.limit - used)
        case .rateLimit(let r) where path.root == .rate:
            let key = LimitKey(route: graph.name, node: name, keyValue: r.key.map { Self.keyValue(facts.resolve($0)) } ?? "")
            let count = limits.rateCount(key, window: r.window, technique: r.technique, now: now) ?? 0
            return max(0, r.limit - count)
        default:
            return nil
        }
    }

    private func isReject(_ index: NodeIndex) -> Bool {
        if case .reject(let r) = graph.nodes[index].kind, r.status == 429, r.message == nil { return true }
        return false
    }

    /// A new key refused because the limit store is full (fail closed, as if exceeded).
    static func tooManyKeys(graph: String, node: String, kind: RouteRejection.Kind, keyValue: String, retryAfter: Seconds) -> RouteRejection {
        RouteRejection(
            node: node, kind: kind, retryAfter: retryAfter,
            message: "Route '\(graph)' \(kind.rawValue) '\(node)' refused key '\(LimitKeyText.display(keyValue))': the limit has too many distinct keys (limits.max_limit_keys)")
    }

    /// The bucket a limit or sticky split keys on, bounded in length (`LimitKeyText.bounded`).
    static func keyValue(_ value: JSONValue?) -> String {
        LimitKeyText.bounded(keyString(value))
    }

    /// The bucket a limit or sticky split keys on: strings as they are, other values as JSON;
    /// missing values share the bucket "".
    static func keyString(_ value: JSONValue?) -> String {
        switch value {
        case nil, .null?: ""
        case .string(let s)?: s
        case .number(let n)?: n.rounded() == n && abs(n) < 1e15 ? String(Int64(n)) : String(n)
        case .bool(let b)?: b ? "true" : "false"
        case let v?: v.canonicalJSON
        }
    }

    static func format(_ x: Double) -> String {
        x.rounded() == x && abs(x) < 1e15 ? String(Int64(x)) : String(x)
    }
}

public enum RouteStep: Sendable {
    case attempt(RouteAttempt)
    case rejected(RouteRejection)
    /// No model left to try: the request ends with the last upstream error.
    case exhausted
}

public struct RouteAttempt: Sendable {
    public let node: NodeIndex
    public let nodeName: String
    /// 0-based attempt number across the whole route (`cf-aig-step`).
    public let step: Int
    public let target: ModelTarget
    public let timeout: Seconds?
    public let retries: Int
    public let backoff: Backoff
    public let set: [String: JSONValue]
    public let retryOn: FailureMatcher
    /// `.never` when the node has no fallback: its failure is the request's answer either way.
    public let fallbackOn: FailureMatcher
    /// Set when the gate admitted the attempt: its outcome must be reported to the gate's holder.
    public var gateKey: TargetKey? = nil
}

/// A copy of the request for a `mirror:` target: the target node's model, timeout and `set`, no
/// retries and no fallback.
public struct RouteMirror: Sendable, Equatable {
    /// The node whose attempt is mirrored.
    public let node: String
    public let mirrorNode: String
    public let target: ModelTarget
    public let timeout: Seconds?
    public let set: [String: JSONValue]
}

/// A route ended the request itself: a limit or budget refused it, or it reached a `reject` node.
/// What that becomes on the wire (status, error code) is the server's decision.
public struct RouteRejection: Sendable, Error {
    public enum Kind: String, Sendable { case rateLimit = "rate limit", budget, reject, unavailable }
    public let node: String
    public let kind: Kind
    /// The status a `reject` node names; nil for limits and budgets.
    public let chosenStatus: Int?
    public let retryAfter: Seconds?
    public let message: String

    public init(node: String, kind: Kind, chosenStatus: Int? = nil, retryAfter: Seconds?, message: String) {
        self.node = node
        self.kind = kind
        self.chosenStatus = chosenStatus
        self.retryAfter = retryAfter
        self.message = message
    }
}

public enum TraceEvent: Sendable {
    case condition(node: String, source: String, result: Bool)
    case split(node: String, arm: Int, weight: Double, target: String, position: Double, sticky: String?)
    case rateLimit(node: String, key: String, limit: Double, window: Seconds, decision: RateDecision)
    case budget(node: String, key: String, limit: Double, window: Seconds, estimate: Double, decision: BudgetDecision)
    case model(node: String, target: ModelTarget, step: Int)
    case fallback(from: String, to: String)
    case exhausted(node: String)
    case reject(node: String, status: Int)
    /// The live limit values a condition read (`budget.<node>.remaining`), just before its `.condition`.
    case live(node: String, values: [ValuePath: Double])
    /// A model node passed over without an attempt: breaker open or `max_concurrency` reached.
    case skipped(node: String, admission: TargetAdmission)
    /// A model node's `mirror:` draw: `sent` when this request is copied.
    case mirror(node: String, to: String, share: Double, sent: Bool)
    /// A `pick:` node's choice, with each arm's figures as they were (`explored`: drawn at random).
    case pick(node: String, arm: Int, target: String, explored: Bool, figures: [PickFigure])
}

/// Stable hashing of sticky keys: FNV-1a over route, node and key, finished with SplitMix64's
/// mixer. Independent of the process (Swift's `Hasher` is seeded per process).
public enum StickyHash {
    public static func position(route: String, node: String, key: String) -> Double {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        @inline(__always) func mix(_ s: String) {
            for b in s.utf8 {
                h ^= UInt64(b)
                h &*= 0x0000_0100_0000_01b3
            }
            h ^= 0xff
            h &*= 0x0000_0100_0000_01b3
        }
        mix(route)
        mix(node)
        mix(key)
        h = SplitMix64.mix(h)
        return Double(h >> 11) * 0x1p-53
    }
}

/// A small, fast, seedable generator (Steele, Lea, Flood 2014): deterministic tests and `--seed`.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { self.state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        return Self.mix(state)
    }

    @inline(__always)
    public static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
