import Foundation

/// The route DSL (`routes/*.yaml`): a map with `name`, `description`, `start` and `nodes`.
struct YAMLRouteFrontEnd {
    var checks: FieldChecks

    static let topLevelKeys = ["name", "description", "start", "nodes"]
    static let kindKeys = ["if", "split", "pick", "rate", "budget", "model", "reject"]
    static let keysByKind: [String: [String]] = [
        "if": ["if", "then", "else", "description"],
        "split": ["split", "sticky", "adaptive", "description"],
        "pick": ["pick", "by", "window", "explore", "description"],
        "rate": ["rate", "then", "exceeded", "description"],
        "budget": ["budget", "then", "exceeded", "description"],
        "model": ["model", "timeout", "retries", "backoff", "retry_on", "set", "fallback", "fallback_on", "breaker", "max_concurrency", "mirror", "description"],
        "reject": ["reject", "description"],
    ]

    mutating func read(_ root: YNode) -> RouteDeclaration {
        var route = RouteDeclaration()
        guard let pairs = root.pairs else {
            checks.sink.error(root.position, "a route file must be a map with 'nodes', found \(root.kindDescription)", suggestion: "start with 'nodes:' (see docs/routes.md)")
            return route
        }
        checks.rejectUnknownKeys(pairs, allowed: Self.topLevelKeys, context: "the route")
        var nodesNode: YNode?
        for pair in pairs {
            switch pair.name {
            case "name":
                route.name = checks.string(pair.value, field: "name")
                route.namePosition = pair.value.position
            case "description":
                route.description = checks.string(pair.value, field: "description")
            case "start":
                route.start = checks.target(pair.value, field: "start")
            case "nodes":
                nodesNode = pair.value
            default: break
            }
        }
        guard let nodesNode else {
            checks.sink.error(root.position, "missing 'nodes': a route needs at least one node", suggestion: "add nodes: { main: { model: openai/gpt-5-mini } }")
            return route
        }
        route.nodesPosition = nodesNode.position
        guard let nodePairs = nodesNode.pairs else {
            checks.sink.error(nodesNode.position, "'nodes' must be a map from node names to nodes, found \(nodesNode.kindDescription)")
            return route
        }
        if nodePairs.isEmpty {
            checks.sink.error(nodesNode.position, "'nodes' is empty: a route needs at least one node", suggestion: "add a node such as main: { model: openai/gpt-5-mini }")
        }
        for pair in nodePairs {
            route.nodes.append(readNode(pair))
        }
        return route
    }

