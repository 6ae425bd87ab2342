import Foundation

/// Cloudflare's MongoDB-style condition maps, compiled to the same `Condition` as expressions:
/// `{"metadata.plan": "paid"}`, `{"metadata.plan": {"$eq": "paid"}}`, `{"$or": [{...}, {...}]}`.
/// Several keys in one map are all required (an implicit `$and`).
struct MongoConditionCompiler {
    let limits: ConditionLimits
    var sink: DiagnosticSink
    /// The file position of an offset inside a scalar's value, to point into a `$regex` pattern.
    var position: (YNode, Int) -> SourcePosition = { node, _ in node.position }

    static let fieldOperators = ["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists", "$regex", "$contains", "$startsWith", "$not"]
    static let logicalOperators = ["$and", "$or", "$nor", "$not"]

    mutating func compile(_ node: YNode, depth: Int = 0) -> Condition? {
        guard depth <= limits.maxDepth else {
            sink.error(node.position, "the condition nests more than \(limits.maxDepth) levels deep")
            return nil
        }
        guard let pairs = node.pairs else {
            sink.error(node.position, "expected a condition map such as {\"metadata.plan\": {\"$eq\": \"paid\"}}, found \(node.kindDescription)")
            return nil
        }
        if pairs.isEmpty {
            sink.error(node.position, "empty condition map", suggestion: "add a field such as {\"metadata.plan\": \"paid\"}")
            return nil
        }
        var terms: [Condition] = []
        var ok = true
        for pair in pairs {
            let key = pair.name
            if key.hasPrefix("$") {
                switch key {
                case "$and", "$or", "$nor":
                    guard let items = pair.value.items, !items.isEmpty else {
                        sink.error(pair.value.position, "'\(key)' needs a non-empty list of conditions, found \(pair.value.kindDescription)")
                        ok = false
                        continue
                    }
                    var subs: [Condition] = []
                    for item in items {
                        if let c = compile(item, depth: depth + 1) { subs.append(c) } else { ok = false }
                    }
                    switch key {
                    case "$and": terms.append(.and(subs))
                    case "$or": terms.append(.or(subs))
                    default: terms.append(.not(.or(subs)))
                    }
                case "$not":
                    if let c = compile(pair.value, depth: depth + 1) { terms.append(.not(c)) } else { ok = false }
                default:
                    let hint = NameSuggestion.didYouMean(key, in: Self.logicalOperators) ?? "at the top of a condition use $and, $or, $nor, $not or a field path"
                    sink.error(pair.key.position, "unknown operator '\(key)' here", suggestion: hint)
                    ok = false
                }
                continue
            }
            guard let path = compilePath(pair.key) else { ok = false; continue }
            if let c = compileField(path, pair.value, depth: depth) { terms.append(c) } else { ok = false }
        }
        guard ok else { return nil }
        return terms.count == 1 ? terms[0] : .and(terms)
    }

    private mutating func compilePath(_ key: YNode) -> ValuePath? {
        let text = key.text ?? ""
        switch ConditionParser.path(text, limits: limits) {
        case .success(let path): return path
        case .failure(let issue):
            sink.error(key.position, "'\(text)' is not a valid path: \(issue.message)", suggestion: issue.suggestion)
            return nil
        }
    }

    private mutating func compileField(_ path: ValuePath, _ value: YNode, depth: Int) -> Condition? {
        // A map of operators, or a literal meaning equality.
        guard let pairs = value.pairs, pairs.contains(where: { $0.name.hasPrefix("$") }) else {
            return .compare(.path(path), .equal, .literal(value.json))
        }
        var terms: [Condition] = []
        var ok = true
        for pair in pairs {
            let v = pair.value
            let literal = v.json
            switch pair.name {
            case "$eq": terms.append(.compare(.path(path), .equal, .literal(literal)))
            case "$ne": terms.append(.compare(.path(path), .notEqual, .literal(literal)))
            case "$gt", "$gte", "$lt", "$lte":
                guard literal.numberValue != nil || literal.stringValue != nil else {
                    sink.error(v.position, "'\(pair.name)' needs a number or a string, found \(v.kindDescription)")
                    ok = false
                    continue
                }
                let op: ComparisonOperator = ["$gt": .greater, "$gte": .greaterOrEqual, "$lt": .less, "$lte": .lessOrEqual][pair.name] ?? .equal
                terms.append(.compare(.path(path), op, .literal(literal)))
            case "$in", "$nin":
                guard case .array(let list) = literal else {
                    sink.error(v.position, "'\(pair.name)' needs a list, found \(v.kindDescription)", suggestion: "write [\"a\", \"b\"]")
                    ok = false
                    continue
                }
                terms.append(.member(.path(path), list, negated: pair.name == "$nin"))
            case "$exists":
                guard case .bool(let b) = literal else {
                    sink.error(v.position, "'$exists' needs true or false, found \(v.kindDescription)")
                    ok = false
                    continue
                }
                terms.append(b ? .exists(path) : .not(.exists(path)))
            case "$contains":
                terms.append(.contains(.path(path), .literal(literal)))
            case "$startsWith":
                guard literal.stringValue != nil else {
                    sink.error(v.position, "'$startsWith' needs a string, found \(v.kindDescription)")
                    ok = false
                    continue
                }
                terms.append(.startsWith(.path(path), .literal(literal)))
            case "$regex":
                guard let pattern = literal.stringValue else {
                    sink.error(v.position, "'$regex' needs a string, found \(v.kindDescription)")
                    ok = false
                    continue
                }
                switch ConditionParser.regex(pattern, limits: limits) {
                case .success(let compiled):
                    if let warning = compiled.warning {
                        sink.warning(v.position, warning.message, suggestion: warning.suggestion)
                    }
                    terms.append(.matches(.path(path), compiled.regex))
                case .failure(let problem):
                    let at = problem.patternOffset.map { position(v, $0) } ?? v.position
                    sink.error(at, problem.message, suggestion: problem.suggestion)
                    ok = false
                }
            case "$not":
                if let c = compileField(path, v, depth: depth + 1) { terms.append(.not(c)) } else { ok = false }
            default:
                let hint = NameSuggestion.didYouMean(pair.name, in: Self.fieldOperators) ?? "use one of \(Self.fieldOperators.joined(separator: " "))"
                sink.error(pair.key.position, "unknown operator '\(pair.name)'", suggestion: hint)
                ok = false
            }
        }
        guard ok else { return nil }
        return terms.count == 1 ? terms[0] : .and(terms)
    }
}
