import Foundation

/// Cloudflare AI Gateway's route JSON: `{"name", "elements": [{"id", "type", "properties", "outputs"}]}`.
/// Both spellings are accepted: the documentation's (`rate_limit`, `interval`, `technique`,
/// `condition`) and the API schema's (`rate`, `window`, `conditions`, `outputs: {}` on `end`).
struct CloudflareRouteFrontEnd {
    var checks: FieldChecks

    static let types = ["start", "conditional", "percentage", "rate_limit", "rate", "model", "end"]

    mutating func read(_ root: YNode) -> RouteDeclaration {
        var route = RouteDeclaration()
        guard let pairs = root.pairs else { return route }
        for pair in pairs {
            switch pair.name {
            case "name":
                route.name = checks.string(pair.value, field: "name")
                route.namePosition = pair.value.position
            case "description":
                route.description = checks.string(pair.value, field: "description")
            case "elements", "id", "account_tag", "created_at", "modified_at", "gateway_id", "deployment", "version":
                break
            default:
                let allowed = ["name", "description", "elements", "id"]
                checks.sink.warning(pair.key.position, "unknown key '\(pair.name)' in a Cloudflare route is ignored",
                                    suggestion: NameSuggestion.didYouMean(pair.name, in: allowed))
            }
        }
        guard let elementsNode = pairs.first(where: { $0.name == "elements" })?.value else { return route }
        route.nodesPosition = elementsNode.position
        guard let elements = elementsNode.items else {
            checks.sink.error(elementsNode.position, "'elements' must be a list of route elements, found \(elementsNode.kindDescription)")
            return route
        }
        // Ids first, so end elements are known before edges are read.
        var seen: [String: SourcePosition] = [:]
        var starts: [(YNode, [YPair])] = []
        var bodies: [(id: String, idPosition: SourcePosition, type: String, fields: [String: YNode], element: YNode)] = []
        for element in elements {
            guard let fields = element.pairs else {
                checks.sink.error(element.position, "a route element must be a map with 'id' and 'type', found \(element.kindDescription)")
                continue
            }
            var f: [String: YNode] = [:]
            for p in fields where f[p.name] == nil { f[p.name] = p.value }
            for p in fields where !["id", "type", "properties", "outputs", "position", "name"].contains(p.name) {
                checks.sink.warning(p.key.position, "unknown key '\(p.name)' in a route element is ignored",
                                    suggestion: NameSuggestion.didYouMean(p.name, in: ["id", "type", "properties", "outputs"]))
            }
            guard let idNode = f["id"], let id = checks.string(idNode, field: "id"), !id.isEmpty else {
                if f["id"] == nil { checks.sink.error(element.position, "route element is missing 'id'") }
                continue
            }
            guard let typeNode = f["type"], let rawType = checks.string(typeNode, field: "type") else {
                if f["type"] == nil { checks.sink.error(element.position, "route element '\(id)' is missing 'type'", suggestion: "one of \(Self.types.joined(separator: ", "))") }
                continue
            }
            let type = rawType.lowercased()
            guard Self.types.contains(type) else {
                checks.sink.error(typeNode.position, "unknown element type '\(rawType)'",
                                  suggestion: NameSuggestion.didYouMean(type, in: Self.types) ?? "use one of \(Self.types.joined(separator: ", "))")
                // Still a name, so edges to it do not add "unknown node" errors.
                if seen[id] == nil { seen[id] = idNode.position; route.nodes.append(NodeDeclaration(name: id, position: idNode.position, kind: nil)) }
                continue
            }
            if let first = seen[id] {
                checks.sink.error(idNode.position, "duplicate element id '\(id)' (first used at line \(first.line))", suggestion: "element ids must be unique")
                continue
            }
            seen[id] = idNode.position
            switch type {
            case "start": starts.append((element, fields))
            case "end":
                route.endNames[id] = idNode.position
                if let outputs = f["outputs"], outputs.pairs?.isEmpty != true {
                    checks.sink.error(outputs.position, "an 'end' element has no outputs")
                }
            default: bodies.append((id, idNode.position, type, f, element))
            }
        }
        if starts.isEmpty {
            checks.sink.error(elementsNode.position, "the route has no 'start' element", suggestion: "add {\"id\": \"start\", \"type\": \"start\", \"outputs\": {\"next\": {\"elementId\": \"...\"}}}")
        } else {
            if starts.count > 1 {
                checks.sink.error(starts[1].0.position, "the route has more than one 'start' element")
            }
            let (element, fields) = starts[0]
            let outputs = readOutputs(fields.first { $0.name == "outputs" }?.value, at: element.position, allowed: ["next"], owner: "start")
            if let next = outputs["next"] {
                route.start = next
            } else {
                checks.sink.error(element.position, "the 'start' element needs outputs.next")
            }
        }
        if bodies.isEmpty && !elements.isEmpty {
            checks.sink.error(elementsNode.position, "the route has no model, conditional, percentage or limit elements")
        }
        for body in bodies {
            var decl = NodeDeclaration(name: body.id, position: body.idPosition, kind: nil)
            decl.kind = readElement(body.id, type: body.type, fields: body.fields, element: body.element, endNames: route.endNames)
            route.nodes.append(decl)
        }
        return route
    }