    private mutating func readNode(_ pair: YPair) -> NodeDeclaration {
        let name = pair.name
        var decl = NodeDeclaration(name: name, position: pair.key.position, kind: nil)
        if pair.key.scalar == nil || name.isEmpty {
            checks.sink.error(pair.key.position, "a node name must be a non-empty string")
            return decl
        }
        guard let fields = pair.value.pairs else {
            var hint = "give it one of: \(Self.kindKeys.joined(separator: ", "))"
            if let text = pair.value.text, text.contains("/") { hint = "write '\(name): { model: \(text) }'" }
            checks.sink.error(pair.value.position, "node '\(name)' must be a map, found \(pair.value.kindDescription)", suggestion: hint)
            return decl
        }
        let kinds = fields.filter { Self.kindKeys.contains($0.name) }
        if kinds.count > 1 {
            let names = kinds.map { "'\($0.name)'" }
            checks.sink.error(kinds[1].key.position, "node '\(name)' has both \(names[0]) and \(names[1]); a node has exactly one kind",
                              suggestion: "split it into two nodes and link them with then/fallback")
            return decl
        }
        guard let kindPair = kinds.first else {
            let guess = fields.lazy.compactMap { NameSuggestion.nearest(to: $0.name, in: Self.kindKeys) }.first
            checks.sink.error(pair.key.position, "node '\(name)' has no kind",
                              suggestion: guess.map { "did you mean '\($0)'?" } ?? "add one of: \(Self.kindKeys.joined(separator: ", "))")
            return decl
        }
        let kind = kindPair.name
        let allowed = Self.keysByKind[kind] ?? []
        checks.rejectUnknownKeys(fields, allowed: allowed, context: "\(kind == "if" ? "conditional" : kind) node '\(name)'")
        var field: [String: YNode] = [:]
        for f in fields where field[f.name] == nil { field[f.name] = f.value }

        func required(_ key: String) -> YNode? {
            if let v = field[key] { return v }
            checks.sink.error(pair.key.position, "\(kind == "if" ? "conditional" : kind) node '\(name)' is missing '\(key)'")
            return nil
        }

        switch kind {
        case "if":
            let cond = checks.condition(kindPair.value, mongo: true)
            let then = required("then").flatMap { checks.target($0, field: "then") }
            let els = required("else").flatMap { checks.target($0, field: "else") }
            if let (c, source) = cond, let then, let els { decl.kind = .conditional(condition: c, source: source, then: then, else: els) }

        case "split":
            let sticky = field["sticky"].flatMap { checks.path($0, field: "sticky") }
            let stickyOK = field["sticky"] == nil || sticky != nil
            var adaptive: AdaptiveSplit?
            let adaptiveOK = field["adaptive"].map { a in
                adaptive = readAdaptive(a)
                return adaptive != nil
            } ?? true
            if let arms = readSplit(kindPair.value, node: name), stickyOK, adaptiveOK { decl.kind = .split(arms: arms, sticky: sticky, adaptive: adaptive) }

        case "pick":
            decl.kind = readPick(kindPair.value, field: field, node: name)

        case "rate", "budget":
            let isRate = kind == "rate"
            let then = required("then").flatMap { checks.target($0, field: "then") }
            let exceeded = field["exceeded"].map { checks.target($0, field: "exceeded") }
            let exceededOK = exceeded == nil || exceeded! != nil
            guard let spec = kindPair.value.pairs else {
                checks.sink.error(kindPair.value.position, "'\(kind)' must be a map such as { limit: 100, per: 1h, key: metadata.user_id }, found \(kindPair.value.kindDescription)")
                return decl
            }
            let allowedSpec = isRate ? ["limit", "per", "key", "technique"] : ["limit", "per", "key"]
            checks.rejectUnknownKeys(spec, allowed: allowedSpec, context: "'\(kind)' of node '\(name)'")
            var s: [String: YNode] = [:]
            for p in spec where s[p.name] == nil { s[p.name] = p.value }
            var limit: Double?, window: Seconds?
            if let l = s["limit"] { limit = checks.positiveNumber(l, field: "limit", what: isRate ? "requests per window" : "USD per window") } else {
                checks.sink.error(kindPair.value.position, "'\(kind)' of node '\(name)' is missing 'limit'")
            }
            if let w = s["per"] { window = checks.duration(w, field: "per") } else {
                checks.sink.error(kindPair.value.position, "'\(kind)' of node '\(name)' is missing 'per'", suggestion: "add per: 1h (or 1m, 1d)")
            }
            let key = s["key"].flatMap { checks.path($0, field: "key") }
            let keyOK = s["key"] == nil || key != nil
            var technique = RouteNode.WindowTechnique.sliding
            var techniqueOK = true
            if let t = s["technique"] {
                if let text = t.text, let parsed = RouteNode.WindowTechnique(rawValue: text) { technique = parsed } else {
                    checks.sink.error(t.position, "'technique' must be 'sliding' or 'fixed', found \(t.kindDescription)",
                                      suggestion: t.text.flatMap { NameSuggestion.didYouMean($0, in: ["sliding", "fixed"]) })
                    techniqueOK = false
                }
            }
            if let limit, let window, let then, exceededOK, keyOK, techniqueOK {
                let ex = exceeded ?? nil
                decl.kind = isRate
                    ? .rate(limit: limit, window: window, key: key, technique: technique, then: then, exceeded: ex)
                    : .budget(limit: limit, window: window, key: key, then: then, exceeded: ex)
            }

        case "model":
            decl.kind = readModel(field, modelNode: kindPair.value, node: name)

        case "reject":
            decl.kind = readReject(kindPair.value)

        default: break
        }
        return decl
    }

