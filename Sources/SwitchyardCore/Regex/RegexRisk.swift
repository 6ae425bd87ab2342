/// Ambiguous repetitions: shapes where the same text can be split among quantifiers in many ways.
/// They are what makes backtracking engines take exponential (or polynomial) time. The linear
/// engine runs them in linear time anyway, but the route compiler still rejects them: they are
/// almost always mistakes, the same routes may be read by backtracking tools, and they keep many
/// NFA states alive at once. Three shapes are found, each located at a quantifier:
///
/// - a repeated group whose body repeats: `(a+)+`, `(\w+\s?)*`, `(a{1,2}){3}`;
/// - two unbounded repetitions that can match the same character with only optional items
///   between them: `a*a*b`, `\w+\d+`, `.*.*x`, `\d+\.?\d*` (but not `.*gold.*tier`);
/// - an alternation at the start of an unbounded repetition whose branches can start with the
///   same character: `(a|ab)*`.
enum RegexRisk {
    struct Finding: Sendable, Equatable {
        /// The offset in the pattern of the quantifier to point at.
        var offset: Int
        var message: String
        var suggestion: String
    }

    /// The leftmost problem in the pattern, if any.
    static func check(_ syntax: RegexSyntax) -> Finding? {
        var analysis = Analysis(syntax: syntax)
        analysis.visit(syntax.root)
        return analysis.findings.min { $0.offset < $1.offset }
    }
}

private struct Analysis {
    let syntax: RegexSyntax
    var findings: [RegexRisk.Finding] = []

    init(syntax: RegexSyntax) { self.syntax = syntax }

    func quote(_ node: RegexNode) -> String { "'\(syntax.text(node))'" }

    mutating func visit(_ node: RegexNode) {
        switch node.kind {
        case .empty, .literal, .set, .assertion:
            return
        case .group(let inner):
            visit(inner)
        case .alternation(let branches):
            for b in branches { visit(b) }
        case .concat(let items):
            for item in items { visit(item) }
            // Unbounded repetitions that can end right where the next item starts.
            var open: [RegexNode] = []
            for item in items {
                for later in heads(item) {
                    for earlier in open where overlaps(first(earlier), first(later)) {
                        findings.append(.init(
                            offset: later.quantifierOffset,
                            message: "the repetitions \(quote(earlier)) and \(quote(later)) can match the same characters and nothing required separates them, so the same text can be split between them in many ways",
                            suggestion: "make one of them bounded or remove it, or require a character between them that the first cannot match"))
                    }
                }
                open = tails(item) + (nullable(item) ? open : [])
            }
        case .repetition(let body, _, let high):
            visit(body)
            if high.map({ $0 > 1 }) ?? true, let inner = variableRepetition(in: body) {
                findings.append(.init(
                    offset: node.quantifierOffset,
                    message: "the regular expression repeats a repeated group (\(syntax.text(node))): \(quote(inner)) inside it also repeats, so the same text can be split among the repetitions in many ways",
                    suggestion: "remove the inner or the outer quantifier"))
            }
            if high == nil {
                for alternation in alternationsAtStart(body) {
                    guard case .alternation(let branches) = alternation.kind else { continue }
                    pairs: for i in branches.indices {
                        for j in branches.indices where j > i && overlaps(first(branches[i]), first(branches[j])) {
                            findings.append(.init(
                                offset: node.quantifierOffset,
                                message: "the branches \(quote(branches[i])) and \(quote(branches[j])) of \(quote(node)) can start with the same character, so the repetition can split the same text in many ways",
                                suggestion: "make the branches start with different characters (factor out what they share) or remove the repetition"))
                            break pairs
                        }
                    }
                }
            }
        }
    }

    func nullable(_ node: RegexNode) -> Bool {
        switch node.kind {
        case .empty, .assertion: true
        case .literal, .set: false
        case .group(let inner): nullable(inner)
        case .concat(let items): items.allSatisfy(nullable)
        case .alternation(let branches): branches.contains(where: nullable)
        case .repetition(let body, let low, _): low == 0 || nullable(body)
        }
    }

    /// The characters a non-empty match of `node` can start with.
    func first(_ node: RegexNode) -> [RegexCharClass] {
        switch node.kind {
        case .empty, .assertion: return []
        case .literal(let c): return [.scalar(c, caseInsensitive: syntax.caseInsensitive)]
        case .set(let cls): return [cls]
        case .group(let inner): return first(inner)
        case .alternation(let branches): return branches.flatMap(first)
        case .repetition(let body, _, let high): return high == 0 ? [] : first(body)
        case .concat(let items):
            var result: [RegexCharClass] = []
            for item in items {
                result += first(item)
                if !nullable(item) { break }
            }
            return result
        }
    }

    func overlaps(_ a: [RegexCharClass], _ b: [RegexCharClass]) -> Bool {
        a.contains { x in b.contains { y in x.overlaps(y) } }
    }

    /// Unbounded repetitions that can begin a match of `node` with only optional items before them.
    func heads(_ node: RegexNode) -> [RegexNode] { edge(node, fromStart: true) }

    /// Unbounded repetitions that can end a match of `node` with only optional items after them.
    func tails(_ node: RegexNode) -> [RegexNode] { edge(node, fromStart: false) }

    func edge(_ node: RegexNode, fromStart: Bool) -> [RegexNode] {
        switch node.kind {
        case .empty, .assertion, .literal, .set: return []
        case .group(let inner): return edge(inner, fromStart: fromStart)
        case .alternation(let branches): return branches.flatMap { edge($0, fromStart: fromStart) }
        case .repetition(let body, _, let high):
            if high == nil { return [node] }
            return high == 0 ? [] : edge(body, fromStart: fromStart)
        case .concat(let items):
            var result: [RegexNode] = []
            for item in fromStart ? items : items.reversed() {
                result += edge(item, fromStart: fromStart)
                if !nullable(item) { break }
            }
            return result
        }
    }

    /// A repetition inside `node` that can match a varying number of times more than once
    /// (`+`, `*`, `{2,}`, `{1,3}`), if any.
    func variableRepetition(in node: RegexNode) -> RegexNode? {
        switch node.kind {
        case .empty, .assertion, .literal, .set: return nil
        case .group(let inner): return variableRepetition(in: inner)
        case .alternation(let items), .concat(let items):
            for item in items { if let r = variableRepetition(in: item) { return r } }
            return nil
        case .repetition(let body, let low, let high):
            if let high, high <= 1 || high == low { return variableRepetition(in: body) }
            return node
        }
    }

    /// Alternations a repeated body can begin with.
    func alternationsAtStart(_ node: RegexNode) -> [RegexNode] {
        switch node.kind {
        case .empty, .assertion, .literal, .set: return []
        case .group(let inner): return alternationsAtStart(inner)
        case .alternation(let branches): return [node] + branches.flatMap(alternationsAtStart)
        case .repetition(let body, _, let high): return high == 0 ? [] : alternationsAtStart(body)
        case .concat(let items):
            var result: [RegexNode] = []
            for item in items {
                result += alternationsAtStart(item)
                if !nullable(item) { break }
            }
            return result
        }
    }
}
