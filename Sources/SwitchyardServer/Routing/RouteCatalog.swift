import Foundation
import SwitchyardCore
import SwitchyardProviders
import Tracing

/// The dynamic routes (`dynamic/<name>`) the gateway serves, compiled. A request for one walks
/// the route's graph with `RouteRun`; `RouteAttemptPlan` hands its model attempts to `Dispatcher`.
public struct RouteCatalog: Sendable {
    public let graphs: [String: RouteGraph]
    /// Route files that failed to load, as `path:line:column: error: message` lines.
    public let errors: [String]

    public init(graphs: [RouteGraph] = [], errors: [String] = []) {
        self.graphs = Dictionary(graphs.map { ($0.name, $0) }, uniquingKeysWith: { _, last in last })
        self.errors = errors
        names = self.graphs.keys.sorted()
    }

    /// Sorted once here: metrics read it on every dynamic request.
    public let names: [String]

    func graph(named name: String) throws(GatewayError) -> RouteGraph {
        guard let graph = graphs[name] else { throw .unknownRoute(name, known: names) }
        return graph
    }
}

/// A route walked as attempts fail: `start` gives the first model, each failure follows `fallback`.
struct RouteAttemptPlan: AttemptPlan {
    private(set) var run: RouteRun
    let facts: RequestFacts
    let limits: any LimitStore
    let providers: ProviderTable
    let now: @Sendable () -> Double
    var rng: SplitMix64
    /// Breakers and in-flight counts of gated nodes (`RouteTable.health`).
    let health: TargetHealth?
    private var started = false
    /// The gated target of the attempt handed out last, until its outcome is reported.
    private var admitted: TargetKey?
    /// The request's span when telemetry is on: each evaluation (the start, each fallback) is a child span.
    var trace: RequestTrace?

    init(graph: RouteGraph, facts: RequestFacts, limits: any LimitStore, providers: ProviderTable, now: @escaping @Sendable () -> Double, seed: UInt64,
         health: TargetHealth? = nil, picks: PickStats? = nil, feedback: FeedbackStats? = nil) {
        self.run = RouteRun(graph: graph, pickStats: picks, feedback: feedback)
        self.facts = facts
        self.limits = limits
        self.providers = providers
        self.now = now
        self.rng = SplitMix64(seed: seed)
        self.health = health
    }

    mutating func finished(_ report: AttemptReport) {
        guard let key = admitted else { return }
        admitted = nil
        health?.finished(key, report: report, now: now())
    }

    mutating func next() throws(GatewayError) -> DispatchAttempt? {
        guard let trace else { return try evaluate() }
        let span = trace.tracing.tracer.startSpan("switchyard.route", context: trace.span.context, ofKind: .internal)
        defer { span.end() }
        span.attributes["switchyard.route"] = run.graph.name
        span.attributes["switchyard.route.version"] = run.graph.version
        span.attributes["switchyard.fallback"] = started
        do {
            let attempt = try evaluate()
            span.attributes["switchyard.path"] = run.pathDescription
            if let attempt {
                span.attributes["switchyard.step"] = attempt.step
                span.attributes["gen_ai.provider.name"] = attempt.provider.slug
                span.attributes["gen_ai.request.model"] = attempt.model
            } else {
                span.attributes["switchyard.route.result"] = "exhausted"
            }
            return attempt
        } catch {
            span.attributes["switchyard.path"] = run.pathDescription
            span.attributes["switchyard.route.result"] = "rejected"
            span.attributes["error.type"] = String(error.code)
            span.setStatus(SpanStatus(code: .error, message: error.message))
            throw error
        }
    }

    private mutating func evaluate() throws(GatewayError) -> DispatchAttempt? {
        // An attempt whose outcome was never reported (the plan is asked again without it) frees its slot.
        if admitted != nil { finished(.abandoned) }
        let step = started
            ? run.fallback(facts: facts, limits: limits, now: now(), rng: &rng, gate: health)
            : run.start(facts: facts, limits: limits, now: now(), rng: &rng, gate: health)
        started = true
        switch step {
        case .attempt(let attempt):
            admitted = attempt.gateKey
            guard let provider = providers.provider(slug: attempt.target.provider) else {
                finished(.failed(nil))
                throw .invalidProvider("route '\(run.graph.name)' node '\(attempt.nodeName)' names unknown provider '\(attempt.target.provider)'")
            }
            return DispatchAttempt(
                provider: provider, model: attempt.target.model,
                timeout: attempt.timeout.map { .milliseconds(Int64(($0 * 1000).rounded())) },
                retries: attempt.retries, backoff: attempt.backoff, overrides: attempt.set, step: attempt.step,
                retryOn: attempt.retryOn, fallbackOn: attempt.fallbackOn
            )
        case .rejected(let rejection):
            throw GatewayError(rejection)
        case .exhausted:
            return nil
        }
    }
}

extension RequestFacts {
    /// What a route decides on, from the request: its metadata (`RequestMetadata`), lowercased
    /// headers, the body members the route reads, and token estimates for budget reservations.
    init(headers fields: [(String, String)], metadata: [String: JSONValue], body: JSONObjectBody, reads: BodyReads, model: String, gateway: String) {
        let tree: JSONValue
        switch reads {
        case .none: tree = .object([:])
        case .members(let keys):
            var members: [String: JSONValue] = [:]
            for key in keys { if let value = body.value(key) { members[key] = value } }
            tree = .object(members)
        case .whole: tree = (try? JSONValue.parse(bytes: body.bytes)) ?? .object([:])
        }
        self.init(
            metadata: metadata, headers: Dictionary(fields, uniquingKeysWith: { first, _ in first }), body: tree, model: model, gateway: gateway,
            estimatedInputTokens: RequestFacts.estimatedInputTokens(bodyBytes: body.bytes.count),
            estimatedOutputTokens: RequestFacts.estimatedOutputTokens(maxCompletionTokens: body.value("max_completion_tokens"), maxTokens: body.value("max_tokens"))
        )
    }
}

/// The arms a request took at `pick:` nodes, told how the request ended (`RequestEnd`).
struct PickFeedback: Sendable {
    let stats: PickStats
    let choices: [PickChoice]
    /// The attempt that answered or failed last (`RouteRun.step`); -1 when none ran.
    let lastStep: Int

    init?(_ run: RouteRun) {
        guard let stats = run.pickStats, !run.picks.isEmpty else { return nil }
        self.stats = stats
        self.choices = run.picks
        self.lastStep = run.step
    }

    func report(success: Bool, duration: Seconds, timeToFirstByte: Seconds?, cost: Double, now: Double) {
        let outcome = PickOutcome(step: lastStep >= 0 ? lastStep : nil, success: success, duration: duration, timeToFirstByte: timeToFirstByte, cost: cost)
        for choice in choices { stats.record(choice, outcome: outcome, now: now) }
    }
}

/// Settles a route's budget reservations once the real cost is known: the estimate reserved before
/// dispatch is replaced by tokens × price of the model that answered.
struct BudgetSettlement: Sendable {
    let reservations: [BudgetReservation]
    let limits: any LimitStore
    let prices: PriceTable

    /// `usage` nil with `answered` false: nothing was spent. A stream cut short keeps its estimate.
    func settle(target: ModelTarget?, usage: Usage?, answered: Bool) {
        for reservation in reservations {
            let cost: Double
            if let usage, let target {
                cost = prices.cost(of: usage, for: target)
            } else {
                cost = answered ? reservation.amount : 0
            }
            limits.reconcile(reservation, actualCost: cost)
        }
    }
}