    private mutating func readModel(_ field: [String: YNode], modelNode: YNode, node: String) -> NodeDeclaration.Kind? {
        var ok = true
        var target: ModelTarget?
        if let text = modelNode.text, modelNode.scalar?.typed.stringValue != nil {
            target = checks.modelID(text, at: modelNode.position)
        } else {
            checks.sink.error(modelNode.position, "'model' must be a model id such as openai/gpt-5-mini, found \(modelNode.kindDescription)")
        }
        var timeout: Seconds?
        if let t = field["timeout"] {
            timeout = checks.duration(t, field: "timeout")
            if timeout == nil { ok = false }
        }
        var retries = 0
        if let r = field["retries"] {
            if case .number(let n) = r.scalar?.typed, n >= 0, n <= 10, n.rounded() == n {
                retries = Int(n)
            } else {
                checks.sink.error(r.position, "'retries' must be a whole number from 0 to 10, found \(r.kindDescription)")
                ok = false
            }
        }
        var backoff = Backoff.default
        if let b = field["backoff"] {
            if let parsed = readBackoff(b) { backoff = parsed } else { ok = false }
        }
        var set: [String: JSONValue] = [:]
        if let s = field["set"] {
            if case .object(let o) = s.json, s.pairs != nil {
                set = o
                if o["model"] != nil, let p = s.pairs?.first(where: { $0.name == "model" }) {
                    checks.sink.error(p.key.position, "'set' cannot change 'model'", suggestion: "use the node's 'model' field")
                    ok = false
                }
                if o["stream"] != nil, let p = s.pairs?.first(where: { $0.name == "stream" }) {
                    checks.sink.error(p.key.position, "'set' cannot change 'stream': the client decides whether it streams")
                    ok = false
                }
            } else {
                checks.sink.error(s.position, "'set' must be a map of request parameters such as { max_tokens: 1024 }, found \(s.kindDescription)")
                ok = false
            }
        }
        var fallback: TargetRef?
        if let f = field["fallback"] {
            fallback = checks.target(f, field: "fallback")
            if fallback == nil { ok = false }
            fallback?.role = .modelFallback
        }
        var retryOn = FailureMatcher.defaultRetry
        if let r = field["retry_on"] {
            if let parsed = readFailures(r, field: "retry_on") { retryOn = parsed } else { ok = false }
        }
        var fallbackOn = FailureMatcher.defaultFallback
        if let f = field["fallback_on"] {
            if let parsed = readFailures(f, field: "fallback_on") { fallbackOn = parsed } else { ok = false }
            if field["fallback"] == nil, ok {
                checks.sink.warning(f.position, "'fallback_on' has no effect: node '\(node)' has no 'fallback'",
                                    suggestion: "add fallback: <node or model id>, or remove 'fallback_on'")
            }
        }
        if let r = field["retry_on"], retries == 0, ok {
            checks.sink.warning(r.position, "'retry_on' has no effect: node '\(node)' has no 'retries'", suggestion: "add retries: 2")
        }
        var breaker: BreakerSpec?
        if let b = field["breaker"] {
            breaker = readBreaker(b)
            if breaker == nil { ok = false }
        }
        var maxConcurrency: Int?
        if let c = field["max_concurrency"] {
            if case .number(let n) = c.scalar?.typed, n >= 1, n <= 100_000, n.rounded() == n {
                maxConcurrency = Int(n)
            } else {
                checks.sink.error(c.position, "'max_concurrency' must be a whole number from 1 to 100000 (attempts in flight), found \(c.kindDescription)")
                ok = false
            }
        }
        var mirror: NodeDeclaration.MirrorDeclaration?
        if let m = field["mirror"] {
            mirror = readMirror(m)
            if mirror == nil { ok = false }
            if let to = mirror?.to.text, to == node || to == target?.description {
                checks.sink.error(m.position, "node '\(node)' mirrors to itself", suggestion: "mirror to another model, e.g. mirror: { to: openai/gpt-5-mini, share: 5% }")
                ok = false
            }
        }
        guard ok, let target else { return nil }
        return .model(target: target, timeout: timeout, retries: retries, backoff: backoff, set: set, fallback: fallback, retryOn: retryOn, fallbackOn: fallbackOn,
                      breaker: breaker, maxConcurrency: maxConcurrency, mirror: mirror)
    }

