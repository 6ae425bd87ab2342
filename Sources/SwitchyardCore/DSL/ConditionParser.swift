import Foundation

/// Limits applied while compiling conditions.
struct ConditionLimits: Sendable {
    var maxDepth: Int
    var maxRegexLength: Int
}

/// A problem found in a condition, at a Unicode-scalar offset into the expression text.
struct ConditionIssue: Error, Sendable {
    var offset: Int
    var severity: Diagnostic.Severity
    var message: String
    var suggestion: String?
}

/// Recursive descent over the condition language. Precedence, loosest first:
/// `or` / `||`, `and` / `&&`, `not` / `!`, then one comparison.
struct ConditionParser {
    private let tokens: [ConditionToken]
    private var index = 0
    private let limits: ConditionLimits
    private(set) var issues: [ConditionIssue] = []
    private var depth = 0

    /// Compiles an expression; a nil condition comes with at least one error issue.
    static func compile(_ text: String, limits: ConditionLimits) -> (Condition?, [ConditionIssue]) {
        let tokens: [ConditionToken]
        do {
            tokens = try ConditionLexer.tokenize(text)
        } catch {
            return (nil, [ConditionIssue(offset: error.offset, severity: .error, message: error.message, suggestion: error.suggestion)])
        }
        var parser = ConditionParser(tokens: tokens, limits: limits)
        if tokens.count == 1 {
            return (nil, [ConditionIssue(offset: 0, severity: .error, message: "empty condition", suggestion: "write an expression such as metadata.plan == \"paid\"")])
        }
        do throws(ConditionSyntaxError) {
            let condition = try parser.parseOr()
            if parser.current.kind != .end {
                throw parser.expected("'and', 'or' or the end of the expression")
            }
            let hasErrors = parser.issues.contains { $0.severity == .error }
            return (hasErrors ? nil : condition, parser.issues)
        } catch {
            return (nil, parser.issues + [ConditionIssue(offset: error.offset, severity: .error, message: error.message, suggestion: error.suggestion)])
        }
    }

    /// A path on its own (`metadata.user_id`), for limit keys, sticky splits and Mongo field names.
    static func path(_ text: String, limits: ConditionLimits) -> Result<ValuePath, ConditionIssue> {
        do throws(ConditionSyntaxError) {
            let tokens = try ConditionLexer.tokenize(text)
            var parser = ConditionParser(tokens: tokens, limits: limits)
            guard tokens.count > 1 else { throw ConditionSyntaxError(offset: 0, message: "empty path") }
            let (path, _) = try parser.parsePath()
            guard parser.current.kind == .end else { throw parser.expected("the end of the path") }
            return .success(path)
        } catch {
            return .failure(ConditionIssue(offset: error.offset, severity: .error, message: error.message, suggestion: error.suggestion))
        }
    }

    private init(tokens: [ConditionToken], limits: ConditionLimits) {
        self.tokens = tokens
        self.limits = limits
    }

    private var current: ConditionToken { tokens[index] }
    private func peek(_ n: Int = 1) -> ConditionToken { tokens[min(index + n, tokens.count - 1)] }
    private mutating func advance() -> ConditionToken {
        let t = tokens[index]
        if index < tokens.count - 1 { index += 1 }
        return t
    }

    private func expected(_ what: String, suggestion: String? = nil) -> ConditionSyntaxError {
        ConditionSyntaxError(offset: current.offset, message: "expected \(what), found \(current.display)", suggestion: suggestion)
    }

    private mutating func enter() throws(ConditionSyntaxError) {
        depth += 1
        if depth > limits.maxDepth {
            throw ConditionSyntaxError(offset: current.offset, message: "the expression nests more than \(limits.maxDepth) levels deep", suggestion: "split it across several conditional nodes")
        }
    }

    private mutating func parseOr() throws(ConditionSyntaxError) -> Condition {
        try enter()
        defer { depth -= 1 }
        var terms = [try parseAnd()]
        while current.isKeyword("or") || current.kind == .symbol("||") {
            _ = advance()
            terms.append(try parseAnd())
        }
        return terms.count == 1 ? terms[0] : .or(terms)
    }

