/// Replays logged requests through a route version without calling any provider (`switchyard simulate`).
///
/// Each record, in `createdAt` order, is evaluated by `RouteRun` on the facts the log kept
/// (`RouteFacts`, metadata, gateway) against a fresh `InMemoryLimitStore` whose clock is the
/// records' own timestamps, so rate limits and budgets fill and empty as over the logged period.
/// Splits draw from a seeded generator (sticky splits hash their key, as live). A model node
/// the logged request failed on (it is in the logged path before its last node) is failed again:
/// the run follows its fallback. Breakers and `max_concurrency` are not gated (as in `explain`).
/// Budget reservations are reconciled with the estimated cost of the chosen model: its price
/// table × the logged tokens (the logged cost when the model is the one that answered), or ×
/// the token estimates when the logged request never reached a model.
public struct RouteSimulation {
    public let graph: RouteGraph
    public let prices: PriceTable
    public let seed: UInt64
    private let limits = InMemoryLimitStore()
    private var count: UInt64 = 0
    private var lastCreatedAt = -Double.infinity
    public private(set) var result: RouteSimulationResult

    /// At most this many example ids of requests whose path changed.
    public static let maxExamples = 5

    public init(graph: RouteGraph, prices: PriceTable = PriceTable(), seed: UInt64 = 1) {
        self.graph = graph
        self.prices = prices
        self.seed = seed
        result = RouteSimulationResult(route: graph.name, version: graph.version, seed: seed)
    }

    /// Replays one record; records should come oldest first (others are replayed too, and counted).
    public mutating func replay(_ record: RequestLogRecord) {
        if record.cached {
            // A cache hit never ran the route: it neither counts against limits nor picks a model.
            result.cachedSkipped += 1
            return
        }
        count += 1
        result.requests += 1
        if record.createdAt < lastCreatedAt { result.outOfOrder += 1 }
        lastCreatedAt = max(lastCreatedAt, record.createdAt)
        result.firstAt = min(result.firstAt ?? record.createdAt, record.createdAt)
        result.lastAt = max(result.lastAt ?? record.createdAt, record.createdAt)
        if let route = record.route { result.loggedVersions[route, default: 0] += 1 }

        // What happened.
        let beforePath = record.routePath ?? ""
        let beforeModel = record.provider.isEmpty ? Self.rejectedLabel(record.statusCode) : "\(record.provider)/\(record.model)"
        result.pathsBefore[beforePath, default: 0] += 1
        result.modelsBefore[beforeModel, default: 0] += 1
        result.costBefore += record.cost
        if record.provider.isEmpty, record.statusCode == 429 { result.limitRejectionsBefore += 1 }

        // The facts.
        let model = "dynamic/\(graph.name)"
        let facts: RequestFacts
        if let routeFacts = record.routeFacts {
            facts = routeFacts.requestFacts(metadata: record.metadata, model: model, gateway: record.gateway)
            let missing = routeFacts.missing(graph.reads)
            if !missing.isEmpty {
                result.factsMissing += 1
                for m in missing { result.missingFacts[m, default: 0] += 1 }
            }
        } else {
            facts = RequestFacts(metadata: record.metadata, model: model, gateway: record.gateway,
                                 estimatedInputTokens: RequestFacts.estimatedInputTokens(bodyBytes: record.requestSize),
                                 estimatedOutputTokens: RequestFacts.defaultOutputTokens)
            result.withoutFacts += 1
            if !graph.reads.isEmpty {
                result.factsMissing += 1
                for m in graph.reads.names { result.missingFacts[m, default: 0] += 1 }
            }
        }

        // What the new version does.
        var run = RouteRun(graph: graph)
        var rng = SplitMix64(seed: SplitMix64.mix(seed &+ count &* 0x9e37_79b9_7f4a_7c15))
        let failed = Set(beforePath.split(separator: ">").dropLast().map(String.init))
        let now = record.createdAt
        var step = run.start(facts: facts, limits: limits, now: now, rng: &rng)
        while case .attempt(let attempt) = step, failed.contains(attempt.nodeName) {
            step = run.fallback(facts: facts, limits: limits, now: now, rng: &rng)
        }
        let afterModel: String
        var cost = 0.0
        switch step {
        case .attempt(let attempt):
            afterModel = attempt.target.description
            if attempt.target.description == beforeModel {
                cost = record.cost
            } else if !record.provider.isEmpty {
                cost = prices.cost(of: Usage(promptTokens: record.tokensIn, completionTokens: record.tokensOut, cachedPromptTokens: record.cachedTokensIn),
                                   for: attempt.target)
            } else {
                cost = prices.cost(of: Usage(promptTokens: facts.estimatedInputTokens, completionTokens: facts.estimatedOutputTokens), for: attempt.target)
                result.estimatedTokens += 1
            }
            if !prices.isKnown(attempt.target) { result.unpricedModels.insert(attempt.target.description) }
        case .rejected(let rejection):
            switch rejection.kind {
            case .rateLimit, .budget:
                afterModel = Self.rejectedLabel(429)
                result.limitRejectionsAfter += 1
                result.rejectionsAfterByNode[rejection.node, default: 0] += 1
            case .reject:
                afterModel = Self.rejectedLabel(rejection.chosenStatus ?? 400)
            case .unavailable:
                afterModel = Self.rejectedLabel(503)
            }
        case .exhausted:
            afterModel = beforeModel
            cost = record.provider.isEmpty ? 0 : record.cost
        }
        for reservation in run.reservations { limits.reconcile(reservation, actualCost: cost) }
        let afterPath = run.pathDescription
        result.pathsAfter[afterPath, default: 0] += 1
        result.modelsAfter[afterModel, default: 0] += 1
        result.costAfter += cost
        if afterPath != beforePath {
            result.pathChanged += 1
            // Examples whose model changed first: a new node in front changes every path.
            let change = RouteSimulationResult.Change(id: record.id, pathBefore: beforePath, pathAfter: afterPath, modelBefore: beforeModel, modelAfter: afterModel)
            if afterModel != beforeModel {
                if result.changedExamples.count < Self.maxExamples { result.changedExamples.append(change) }
            } else if result.pathOnlyExamples.count < Self.maxExamples {
                result.pathOnlyExamples.append(change)
            }
        }
        if afterModel != beforeModel { result.modelChanged += 1 }
    }