    /// `adaptive: true` or `adaptive: { window: 1d, min: 5% }` (window 1m to 30d, min 0% to 50%).
    private mutating func readAdaptive(_ node: YNode) -> AdaptiveSplit? {
        if case .bool(true) = node.scalar?.typed { return AdaptiveSplit() }
        guard let pairs = node.pairs else {
            checks.sink.error(node.position, "'adaptive' must be true or a map such as { window: 1d, min: 5% }, found \(node.kindDescription)")
            return nil
        }
        checks.rejectUnknownKeys(pairs, allowed: ["window", "min"], context: "'adaptive'")
        var window: Seconds = 86400
        var minimum = 0.05
        var ok = true
        for p in pairs {
            switch p.name {
            case "window":
                guard let d = checks.duration(p.value, field: "window") else { ok = false; continue }
                if d >= 60, d <= 30 * 86400 { window = d } else {
                    checks.sink.error(p.value.position, "'window' must be from 1m to 30d, found \(DurationText.format(d))")
                    ok = false
                }
            case "min":
                var text = (p.value.text ?? "").trimmingCharacters(in: .whitespaces)
                if text.hasSuffix("%") { text.removeLast() }
                if p.value.scalar != nil, let n = YScalar.number(text.trimmingCharacters(in: .whitespaces)), n >= 0, n <= 50 { minimum = n / 100 } else {
                    checks.sink.error(p.value.position, "'min' must be a percentage from 0% to 50%, found \(p.value.kindDescription)",
                                      suggestion: "write min: 5% (the smallest share an arm keeps)")
                    ok = false
                }
            default: ok = false
            }
        }
        return ok ? AdaptiveSplit(window: window, minimum: minimum) : nil
    }

    /// `pick: [a, b]` with `by: latency | ttft | cost | errors` (default latency), `window: 5m`
    /// (1s to 1d) and `explore: 5%` (0 to 50%).
    private mutating func readPick(_ armsNode: YNode, field: [String: YNode], node: String) -> NodeDeclaration.Kind? {
        var ok = true
        var arms: [TargetRef] = []
        if let items = armsNode.items {
            if items.count < 2 || items.count > 16 {
                checks.sink.error(armsNode.position, "'pick' of node '\(node)' has \(items.count) arm\(items.count == 1 ? "" : "s"); a pick has 2 to 16",
                                  suggestion: items.count < 2 ? "add another arm, or use the arm itself instead of a pick" : "group arms under splits or conditionals")
                ok = false
            }
            for item in items {
                guard let ref = checks.target(item, field: "pick arm") else { ok = false; continue }
                if arms.contains(where: { $0.text == ref.text }) {
                    checks.sink.error(item.position, "'\(ref.text)' is an arm of pick '\(node)' twice", suggestion: "list each arm once")
                    ok = false
                    continue
                }
                arms.append(ref)
            }
        } else {
            checks.sink.error(armsNode.position, "'pick' must be a list of arms such as [gpt, claude], found \(armsNode.kindDescription)")
            ok = false
        }
        var by = PickMetric.latency
        if let b = field["by"] {
            let names = PickMetric.allCases.map(\.rawValue)
            if let text = b.text, let metric = PickMetric(rawValue: text), b.scalar != nil { by = metric } else {
                checks.sink.error(b.position, "'by' must be one of \(names.joined(separator: ", ")), found \(b.kindDescription)",
                                  suggestion: b.text.flatMap { NameSuggestion.didYouMean($0.lowercased(), in: names) })
                ok = false
            }
        }
        var window: Seconds = 300
        if let w = field["window"] {
            if let d = checks.duration(w, field: "window") {
                if d >= 1, d <= 86400 { window = d } else {
                    checks.sink.error(w.position, "'window' must be from 1s to 1d, found \(DurationText.format(d))")
                    ok = false
                }
            } else {
                ok = false
            }
        }
        var explore = 0.05
        if let e = field["explore"] {
            var text = (e.text ?? "").trimmingCharacters(in: .whitespaces)
            if text.hasSuffix("%") { text.removeLast() }
            if e.scalar != nil, let n = YScalar.number(text.trimmingCharacters(in: .whitespaces)), n >= 0, n <= 50 { explore = n / 100 } else {
                checks.sink.error(e.position, "'explore' must be a percentage from 0% to 50%, found \(e.kindDescription)",
                                  suggestion: "write explore: 5% (the share of requests sent to a random arm)")
                ok = false
            }
        }
        return ok ? .pick(arms: arms, spec: PickSpec(by: by, window: window, explore: explore)) : nil
    }