    private mutating func parseAnd() throws(ConditionSyntaxError) -> Condition {
        var terms = [try parseNot()]
        while current.isKeyword("and") || current.kind == .symbol("&&") {
            _ = advance()
            terms.append(try parseNot())
        }
        return terms.count == 1 ? terms[0] : .and(terms)
    }

    private mutating func parseNot() throws(ConditionSyntaxError) -> Condition {
        if current.isKeyword("not") || current.kind == .symbol("!") {
            _ = advance()
            try enter()
            defer { depth -= 1 }
            return .not(try parseNot())
        }
        return try parsePrimary()
    }

    private mutating func parsePrimary() throws(ConditionSyntaxError) -> Condition {
        if current.kind == .leftParen {
            let open = advance()
            let inner = try parseOr()
            guard current.kind == .rightParen else {
                _ = open
                throw expected("')' to close '('")
            }
            _ = advance()
            return inner
        }
        if current.isKeyword("exists") && peek().kind == .leftParen {
            _ = advance()
            _ = advance()
            let (path, _) = try parsePath()
            guard current.kind == .rightParen else { throw expected("')' after the path in exists(...)") }
            _ = advance()
            return .exists(path)
        }
        return try parseComparison()
    }

    /// What the compiler knows about an operand's type.
    private enum Known { case number, string, unknown }

    private struct Side {
        var operand: Operand
        var known: Known
        var offset: Int
        var literal: JSONValue? { if case .literal(let v) = operand { return v }; return nil }
    }

    private mutating func parseComparison() throws(ConditionSyntaxError) -> Condition {
        let left = try parseOperand()
        let opToken = current
        switch opToken.kind {
        case .symbol(let s) where ComparisonOperator(rawValue: s) != nil:
            _ = advance()
            let op = ComparisonOperator(rawValue: s)!
            let right = try parseOperand()
            checkComparison(left, op, right, at: opToken)
            return .compare(left.operand, op, right.operand)
        case .identifier("in"):
            _ = advance()
            return try parseMembership(left, negated: false)
        case .identifier("not") where peek().isKeyword("in"):
            _ = advance()
            _ = advance()
            return try parseMembership(left, negated: true)
        case .identifier("contains"):
            _ = advance()
            let right = try parseOperand()
            if left.known == .number {
                issue(left.offset, "'\(left.operand)' is a number; 'contains' needs a string, list or object")
            }
            if let l = left.literal, l.stringValue == nil, l.arrayValue == nil {
                issue(left.offset, "'contains' needs a string, list or object on its left, not \(l.typeName) \(l.canonicalJSON)")
            }
            return .contains(left.operand, right.operand)
        case .identifier("startsWith"):
            _ = advance()
            let right = try parseOperand()
            if let r = right.literal, r.stringValue == nil {
                issue(right.offset, "'startsWith' needs a string, not \(r.typeName) \(r.canonicalJSON)", suggestion: "quote it: startsWith \"\(RouteRun.keyString(r))\"")
            }
            if left.known == .number {
                issue(left.offset, "'\(left.operand)' is a number; 'startsWith' compares strings")
            }
            return .startsWith(left.operand, right.operand)
        case .identifier("matches"):
            _ = advance()
            let patternToken = current
            guard case .string(let pattern) = patternToken.kind else {
                throw expected("a quoted regular expression after 'matches'", suggestion: "write matches \"^gpt-\"")
            }
            _ = advance()
            if left.known == .number {
                issue(left.offset, "'\(left.operand)' is a number; 'matches' tests strings")
            }
            guard let regex = compileRegex(pattern, token: patternToken) else { return .constant(false) }
            return .matches(left.operand, regex)
        case .identifier(let word) where ["equals", "is", "eq", "ne", "gt", "lt", "like", "startswith", "endsWith", "has"].contains(word):
            let suggestion = NameSuggestion.nearest(to: word, in: ["contains", "startsWith", "matches", "in"]).map { "did you mean '\($0)'?" }
                ?? "use ==, !=, <, <=, >, >=, in, not in, contains, startsWith or matches"
            throw ConditionSyntaxError(offset: opToken.offset, message: "unknown operator '\(word)'", suggestion: suggestion)
        default:
            if case .path = left.operand, opToken.kind == .end || opToken.kind == .rightParen || opToken.isKeyword("and") || opToken.isKeyword("or") {
                throw ConditionSyntaxError(
                    offset: opToken.offset, message: "expected a comparison after '\(left.operand)', found \(opToken.display)",
                    suggestion: "compare it (\(left.operand) == true) or test it with exists(\(left.operand))")
            }
            if case .literal(.bool(let b)) = left.operand, opToken.kind == .end || opToken.kind == .rightParen || opToken.isKeyword("and") || opToken.isKeyword("or") {
                return .constant(b)
            }
            throw expected("an operator (==, !=, <, <=, >, >=, in, not in, contains, startsWith, matches)")
        }
    }

