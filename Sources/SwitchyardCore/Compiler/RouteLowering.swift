/// Resolves names, checks the graph as a whole (cycles, reachability, prices) and builds the
/// frozen `RouteGraph`: declared nodes first, then synthetic nodes for inline model ids and
/// `reject`, all linked by array index.
struct RouteLowering {
    var checks: FieldChecks
    let source: RouteSource

    private enum Resolved: Equatable {
        case index(Int)
        /// A model's fallback to Cloudflare's `end`: no fallback.
        case noEdge
        case failed
    }

    private var declared: [String: Int] = [:]
    private var synthetic: [(name: String, kind: RouteNode.Kind, position: SourcePosition)] = []
    private var syntheticIndex: [String: Int] = [:]
    private var count = 0
    private var routeName = ""
    private var unknownTargets = 0

    init(checks: FieldChecks, source: RouteSource) {
        self.checks = checks
        self.source = source
    }

    mutating func lower(_ d: RouteDeclaration) -> RouteGraph? {
        routeName = d.name ?? RouteCompiler.defaultName(forPath: source.path)
        if !Self.isValidRouteName(routeName) {
            checks.sink.error(d.namePosition ?? .start, "'\(routeName)' is not a valid route name: use letters, digits, '.', '_' and '-'",
                              suggestion: d.name == nil ? "rename the file or add a 'name:' field" : nil)
        }
        guard !d.nodes.isEmpty else { return nil }
        if d.nodes.count > checks.options.maxNodes {
            checks.sink.error(d.nodesPosition, "the route has \(d.nodes.count) nodes; the limit is \(checks.options.maxNodes)")
            return nil
        }
        for (i, node) in d.nodes.enumerated() {
            if node.name == "reject" {
                checks.sink.error(node.position, "'reject' is a reserved target name and cannot name a node", suggestion: "rename the node, e.g. 'deny'")
                continue
            }
            if node.name.contains("/") {
                checks.sink.error(node.position, "node name '\(node.name)' contains '/', which is reserved for model ids such as openai/gpt-5-mini",
                                  suggestion: "use '-' instead")
                continue
            }
            declared[node.name] = declared[node.name] ?? i
        }
        count = d.nodes.count

        // Resolve every edge.
        var resolved: [[Resolved]] = []
        for node in d.nodes {
            resolved.append(node.targets.map { resolve($0, declaration: d) })
        }
        var start = 0
        if let s = d.start {
            if let i = declared[s.text] {
                start = i
            } else {
                let hint = NameSuggestion.didYouMean(s.text, in: d.nodes.map(\.name)) ?? "start must name one of the route's nodes"
                checks.sink.error(s.position, "start names a missing node '\(s.text)'", suggestion: hint)
            }
        }

        checkLiveReads(d)
        findCycles(d, resolved)
        // With errors some edges are unknown, and "unreachable" would only echo them.
        if !checks.sink.hasErrors { warnUnreachable(d, resolved, start: start) }
        if checks.sink.hasErrors { return nil }

        // Build the nodes.
        var nodes: [RouteNode] = []
        nodes.reserveCapacity(count)
        var mirrors: [(node: Int, to: TargetRef)] = []
        func index(_ r: Resolved) -> Int? { if case .index(let i) = r { return i }; return nil }
        for (i, decl) in d.nodes.enumerated() {
            let edges = resolved[i]
            let location = checks.sink.location(decl.position)
            guard let kind = decl.kind else { return nil }
            let built: RouteNode.Kind
            switch kind {
            case .conditional(let condition, let text, _, _):
                guard let t = index(edges[0]), let e = index(edges[1]) else { return nil }
                built = .conditional(.init(condition: condition, source: text, then: t, else: e))
            case .split(let arms, let sticky, let adaptive):
                var out: [RouteNode.Split.Arm] = []
                for (arm, edge) in zip(arms, edges) {
                    guard let t = index(edge) else { return nil }
                    out.append(.init(weight: arm.weight, target: t))
                }
                let key = adaptive.map { a in
                    FeedbackKey(route: routeName, node: decl.name, arms: out.map { $0.target < count ? d.nodes[$0.target].name : synthetic[$0.target - count].name }, adaptive: a)
                }
                built = .split(.init(arms: out, sticky: sticky, adaptive: adaptive, feedbackKey: key))
            case .pick(_, let spec):
                let arms = edges.compactMap(index)
                guard arms.count == edges.count else { return nil }
                let names = arms.map { $0 < count ? d.nodes[$0].name : synthetic[$0 - count].name }
                built = .pick(.init(arms: arms, spec: spec, key: PickKey(route: routeName, node: decl.name, arms: names, spec: spec)))
            case .rate(let limit, let window, let key, let technique, _, let exceeded):
                guard let t = index(edges[0]) else { return nil }
                let x = exceeded == nil ? rejectIndex(at: decl.position) : index(edges[1])
                guard let x else { return nil }
                built = .rateLimit(.init(limit: limit, window: window, key: key, technique: technique, then: t, exceeded: x))
            case .budget(let limit, let window, let key, _, let exceeded):
                guard let t = index(edges[0]) else { return nil }
                let x = exceeded == nil ? rejectIndex(at: decl.position) : index(edges[1])
                guard let x else { return nil }
                // The price is filled in below, once every node exists.
                built = .budget(.init(limit: limit, window: window, key: key, then: t, exceeded: x, reservationPrice: .zero))
            case .model(let target, let timeout, let retries, let backoff, let set, let fallbackRef, let retryOn, let fallbackOn, let breaker, let maxConcurrency, let mirrorDecl):
                let fallback = fallbackRef == nil ? nil : edges.first.flatMap(index)
                var mirror: RouteNode.Mirror?
                if let mirrorDecl {
                    guard let t = edges.last.flatMap(index) else { return nil }
                    mirror = .init(target: t, share: mirrorDecl.share)
                    mirrors.append((i, mirrorDecl.to))
                }
                built = .model(.init(target: target, timeout: timeout, retries: retries, backoff: backoff, set: set, fallback: fallback,
                                     retryOn: retryOn, fallbackOn: fallbackOn, breaker: breaker, maxConcurrency: maxConcurrency, mirror: mirror))
            case .reject(let status, let message):
                built = .reject(.init(status: status, message: message))
            }
            nodes.append(RouteNode(name: decl.name, kind: built, location: location))
        }
        for s in synthetic {
            nodes.append(RouteNode(name: s.name, kind: s.kind, location: checks.sink.location(s.position)))
        }
        // A mirror copies a model call: its target must be a model.
        for (i, to) in mirrors {
            guard case .model(let m) = nodes[i].kind, let t = m.mirror?.target else { continue }
            if case .model = nodes[t].kind { continue }
            checks.sink.error(to.position, "mirror of node '\(nodes[i].name)' names '\(to.text)', which is not a model node",
                              suggestion: "mirror to a model node or a model id such as openai/gpt-5-mini")
        }
        if checks.sink.hasErrors { return nil }
        // Budget reservation prices: the element-wise maximum over every model reachable from `then`.
        for i in nodes.indices {
            guard case .budget(let b) = nodes[i].kind else { continue }
            var price = ModelPrice.zero
            var unpriced: [String] = []
            for j in Self.reachable(from: b.then, in: nodes) {
                guard case .model(let m) = nodes[j].kind else { continue }
                if let p = checks.options.prices.price(for: m.target) { price = price.maximum(p) } else if !unpriced.contains(m.target.description) {
                    unpriced.append(m.target.description)
                }
            }
            for id in unpriced {
                checks.sink.warning(d.nodes[i].position, "no price known for \(id); budget reservations will count it as free",
                                    suggestion: "add its price under 'prices' in switchyard.yaml")
            }
            nodes[i] = RouteNode(name: nodes[i].name, kind: .budget(.init(limit: b.limit, window: b.window, key: b.key, then: b.then, exceeded: b.exceeded, reservationPrice: price)), location: nodes[i].location)
        }
        return RouteGraph(name: routeName, description: d.description, version: RouteCompiler.version(of: source.contents),
                          sourcePath: source.path, source: source.contents, nodes: nodes, start: start)
    }