    /// `mirror: { to: node-or-model-id, share: 5% }` (share above 0% and at most 100%).
    private mutating func readMirror(_ node: YNode) -> NodeDeclaration.MirrorDeclaration? {
        guard let pairs = node.pairs else {
            checks.sink.error(node.position, "'mirror' must be a map such as { to: openai/gpt-5-mini, share: 5% }, found \(node.kindDescription)")
            return nil
        }
        checks.rejectUnknownKeys(pairs, allowed: ["to", "share"], context: "'mirror'")
        var to: TargetRef?
        var share: Double?
        var ok = true
        for p in pairs {
            switch p.name {
            case "to":
                to = checks.target(p.value, field: "to")
                if to == nil { ok = false }
            case "share":
                var text = (p.value.text ?? "").trimmingCharacters(in: .whitespaces)
                if text.hasSuffix("%") { text.removeLast() }
                if p.value.scalar != nil, let n = YScalar.number(text.trimmingCharacters(in: .whitespaces)), n > 0, n <= 100 { share = n / 100 } else {
                    checks.sink.error(p.value.position, "'share' must be a percentage above 0% and at most 100%, found \(p.value.kindDescription)",
                                      suggestion: "write share: 5% (the share of this node's requests copied)")
                    ok = false
                }
            default: ok = false
            }
        }
        if to == nil, ok {
            checks.sink.error(node.position, "'mirror' is missing 'to'", suggestion: "add to: <model node or model id>")
            ok = false
        }
        if share == nil, ok {
            checks.sink.error(node.position, "'mirror' is missing 'share'", suggestion: "add share: 5% (the share of this node's requests copied)")
            ok = false
        }
        guard ok, var to, let share else { return nil }
        to.role = .next
        return .init(to: to, share: share)
    }

    /// `breaker: { failures: 5, within: 30s, cooldown: 60s }`, each key optional (those are the
    /// defaults), or `breaker: true` for all three defaults.
    private mutating func readBreaker(_ node: YNode) -> BreakerSpec? {
        if case .bool(true) = node.scalar?.typed { return BreakerSpec(failures: 5, within: 30, cooldown: 60) }
        guard let pairs = node.pairs else {
            checks.sink.error(node.position, "'breaker' must be true or a map such as { failures: 5, within: 30s, cooldown: 60s }, found \(node.kindDescription)")
            return nil
        }
        checks.rejectUnknownKeys(pairs, allowed: ["failures", "within", "cooldown"], context: "'breaker'")
        var failures = 5
        var within: Seconds = 30
        var cooldown: Seconds = 60
        var ok = true
        for p in pairs {
            switch p.name {
            case "failures":
                if case .number(let n) = p.value.scalar?.typed, n >= 1, n <= 1000, n.rounded() == n { failures = Int(n) } else {
                    checks.sink.error(p.value.position, "'failures' must be a whole number from 1 to 1000, found \(p.value.kindDescription)")
                    ok = false
                }
            case "within", "cooldown":
                guard let d = checks.duration(p.value, field: p.name) else {
                    ok = false
                    continue
                }
                guard d > 0 else {
                    checks.sink.error(p.value.position, "'\(p.name)' must be longer than 0s")
                    ok = false
                    continue
                }
                if p.name == "within" { within = d } else { cooldown = d }
            default: ok = false
            }
        }
        return ok ? BreakerSpec(failures: failures, within: within, cooldown: cooldown) : nil
    }