    private mutating func parseMembership(_ left: Side, negated: Bool) throws(ConditionSyntaxError) -> Condition {
        guard current.kind == .leftBracket else {
            throw expected("a list such as [\"a\", \"b\"] after '\(negated ? "not in" : "in")'")
        }
        let listOffset = current.offset
        let list = try parseList()
        if left.known != .unknown {
            for item in list {
                if item == .null { continue }
                let ok = (left.known == .number && item.numberValue != nil) || (left.known == .string && item.stringValue != nil)
                if !ok {
                    issue(listOffset, "'\(left.operand)' is a \(left.known == .number ? "number" : "string"); the list holds \(item.typeName) \(item.canonicalJSON), which can never match")
                    break
                }
            }
        }
        return .member(left.operand, list, negated: negated)
    }

    private mutating func parseOperand() throws(ConditionSyntaxError) -> Side {
        let t = current
        switch t.kind {
        case .string(let s):
            _ = advance()
            return Side(operand: .literal(.string(s)), known: .string, offset: t.offset)
        case .number(let n):
            _ = advance()
            return Side(operand: .literal(.number(n)), known: .number, offset: t.offset)
        case .leftBracket:
            let list = try parseList()
            return Side(operand: .literal(.array(list)), known: .unknown, offset: t.offset)
        case .identifier("true"), .identifier("false"):
            _ = advance()
            return Side(operand: .literal(.bool(t.isKeyword("true"))), known: .unknown, offset: t.offset)
        case .identifier("null"):
            _ = advance()
            return Side(operand: .literal(.null), known: .unknown, offset: t.offset)
        case .identifier(let word) where ["and", "or", "not", "in", "contains", "startsWith", "matches"].contains(word):
            throw expected("a path (metadata.x, headers.x, body.x, model, gateway) or a value")
        case .identifier:
            let (path, known) = try parsePath()
            return Side(operand: .path(path), known: known, offset: t.offset)
        default:
            throw expected("a path (metadata.x, headers.x, body.x, model, gateway) or a value")
        }
    }

    private mutating func parseList() throws(ConditionSyntaxError) -> [JSONValue] {
        try enter()
        defer { depth -= 1 }
        _ = advance()  // [
        var items: [JSONValue] = []
        if current.kind == .rightBracket { _ = advance(); return items }
        while true {
            let t = current
            switch t.kind {
            case .string(let s): items.append(.string(s)); _ = advance()
            case .number(let n): items.append(.number(n)); _ = advance()
            case .identifier("true"): items.append(.bool(true)); _ = advance()
            case .identifier("false"): items.append(.bool(false)); _ = advance()
            case .identifier("null"): items.append(.null); _ = advance()
            case .leftBracket: items.append(.array(try parseList()))
            case .identifier(let word):
                throw ConditionSyntaxError(offset: t.offset, message: "lists hold values, not paths: found '\(word)'", suggestion: "quote it if it is a string: \"\(word)\"")
            default:
                throw expected("a value in the list")
            }
            if current.kind == .comma { _ = advance(); continue }
            if current.kind == .rightBracket { _ = advance(); return items }
            throw expected("',' or ']' in the list")
        }
    }