    /// `budget.<node>.…` must name a budget node of the route and `rate.<node>.…` a rate node.
    private mutating func checkLiveReads(_ d: RouteDeclaration) {
        for decl in d.nodes {
            guard case .conditional(let condition, _, _, _)? = decl.kind else { continue }
            for path in condition.paths where path.isLive {
                guard case .key(let name)? = path.segments.first else { continue }
                let wanted = path.root == .budget ? "budget" : "rate"
                let candidates = d.nodes.filter { node in
                    switch node.kind {
                    case .budget?: wanted == "budget"
                    case .rate?: wanted == "rate"
                    default: false
                    }
                }.map(\.name)
                guard let target = d.nodes.first(where: { $0.name == name }) else {
                    checks.sink.error(decl.position, "node '\(decl.name)' reads \(path), but the route has no node '\(name)'",
                                      suggestion: NameSuggestion.didYouMean(name, in: candidates) ?? (candidates.isEmpty ? "add a \(wanted) node" : "\(wanted) nodes: \(candidates.joined(separator: ", "))"))
                    continue
                }
                let matches: Bool
                switch target.kind {
                case .budget?: matches = wanted == "budget"
                case .rate?: matches = wanted == "rate"
                case nil: matches = true  // already reported
                default: matches = false
                }
                if !matches {
                    checks.sink.error(decl.position, "node '\(decl.name)' reads \(path), but '\(name)' is not a \(wanted) node",
                                      suggestion: candidates.isEmpty ? "\(wanted).<node> reads a \(wanted) node's counter" : "\(wanted) nodes: \(candidates.joined(separator: ", "))")
                }
            }
        }
    }