    /// `retry_on` / `fallback_on`: a list (or one item, or `any`) of statuses, `4xx`/`5xx`, `timeout`,
    /// `connect`, `content_filter`, `context_length`; `[]` means never.
    private mutating func readFailures(_ node: YNode, field: String) -> FailureMatcher? {
        let items: [YNode]
        if let list = node.items {
            items = list
        } else if node.scalar != nil {
            items = [node]
        } else {
            checks.sink.error(node.position, "'\(field)' must be a list such as [5xx, 429, timeout], found \(node.kindDescription)")
            return nil
        }
        var out: [FailureMatcher.Item] = []
        var ok = true
        for item in items {
            guard let text = item.scalar?.text.trimmingCharacters(in: .whitespaces), item.scalar != nil else {
                checks.sink.error(item.position, "an item of '\(field)' must be a status, a class or a failure name, found \(item.kindDescription)",
                                  suggestion: "valid items: 400...599, \(FailureMatcher.Item.names.joined(separator: ", "))")
                ok = false
                continue
            }
            guard let parsed = FailureMatcher.Item(text) else {
                let lower = text.lowercased()
                var hint: String?
                if FailureMatcher.Item(lower) != nil {
                    hint = "write it in lower case: \(lower)"
                } else if let n = Int(text) {
                    hint = n < 400 ? "only error statuses (400 to 599) are failures" : "statuses run from 400 to 599"
                } else {
                    hint = NameSuggestion.didYouMean(lower, in: FailureMatcher.Item.names)
                }
                checks.sink.error(item.position, "'\(text)' is not a failure '\(field)' can name",
                                  suggestion: hint ?? "valid items: 400...599, \(FailureMatcher.Item.names.joined(separator: ", "))")
                ok = false
                continue
            }
            if out.contains(parsed) {
                checks.sink.warning(item.position, "'\(text)' is listed twice in '\(field)'")
                continue
            }
            out.append(parsed)
        }
        return ok ? FailureMatcher(out) : nil
    }

    private mutating func readBackoff(_ node: YNode) -> Backoff? {
        if node.scalar != nil {
            guard let d = checks.duration(node, field: "backoff") else { return nil }
            return Backoff(delay: d, mode: .exponential)
        }
        guard let pairs = node.pairs else {
            checks.sink.error(node.position, "'backoff' must be a map such as { delay: 250ms, mode: exponential }, found \(node.kindDescription)")
            return nil
        }
        checks.rejectUnknownKeys(pairs, allowed: ["delay", "mode"], context: "'backoff'")
        var result = Backoff.default
        var ok = true
        for p in pairs {
            switch p.name {
            case "delay":
                if let d = checks.duration(p.value, field: "delay") { result.delay = d } else { ok = false }
            case "mode":
                let modes = Backoff.Mode.allCases.map(\.rawValue)
                if let text = p.value.text, let m = Backoff.Mode(rawValue: text) { result.mode = m } else {
                    checks.sink.error(p.value.position, "'mode' must be one of \(modes.joined(separator: ", ")), found \(p.value.kindDescription)",
                                      suggestion: p.value.text.flatMap { NameSuggestion.didYouMean($0, in: modes) })
                    ok = false
                }
            default: ok = false
            }
        }
        return ok ? result : nil
    }

    private mutating func readReject(_ node: YNode) -> NodeDeclaration.Kind? {
        if case .bool(true) = node.scalar?.typed { return .reject(status: 429, message: nil) }
        guard let pairs = node.pairs else {
            checks.sink.error(node.position, "'reject' must be true or a map such as { status: 403, message: \"...\" }, found \(node.kindDescription)")
            return nil
        }
        checks.rejectUnknownKeys(pairs, allowed: ["status", "message"], context: "'reject'")
        var status = 429
        var message: String?
        var ok = true
        for p in pairs {
            switch p.name {
            case "status":
                if case .number(let n) = p.value.scalar?.typed, n.rounded() == n, n >= 400, n <= 599 { status = Int(n) } else {
                    checks.sink.error(p.value.position, "'status' must be an HTTP error status from 400 to 599, found \(p.value.kindDescription)")
                    ok = false
                }
            case "message":
                message = checks.string(p.value, field: "message")
                if message == nil { ok = false }
            default: ok = false
            }
        }
        return ok ? .reject(status: status, message: message) : nil
    }