    /// `root(.key | [index] | ["key"] | .length)*`
    private mutating func parsePath() throws(ConditionSyntaxError) -> (ValuePath, Known) {
        let t = advance()
        guard case .identifier(let rootName) = t.kind else { throw ConditionSyntaxError(offset: t.offset, message: "expected a path, found \(t.display)") }
        // A dotted path written as one identifier never happens (the lexer splits at '.'), so
        // `metdata.plan` arrives here as root `metdata`.
        guard let root = ValuePath.Root(rawValue: rootName) else {
            let roots = ["metadata", "headers", "body", "model", "gateway", "request", "budget", "rate"]
            let hint = NameSuggestion.didYouMean(rootName, in: roots)
                ?? "paths start with metadata., headers., body., model, gateway, request.tokens, budget.<node>. or rate.<node>. (did you mean metadata.\(rootName)?)"
            throw ConditionSyntaxError(offset: t.offset, message: "unknown name '\(rootName)'", suggestion: hint)
        }
        var segments: [ValuePath.Segment] = []
        while true {
            if current.kind == .dot {
                _ = advance()
                let seg = advance()
                switch seg.kind {
                case .identifier(let name):
                    let isFirstKey = segments.isEmpty && (root == .metadata || root == .headers)
                    segments.append(name == "length" && !isFirstKey ? .length : .key(name))
                case .number(let n) where n >= 0 && n.rounded() == n && n < 1e9:
                    segments.append(.index(Int(n)))
                case .string(let name):
                    segments.append(.key(name))
                default:
                    throw ConditionSyntaxError(offset: seg.offset, message: "expected a name after '.', found \(seg.display)")
                }
            } else if current.kind == .leftBracket {
                _ = advance()
                let seg = advance()
                switch seg.kind {
                case .string(let name): segments.append(.key(name))
                case .number(let n) where n.rounded() == n && abs(n) < 1e9: segments.append(.index(Int(n)))
                default:
                    throw ConditionSyntaxError(offset: seg.offset, message: "expected an index or a quoted key inside [ ], found \(seg.display)", suggestion: "write [0] or [\"x-tier\"]")
                }
                guard current.kind == .rightBracket else { throw expected("']'") }
                _ = advance()
            } else {
                break
            }
        }
        switch root {
        case .model, .gateway:
            if !segments.isEmpty {
                throw ConditionSyntaxError(offset: t.offset, message: "'\(rootName)' is a string and has no fields", suggestion: "did you mean body.\(ValuePath(root: .body, segments: segments).description.dropFirst(5))?")
            }
            return (ValuePath(root: root, segments: []), .string)
        case .metadata, .headers:
            guard case .key? = segments.first else {
                throw ConditionSyntaxError(offset: current.offset, message: "'\(rootName)' needs a key", suggestion: "write \(rootName).name or \(rootName)[\"name\"]")
            }
            if root == .headers && segments.count > 1 {
                if segments.count == 2, segments[1] == .length {
                    return (ValuePath(root: root, segments: [segments[0], .length]), .number)
                }
                throw ConditionSyntaxError(offset: t.offset, message: "a header is a string and has no fields", suggestion: "write headers[\"name\"] for a header name with dots")
            }
        case .body:
            break
        case .request:
            guard segments == [.key("tokens")] else {
                throw ConditionSyntaxError(offset: t.offset, message: "'request' has one field, 'tokens' (the prompt's estimated tokens)", suggestion: "write request.tokens")
            }
            return (ValuePath(root: root, segments: segments), .number)
        case .budget, .rate:
            let fields = root == .budget ? ["used", "remaining"] : ["remaining"]
            let example = root == .budget ? "budget.<node>.remaining" : "rate.<node>.remaining"
            guard segments.count == 2, case .key = segments[0] else {
                throw ConditionSyntaxError(offset: t.offset, message: "'\(rootName)' needs a node and a field: \(example)", suggestion: "name a \(rootName) node of this route, then \(fields.joined(separator: " or "))")
            }
            let field: String
            switch segments[1] {
            case .key(let k): field = k
            case .length: field = "length"
            case .index(let i): field = "\(i)"
            }
            guard fields.contains(field) else {
                throw ConditionSyntaxError(offset: t.offset, message: "'\(field)' is not a field of '\(rootName).<node>'",
                                           suggestion: NameSuggestion.didYouMean(field, in: fields) ?? "fields: \(fields.joined(separator: ", "))")
            }
            return (ValuePath(root: root, segments: segments), .number)
        }
        let path = ValuePath(root: root, segments: segments)
        if segments.last == .length { return (path, .number) }
        if root == .headers { return (path, .string) }
        return (path, .unknown)
    }