    /// What a request that reached no model shows in the model column.
    public static func rejectedLabel(_ status: Int) -> String { "(rejected \(status))" }
}

/// What `RouteSimulation` found: before (as logged) and after (the new version), side by side.
public struct RouteSimulationResult: Sendable, Hashable {
    public struct Change: Sendable, Hashable {
        public var id: String
        public var pathBefore: String
        public var pathAfter: String
        public var modelBefore: String
        public var modelAfter: String
    }

    /// The route name and the new version's hash.
    public var route: String
    public var version: String
    public var seed: UInt64
    /// Records replayed (cache hits excluded).
    public var requests = 0
    /// Cache hits: not replayed (they never ran the route).
    public var cachedSkipped = 0
    /// `name@version` as logged, with counts.
    public var loggedVersions: [String: Int] = [:]
    public var firstAt: Double?
    public var lastAt: Double?
    public var outOfOrder = 0
    public var pathsBefore: [String: Int] = [:]
    public var pathsAfter: [String: Int] = [:]
    public var modelsBefore: [String: Int] = [:]
    public var modelsAfter: [String: Int] = [:]
    /// USD: the logged cost, and the estimate for the new version.
    public var costBefore = 0.0
    public var costAfter = 0.0
    /// Requests whose cost after was priced on token estimates (the logged request reached no model).
    public var estimatedTokens = 0
    /// Models chosen after that the price table does not know (priced at 0).
    public var unpricedModels: Set<String> = []
    /// 429s of the route's rate limits and budgets (logged: status 429 with no provider).
    public var limitRejectionsBefore = 0
    public var limitRejectionsAfter = 0
    public var rejectionsAfterByNode: [String: Int] = [:]
    public var pathChanged = 0
    public var modelChanged = 0
    /// The first requests whose path and model changed, at most `RouteSimulation.maxExamples`.
    public var changedExamples: [Change] = []
    /// The first requests whose path changed but not their model.
    public var pathOnlyExamples: [Change] = []
    /// Examples to show: model changes first.
    public var examples: [Change] { Array((changedExamples + pathOnlyExamples).prefix(RouteSimulation.maxExamples)) }
    /// Records lacking a fact the new version reads (evaluated with it absent).
    public var factsMissing = 0
    /// Per fact (`headers.x-tier`): records lacking it.
    public var missingFacts: [String: Int] = [:]
    /// Records logged without route facts (before they were kept, or by another gateway).
    public var withoutFacts = 0

    public init(route: String, version: String, seed: UInt64) {
        self.route = route
        self.version = version
        self.seed = seed
    }

    /// `count / requests`, 0 when there are none.
    public func share(_ count: Int) -> Double { requests == 0 ? 0 : Double(count) / Double(requests) }
}