    /// `- 90%: llama`, `- 90: llama`, `- { weight: 90, to: llama }`, `- else: llama` (the remainder).
    private mutating func readSplit(_ node: YNode, node name: String) -> [NodeDeclaration.SplitArm]? {
        guard let items = node.items else {
            checks.sink.error(node.position, "'split' must be a list of arms such as '- 90%: a' and '- 10%: b', found \(node.kindDescription)")
            return nil
        }
        if items.isEmpty {
            checks.sink.error(node.position, "'split' of node '\(name)' has no arms", suggestion: "add arms such as '- 90%: a' and '- 10%: b'")
            return nil
        }
        var arms: [NodeDeclaration.SplitArm] = []
        var elseArm: TargetRef?
        var ok = true
        for item in items {
            guard let pairs = item.pairs, !pairs.isEmpty else {
                checks.sink.error(item.position, "a split arm must look like '90%: node' or '{ weight: 90, to: node }', found \(item.kindDescription)")
                ok = false
                continue
            }
            if pairs.contains(where: { $0.name == "weight" || $0.name == "to" }) {
                checks.rejectUnknownKeys(pairs, allowed: ["weight", "to"], context: "a split arm")
                let w = pairs.first { $0.name == "weight" }
                let t = pairs.first { $0.name == "to" }
                guard let w, let t else {
                    checks.sink.error(item.position, "a split arm needs both 'weight' and 'to'")
                    ok = false
                    continue
                }
                let weight = readWeight(w.value, text: w.value.text ?? "", allowPercent: true)
                let target = checks.target(t.value, field: "to")
                if let weight, let target { arms.append(.init(weight: weight, target: target)) } else { ok = false }
                continue
            }
            if pairs.count > 1 {
                checks.sink.error(pairs[1].key.position, "a split arm has one weight and one target", suggestion: "write each arm on its own '- ' line")
                ok = false
                continue
            }
            let pair = pairs[0]
            guard let target = checks.target(pair.value, field: "split arm") else { ok = false; continue }
            if pair.name == "else" {
                if elseArm != nil {
                    checks.sink.error(pair.key.position, "a split has at most one 'else' arm")
                    ok = false
                }
                elseArm = target
                continue
            }
            if let weight = readWeight(pair.key, text: pair.name, allowPercent: true) { arms.append(.init(weight: weight, target: target)) } else { ok = false }
        }
        guard ok else { return nil }
        let total = arms.reduce(0) { $0 + $1.weight }
        if let elseArm {
            if total > 100 + 1e-9 {
                checks.sink.error(node.position, "split weights add up to \(RouteRun.format(total))% before 'else', more than 100%")
                return nil
            }
            if total < 100 - 1e-9 { arms.append(.init(weight: 100 - total, target: elseArm)) }
        } else if abs(total - 100) > 1e-9 {
            checks.sink.error(node.position, "split weights add up to \(RouteRun.format(total))%, not 100%",
                              suggestion: total < 100 ? "add \(RouteRun.format(100 - total))% to an arm or add an 'else' arm" : "remove \(RouteRun.format(total - 100))% from the arms")
            return nil
        }
        return arms
    }

    private mutating func readWeight(_ node: YNode, text raw: String, allowPercent: Bool) -> Double? {
        var text = raw.trimmingCharacters(in: .whitespaces)
        if allowPercent, text.hasSuffix("%") { text.removeLast() }
        guard let w = YScalar.number(text.trimmingCharacters(in: .whitespaces)) else {
            checks.sink.error(node.position, "'\(raw)' is not a weight", suggestion: "write a percentage such as 90% (or { weight: 90, to: node })")
            return nil
        }
        guard w > 0, w <= 100 else {
            checks.sink.error(node.position, "split weight \(raw) is out of range: a weight is more than 0% and at most 100%")
            return nil
        }
        return w
    }
}