    private mutating func readOutputs(_ node: YNode?, at position: SourcePosition, allowed: [String]?, owner: String) -> [String: TargetRef] {
        guard let node else { return [:] }
        guard let pairs = node.pairs else {
            checks.sink.error(node.position, "'outputs' must be a map such as {\"next\": {\"elementId\": \"...\"}}, found \(node.kindDescription)")
            return [:]
        }
        var out: [String: TargetRef] = [:]
        for p in pairs {
            if let allowed, !allowed.contains(p.name) {
                checks.sink.error(p.key.position, "unknown output '\(p.name)' of \(owner)",
                                  suggestion: NameSuggestion.didYouMean(p.name, in: allowed) ?? "valid outputs: \(allowed.joined(separator: ", "))")
                continue
            }
            guard let idNode = p.value.pairs?.first(where: { $0.name == "elementId" })?.value, let id = idNode.text, !id.isEmpty else {
                checks.sink.error(p.value.position, "output '\(p.name)' must be {\"elementId\": \"...\"}, found \(p.value.kindDescription)")
                continue
            }
            out[p.name] = TargetRef(text: id, position: idNode.position)
        }
        return out
    }

    private mutating func readElement(_ id: String, type: String, fields f: [String: YNode], element: YNode, endNames: [String: SourcePosition]) -> NodeDeclaration.Kind? {
        let properties = f["properties"]?.pairs ?? []
        if let p = f["properties"], p.pairs == nil {
            checks.sink.error(p.position, "'properties' must be a map, found \(p.kindDescription)")
            return nil
        }
        var prop: [String: YNode] = [:]
        for p in properties where prop[p.name] == nil { prop[p.name] = p.value }
        let owner = "\(type) element '\(id)'"
        switch type {
        case "conditional":
            checks.rejectUnknownKeys(properties, allowed: ["condition", "conditions"], context: "properties of \(owner)")
            let outputs = readOutputs(f["outputs"], at: element.position, allowed: ["true", "false"], owner: owner)
            guard let condNode = prop["condition"] ?? prop["conditions"] else {
                checks.sink.error(element.position, "\(owner) is missing properties.condition")
                return nil
            }
            guard condNode.pairs != nil else {
                checks.sink.error(condNode.position, "the condition must be a map such as {\"metadata.plan\": {\"$eq\": \"paid\"}}, found \(condNode.kindDescription)")
                return nil
            }
            let compiled = checks.condition(condNode, mongo: true)
            guard let t = outputs["true"], let e = outputs["false"] else {
                checks.sink.error(element.position, "\(owner) needs both outputs 'true' and 'false'")
                return nil
            }
            guard let (c, text) = compiled else { return nil }
            return .conditional(condition: c, source: text, then: t, else: e)

        case "percentage":
            guard let outputs = f["outputs"]?.pairs else {
                checks.sink.error(element.position, "\(owner) needs outputs such as {\"50%\": {...}, \"else\": {...}}")
                return nil
            }
            var arms: [NodeDeclaration.SplitArm] = []
            var elseTarget: TargetRef?
            var ok = true
            for p in outputs {
                let single = readOutputs(YNode(value: .mapping([p]), position: p.key.position), at: p.key.position, allowed: nil, owner: owner)
                guard let target = single[p.name] else { ok = false; continue }
                if p.name == "else" { elseTarget = target; continue }
                var text = p.name.trimmingCharacters(in: .whitespaces)
                if text.hasSuffix("%") { text.removeLast() }
                guard let w = YScalar.number(text), w > 0, w <= 100 else {
                    checks.sink.error(p.key.position, "'\(p.name)' is not a weight", suggestion: "write a percentage such as \"10%\" or \"else\"")
                    ok = false
                    continue
                }
                arms.append(.init(weight: w, target: target))
            }
            guard ok else { return nil }
            let total = arms.reduce(0) { $0 + $1.weight }
            if total > 100 + 1e-9 || (elseTarget == nil && abs(total - 100) > 1e-9) {
                checks.sink.error(f["outputs"]?.position ?? element.position, "percentages add up to \(RouteRun.format(total))%, not 100%",
                                  suggestion: total < 100 ? "add an \"else\" output for the remaining \(RouteRun.format(100 - total))%" : nil)
                return nil
            }
            if let elseTarget, total < 100 - 1e-9 { arms.append(.init(weight: 100 - total, target: elseTarget)) }
            return arms.isEmpty ? nil : .split(arms: arms, sticky: nil)

        case "rate_limit", "rate":
            checks.rejectUnknownKeys(properties, allowed: ["limitType", "key", "limit", "interval", "window", "technique"], context: "properties of \(owner)")
            var outputs = readOutputs(f["outputs"], at: element.position, allowed: ["success", "fallback"], owner: owner)
            outputs["fallback"]?.role = .limitExceeded
            var ok = true
            var isCost = false
            if let lt = prop["limitType"] {
                switch lt.text {
                case "count": break
                case "cost": isCost = true
                default:
                    checks.sink.error(lt.position, "'limitType' must be \"count\" or \"cost\", found \(lt.kindDescription)")
                    ok = false
                }
            }
            var limit: Double?
            if let l = prop["limit"] { limit = checks.positiveNumber(l, field: "limit", what: isCost ? "USD per window" : "requests per window") } else {
                checks.sink.error(element.position, "\(owner) is missing properties.limit")
            }
            var window: Double?
            if let w = prop["interval"] ?? prop["window"] {
                if case .number(let n) = w.scalar?.typed, n > 0 { window = checks.bounded(n, at: w.position, text: "\(RouteRun.format(n))s") } else if let text = w.text, let d = DurationText.parse(text) { window = checks.bounded(d, at: w.position, text: text) } else {
                    checks.sink.error(w.position, "the window must be a number of seconds greater than 0, found \(w.kindDescription)")
                }
            } else {
                checks.sink.error(element.position, "\(owner) is missing properties.interval (seconds)")
            }
            let key = prop["key"].flatMap { checks.path($0, field: "key") }
            if prop["key"] != nil && key == nil { ok = false }
            var technique = RouteNode.WindowTechnique.sliding
            if let t = prop["technique"] {
                if let text = t.text, let parsed = RouteNode.WindowTechnique(rawValue: text) { technique = parsed } else {
                    checks.sink.error(t.position, "'technique' must be \"sliding\" or \"fixed\", found \(t.kindDescription)")
                    ok = false
                }
            }
            guard let success = outputs["success"] else {
                checks.sink.error(element.position, "\(owner) needs outputs.success")
                return nil
            }
            guard ok, let limit, let window else { return nil }
            return isCost
                ? .budget(limit: limit, window: window, key: key, then: success, exceeded: outputs["fallback"])
                : .rate(limit: limit, window: window, key: key, technique: technique, then: success, exceeded: outputs["fallback"])

        case "model":
            checks.rejectUnknownKeys(properties, allowed: ["provider", "model", "timeout", "retries"], context: "properties of \(owner)")
            var outputs = readOutputs(f["outputs"], at: element.position, allowed: ["success", "fallback"], owner: owner)
            outputs["fallback"]?.role = .modelFallback
            if let success = outputs["success"], endNames[success.text] == nil {
                checks.sink.warning(success.position, "a model's 'success' output always ends the route here; '\(success.text)' is not followed",
                                    suggestion: "point 'success' at an end element")
            }
            guard let providerNode = prop["provider"], let provider = checks.string(providerNode, field: "provider"),
                  let modelNode = prop["model"], let model = checks.string(modelNode, field: "model")
            else {
                if prop["provider"] == nil || prop["model"] == nil {
                    checks.sink.error(element.position, "\(owner) needs properties.provider and properties.model")
                }
                return nil
            }
            // `provider: openai, model: openai/gpt-5` is forgiven: the prefix is the provider.
            let id = model.hasPrefix(provider + "/") ? model : "\(provider)/\(model)"
            guard let target = checks.modelID(id, at: providerNode.position) else { return nil }
            var timeout: Seconds?
            var ok = true
            if let t = prop["timeout"] {
                if case .number(let ms) = t.scalar?.typed, ms >= 0 {
                    timeout = ms > 0 ? checks.bounded(ms / 1000, at: t.position, text: "\(RouteRun.format(ms))ms") : nil
                    if ms > 0 && timeout == nil { ok = false }
                } else {
                    checks.sink.error(t.position, "'timeout' must be a number of milliseconds, found \(t.kindDescription)")
                    ok = false
                }
            }
            var retries = 0
            if let r = prop["retries"] {
                if case .number(let n) = r.scalar?.typed, n >= 0, n <= 10, n.rounded() == n { retries = Int(n) } else {
                    checks.sink.error(r.position, "'retries' must be a whole number from 0 to 10, found \(r.kindDescription)")
                    ok = false
                }
            }
            guard ok else { return nil }
            return .model(target: target, timeout: timeout, retries: retries, backoff: .default, set: [:], fallback: outputs["fallback"])

        default:
            return nil
        }
    }
}
