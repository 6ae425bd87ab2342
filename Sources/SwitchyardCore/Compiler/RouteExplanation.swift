import Foundation

/// `switchyard explain`: runs a route for a sample request with tracing, without calling any
/// provider, and describes the path taken and every model attempt in order (each one being what
/// happens when the previous one fails).
public enum RouteExplanation {
    /// `gate`: the live target state (breakers, in-flight counts) to explain against; without one,
    /// no node is skipped. Explaining with a gate admits attempts without reporting their outcome,
    /// so pass a copy of the state (`TargetGate` snapshots), never the serving one.
    public static func render(graph: RouteGraph, facts: RequestFacts, seed: UInt64, now: Double, limits: any LimitStore = InMemoryLimitStore(),
                              gate: (any TargetGate)? = nil, pickStats: PickStats? = nil) -> String {
        var run = RouteRun(graph: graph, tracing: true, pickStats: pickStats)
        var rng = SplitMix64(seed: seed)
        var steps: [RouteStep] = [run.start(facts: facts, limits: limits, now: now, rng: &rng, gate: gate)]
        // Each model attempt fails in turn; the graph is acyclic so this ends within its size.
        for _ in 0...graph.nodes.count {
            guard case .attempt = steps.last else { break }
            steps.append(run.fallback(facts: facts, limits: limits, now: now, rng: &rng, gate: gate))
        }

        var out: [String] = []
        out.append("route \(graph.qualifiedName) (\(graph.sourcePath))")
        if let d = graph.description { out.append("  \(d)") }
        out.append("request: model \(facts.model.isEmpty ? "dynamic/\(graph.name)" : facts.model), metadata \(JSONValue.object(facts.metadata).canonicalJSON)"
            + (facts.headers.isEmpty ? "" : ", headers \(JSONValue.object(facts.headers.mapValues { .string($0) }).canonicalJSON)"))
        out.append("seed \(seed); estimated tokens: \(facts.estimatedInputTokens) in, \(facts.estimatedOutputTokens) out")
        out.append("")
        out.append("path:")
        var n = 0
        func line(_ s: String) {
            n += 1
            out.append("  \(n). \(s)")
        }
        var live: [ValuePath: Double] = [:]
        for event in run.trace ?? [] {
            switch event {
            case .live(_, let values):
                live = values
            case .condition(let name, let source, let result):
                line("\(name): if \(source) → \(result) → \(result ? "then" : "else") \(targetName(graph, name, result ? 0 : 1))")
                if let node = graph.node(named: name), case .conditional(let c) = node.kind {
                    var withLive = facts
                    withLive.live = live
                    for path in c.condition.paths {
                        out.append("       \(path) = \(withLive.resolve(path).map(\.canonicalJSON) ?? "(missing)")")
                    }
                }
                live = [:]
            case .split(let name, let arm, let weight, let target, let position, let sticky):
                var how = "draw \(String(format: "%.4f", position))"
                if let sticky, let node = graph.node(named: name), case .split(let s) = node.kind, let path = s.sticky {
                    how = "sticky \(path) = \(sticky.isEmpty ? "(missing: shared bucket)" : "\"\(LimitKeyText.display(sticky))\"") → position \(String(format: "%.4f", position))"
                }
                line("\(name): split, \(how) → arm \(arm + 1) (\(RouteRun.format(weight))%) → \(target)")
            case .pick(let name, let arm, let target, let explored, let figures):
                guard let node = graph.node(named: name), case .pick(let p) = node.kind else { break }
                let how = explored ? "exploring (\(RouteRun.format((p.spec.explore * 1000).rounded() / 10))% of requests draw a random arm)"
                    : figures.allSatisfy({ $0.value == nil }) ? "no figures yet" : "lowest \(p.spec.by.rawValue)"
                line("\(name): pick by \(p.spec.by.rawValue), \(how) → arm \(arm + 1) → \(target)")
                for (i, figure) in figures.enumerated() {
                    out.append("       arm \(i + 1) \(graph.nodes[p.arms[i]].name): \(Self.describe(figure, by: p.spec.by))")
                }
            case .rateLimit(let name, let key, let limit, let window, let decision):
                let keyText = key.isEmpty ? "shared bucket" : "key \"\(LimitKeyText.display(key))\""
                switch decision {
                case .allowed(let remaining):
                    line("\(name): rate \(RouteRun.format(limit)) per \(DurationText.format(window)), \(keyText): allowed (\(RouteRun.format(remaining.rounded(.down))) left) → then \(targetName(graph, name, 0))")
                case .exceeded(let retry):
                    line("\(name): rate \(RouteRun.format(limit)) per \(DurationText.format(window)), \(keyText): exceeded (retry after \(DurationText.format(max(retry.rounded(.up), 1)))) → exceeded \(targetName(graph, name, 1))")
                case .tooManyKeys:
                    line("\(name): rate \(RouteRun.format(limit)) per \(DurationText.format(window)), \(keyText): refused, too many distinct keys (limits.max_limit_keys) → exceeded \(targetName(graph, name, 1))")
                }
            case .budget(let name, let key, let limit, let window, let estimate, let decision):
                let keyText = key.isEmpty ? "shared bucket" : "key \"\(LimitKeyText.display(key))\""
                switch decision {
                case .reserved:
                    line("\(name): budget $\(RouteRun.format(limit)) per \(DurationText.format(window)), \(keyText): reserved $\(String(format: "%.6f", estimate)) → then \(targetName(graph, name, 0))")
                case .exceeded:
                    line("\(name): budget $\(RouteRun.format(limit)) per \(DurationText.format(window)), \(keyText): exceeded → exceeded \(targetName(graph, name, 1))")
                case .tooManyKeys:
                    line("\(name): budget $\(RouteRun.format(limit)) per \(DurationText.format(window)), \(keyText): refused, too many distinct keys (limits.max_limit_keys) → exceeded \(targetName(graph, name, 1))")
                }
            case .model(let name, let target, let step):
                line("\(name): attempt \(step + 1): \(target)")
            case .mirror(let name, let to, let share, let sent):
                line("\(name): mirror \(RouteRun.format((share * 1000).rounded() / 10))% to \(to): \(sent ? "this request is copied (answer logged, never returned)" : "not copied this time")")
            case .fallback(let from, let to):
                line("\(from) failed → fallback \(to)")
            case .exhausted(let name):
                line("\(name) failed and has no fallback")
            case .reject(let name, let status):
                line("\(name): reject \(status)")
            case .skipped(let name, let admission):
                switch admission {
                case .breakerOpen(let retryAt):
                    line("\(name): skipped, circuit breaker open (probe in \(DurationText.format(max(retryAt - now, 0).rounded(.up))))")
                case .full(let limit):
                    line("\(name): skipped, \(limit) attempts in flight (max_concurrency)")
                case .allowed, .probe:
                    break
                }
            }
        }
        out.append("")
        out.append("attempts (each runs only if the one before it fails):")
        var attempt = 0
        for step in steps {
            switch step {
            case .attempt(let a):
                attempt += 1
                out.append("  \(attempt). \(a.target) (node \(a.nodeName)): \(settings(a, graph: graph))")
            case .rejected(let r):
                // The kind, not an HTTP status: what a rejection becomes on the wire is the server's (docs/errors.md).
                let how = r.chosenStatus.map { "reject node, status \($0)" } ?? r.kind.rawValue
                out.append("  \(attempt == 0 ? "none" : "then"): rejected (\(how)) at '\(r.node)': \(r.message)")
            case .exhausted:
                out.append(attempt == 0 ? "  none: the route ends without a model" : "  then: the route ends with the last upstream error")
            }
        }
        out.append("")
        out.append("x-switchyard-path: \(run.pathDescription)")
        return out.joined(separator: "\n") + "\n"
    }

    static func settings(_ a: RouteAttempt, graph: RouteGraph) -> String {
        var parts: [String] = []
        parts.append(a.timeout.map { "timeout \(DurationText.format($0))" } ?? "no timeout")
        if a.retries == 0 {
            parts.append("no retries")
        } else {
            let delays = (1...a.retries).map { DurationText.format(a.backoff.delay(beforeRetry: $0)) }.joined(separator: ", ")
            parts.append("\(a.retries) \(a.retries == 1 ? "retry" : "retries") on \(a.retryOn) (\(a.backoff.mode.rawValue) backoff: \(delays))")
        }
        if !a.fallbackOn.items.isEmpty { parts.append("falls back on \(a.fallbackOn)") }
        if case .model(let m) = graph.nodes[a.node].kind {
            if let b = m.breaker { parts.append(b.description) }
            if let c = m.maxConcurrency { parts.append("at most \(c) in flight") }
        }
        if !a.set.isEmpty { parts.append("set \(JSONValue.object(a.set).canonicalJSON)") }
        return parts.joined(separator: ", ")
    }

    /// `latency 1.2s, errors 3% over 41.0 samples` or `unmeasured`.
    static func describe(_ figure: PickFigure, by metric: PickMetric) -> String {
        guard let errors = figure.errorRate else { return "unmeasured" }
        var parts: [String] = []
        switch metric {
        case .latency, .ttft: parts.append("\(metric.rawValue) " + (figure.value.map { String(format: "%.3fs", $0) } ?? "–"))
        case .cost: parts.append("cost " + (figure.value.map { String(format: "$%.6f", $0) } ?? "–"))
        case .errors: break
        }
        parts.append(String(format: "errors %.1f%%", errors * 100))
        return parts.joined(separator: ", ") + String(format: " over %.1f recent samples", figure.weight)
    }

    private static func targetName(_ graph: RouteGraph, _ node: String, _ edge: Int) -> String {
        guard let n = graph.node(named: node) else { return "?" }
        let edges = RouteGraphEdges.labelled(n)
        guard edge < edges.count else { return "?" }
        return graph.nodes[edges[edge].target].name
    }
}

extension RouteGraph {
    /// The node with this name (declared or synthetic).
    public func node(named name: String) -> RouteNode? { nodes.first { $0.name == name } }
}