    private mutating func checkComparison(_ l: Side, _ op: ComparisonOperator, _ r: Side, at opToken: ConditionToken) {
        let ordering = op != .equal && op != .notEqual
        for (side, other) in [(l, r), (r, l)] {
            guard let lit = side.literal else { continue }
            if ordering {
                switch lit {
                case .array, .object, .bool, .null:
                    issue(side.offset, "'\(op.rawValue)' cannot order \(lit.typeName) \(lit.canonicalJSON)", suggestion: "ordering comparisons need a number or a string")
                    return
                default: break
                }
            }
            if other.known != .unknown, lit != .null {
                let matches = (other.known == .number && lit.numberValue != nil) || (other.known == .string && lit.stringValue != nil)
                if !matches {
                    let kind = other.known == .number ? "number" : "string"
                    let fix: String? = switch (other.known, lit) {
                    case (.number, .string(let s)) where Double(s) != nil: "write \(s) without quotes"
                    case (.string, .number(let n)): "quote it: \"\(RouteRun.format(n))\""
                    default: nil
                    }
                    issue(side.offset, "'\(other.operand)' is a \(kind) but is compared with \(lit.typeName) \(lit.canonicalJSON); the comparison can never be true", suggestion: fix)
                    return
                }
            }
        }
        if l.literal != nil && r.literal != nil {
            issues.append(ConditionIssue(offset: l.offset, severity: .warning, message: "this comparison has no path in it, so it is always \(Condition.compare(l.literal!, op, r.literal!))"))
        }
    }

    private mutating func issue(_ offset: Int, _ message: String, suggestion: String? = nil) {
        issues.append(ConditionIssue(offset: offset, severity: .error, message: message, suggestion: suggestion))
    }

    private mutating func compileRegex(_ pattern: String, token: ConditionToken) -> CompiledRegex? {
        // Point inside the string: offsets of the pattern map to the expression through escapes.
        func offset(_ problem: RegexIssue) -> Int {
            problem.patternOffset.map { token.valueOffsets.indices.contains($0) ? token.valueOffsets[$0] : token.offset } ?? token.offset
        }
        switch Self.regex(pattern, limits: limits) {
        case .success(let compiled):
            if let warning = compiled.warning {
                issues.append(ConditionIssue(offset: offset(warning), severity: .warning, message: warning.message, suggestion: warning.suggestion))
            }
            return compiled.regex
        case .failure(let problem):
            issue(offset(problem), problem.message, suggestion: problem.suggestion)
            return nil
        }
    }

    /// A problem with a regular expression; `patternOffset` counts Unicode scalars of the
    /// pattern (nil: the pattern as a whole).
    struct RegexIssue: Error, Sendable {
        var patternOffset: Int?
        var message: String
        var suggestion: String?
    }

    /// Compiles a pattern for `matches` or `$regex`: its length, its syntax (the supported
    /// subset, see docs/routes.md), then the ambiguity checks of `RegexRisk`.
    static func regex(_ pattern: String, limits: ConditionLimits) -> Result<(regex: CompiledRegex, warning: RegexIssue?), RegexIssue> {
        let length = pattern.unicodeScalars.count
        if length > limits.maxRegexLength {
            return .failure(RegexIssue(message: "the regular expression is \(length) characters long; the limit is \(limits.maxRegexLength)"))
        }
        do throws(RegexPatternError) {
            let syntax = try RegexSyntax.parse(pattern)
            if let risk = RegexRisk.check(syntax) {
                return .failure(RegexIssue(patternOffset: risk.offset, message: risk.message, suggestion: risk.suggestion))
            }
            let regex = try CompiledRegex(syntax, pattern: pattern)
            var warning: RegexIssue? = nil
            if regex.mayExhaustBudget {
                let bytes = CompiledRegex.stepBudget / (2 * regex.programSize)
                warning = RegexIssue(
                    message: "the regular expression expands to \(regex.programSize) states; on values longer than about \(bytes) bytes an evaluation can reach the step budget and then counts as no match",
                    suggestion: "use smaller repetition counts in {n,m}")
            }
            return .success((regex, warning))
        } catch {
            return .failure(RegexIssue(patternOffset: error.offset, message: "invalid regular expression \(JSONValue.string(pattern).canonicalJSON): \(error.message)", suggestion: error.suggestion))
        }
    }
}