    static func isValidRouteName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 128 && name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" || $0 == "." }
    }

    private mutating func rejectIndex(at position: SourcePosition) -> Int {
        synthetic(named: "reject", kind: .reject(.init(status: 429, message: nil)), at: position)
    }

    private mutating func synthetic(named name: String, kind: RouteNode.Kind, at position: SourcePosition) -> Int {
        if let i = syntheticIndex[name] { return i }
        let i = count + synthetic.count
        synthetic.append((name, kind, position))
        syntheticIndex[name] = i
        return i
    }

    private mutating func resolve(_ t: TargetRef, declaration d: RouteDeclaration) -> Resolved {
        if let i = declared[t.text] { return .index(i) }
        if t.text == "reject" { return .index(rejectIndex(at: t.position)) }
        if d.endNames[t.text] != nil {
            switch t.role {
            case .modelFallback: return .noEdge
            case .limitExceeded: return .index(rejectIndex(at: t.position))
            case .next:
                return .index(synthetic(named: t.text, kind: .reject(.init(status: 400, message: "Route '\(routeName)' ended at '\(t.text)' without calling a model")), at: t.position))
            }
        }
        if t.text.contains("/") {
            guard let target = checks.modelID(t.text, at: t.position) else { return .failed }
            let kind = RouteNode.Kind.model(.init(target: target, timeout: nil, retries: 0, backoff: .default, set: [:], fallback: nil))
            return .index(synthetic(named: target.description, kind: kind, at: t.position))
        }
        // Suggestions cost a scan of every name; a file full of bad references gets them for the first few only.
        unknownTargets += 1
        let hint = (unknownTargets <= 20 ? NameSuggestion.didYouMean(t.text, in: d.nodes.lazy.map(\.name) + ["reject"]) : nil)
            ?? "name a node, 'reject', or a model id such as openai/gpt-5-mini"
        checks.sink.error(t.position, "unknown node '\(t.text)'", suggestion: hint)
        return .failed
    }

    /// Iterative depth-first search over declared nodes; each back edge is one cycle, named in order.
    private mutating func findCycles(_ d: RouteDeclaration, _ resolved: [[Resolved]]) {
        let n = d.nodes.count
        var color = [UInt8](repeating: 0, count: n)  // 0 new, 1 on stack, 2 done
        for root in 0..<n where color[root] == 0 {
            var stack: [(node: Int, edge: Int)] = [(root, 0)]
            color[root] = 1
            while let top = stack.last {
                var edges = resolved[top.node]
                // A mirror's copy never continues along the route: its edge closes no cycle.
                if case .model(_, _, _, _, _, _, _, _, _, _, _?)? = d.nodes[top.node].kind { edges.removeLast() }
                if top.edge >= edges.count {
                    color[top.node] = 2
                    stack.removeLast()
                    continue
                }
                stack[stack.count - 1].edge += 1
                guard case .index(let next) = edges[top.edge], next < n else { continue }
                switch color[next] {
                case 0:
                    color[next] = 1
                    stack.append((next, 0))
                case 1:
                    let from = stack.firstIndex { $0.node == next } ?? 0
                    let names = stack[from...].map { d.nodes[$0.node].name } + [d.nodes[next].name]
                    let target = d.nodes[top.node].targets[top.edge]
                    checks.sink.error(target.position, "cycle: \(names.joined(separator: " -> "))",
                                      suggestion: "a route must be acyclic: end one of these paths at a model or 'reject'")
                default: break
                }
            }
        }
    }

    private mutating func warnUnreachable(_ d: RouteDeclaration, _ resolved: [[Resolved]], start: Int) {
        let n = d.nodes.count
        var seen = [Bool](repeating: false, count: n)
        var queue = [start]
        seen[start] = true
        while let i = queue.popLast() {
            for case .index(let j) in resolved[i] where j < n && !seen[j] {
                seen[j] = true
                queue.append(j)
            }
        }
        for i in 0..<n where !seen[i] {
            checks.sink.warning(d.nodes[i].position, "node '\(d.nodes[i].name)' is unreachable from the start node '\(d.nodes[start].name)'",
                                suggestion: "link it from another node or remove it")
        }
    }

    /// Every node reachable from `start`, following all edges including fallbacks and limit exits.
    static func reachable(from start: Int, in nodes: [RouteNode]) -> [Int] {
        var seen = Set([start])
        var order = [start]
        var queue = [start]
        while let i = queue.popLast() {
            for j in RouteGraphEdges.successors(of: nodes[i]) where !seen.contains(j) {
                seen.insert(j)
                order.append(j)
                queue.append(j)
            }
        }
        return order
    }
}
