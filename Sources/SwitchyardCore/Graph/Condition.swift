/// A condition compiled once into an evaluable tree: paths are pre-resolved, regexes pre-built.
/// Evaluation allocates nothing; comparing values of different types is false, never a crash.
public indirect enum Condition: Sendable {
    case constant(Bool)
    case compare(Operand, ComparisonOperator, Operand)
    /// `x in [..]` (negated: `not in`).
    case member(Operand, [JSONValue], negated: Bool)
    /// Substring of a string, element of a list, or key of an object.
    case contains(Operand, Operand)
    case startsWith(Operand, Operand)
    case matches(Operand, CompiledRegex)
    case exists(ValuePath)
    case and([Condition])
    case or([Condition])
    case not(Condition)
}

public enum Operand: Sendable, CustomStringConvertible {
    case path(ValuePath)
    case literal(JSONValue)

    public var description: String {
        switch self {
        case .path(let p): p.description
        case .literal(let v): v.canonicalJSON
        }
    }
}

public enum ComparisonOperator: String, Sendable, CaseIterable {
    case equal = "=="
    case notEqual = "!="
    case less = "<"
    case lessOrEqual = "<="
    case greater = ">"
    case greaterOrEqual = ">="
}

/// A regular expression compiled at route-compile time into a linear-time program
/// (`Sources/SwitchyardCore/Regex`): matching simulates all alternatives at once and never
/// backtracks, so no input can make an evaluation slow. The syntax is a documented subset of
/// ICU's (docs/routes.md); within it, `matches` answers exactly what
/// `NSRegularExpression.firstMatch(...) != nil` answers on the examined prefix.
public struct CompiledRegex: Sendable {
    public let pattern: String
    let program: RegexProgram

    public init(pattern: String) throws(RegexPatternError) {
        try self.init(RegexSyntax.parse(pattern), pattern: pattern)
    }

    init(_ syntax: RegexSyntax, pattern: String) throws(RegexPatternError) {
        self.pattern = pattern
        self.program = try RegexProgram(syntax)
    }

    /// The most of a value a regex examines: its first 16 KiB of UTF-8, cut before a scalar that
    /// would not fit. A match must lie within that prefix; `$` only matches at the value's real
    /// end, so a pattern ending in `$` does not match a longer value.
    public static let maxInputBytes = 16 * 1024

    /// Belt and braces over the linear bound: an evaluation that visits more NFA instructions
    /// than this stops and counts as no match (about 50 ms at worst). A program of up to
    /// `stepBudget / (2 × (maxInputBytes + 1))` (511) instructions never reaches it; the route
    /// compiler warns about larger ones (`mayExhaustBudget`).
    public static let stepBudget = 1 << 24

    /// Whether some value could make an evaluation reach `stepBudget` before its answer.
    var mayExhaustBudget: Bool {
        program.count * 2 * (Self.maxInputBytes + 1) > Self.stepBudget
    }

    /// The number of NFA instructions the pattern compiled to.
    var programSize: Int { program.count }

    public func matches(_ s: String) -> Bool {
        program.run(s, maxUTF8Bytes: Self.maxInputBytes, stepBudget: Self.stepBudget).matched
    }

    /// The answer together with the work done, for tests that check boundedness by counting steps.
    func matchSteps(_ s: String, maxInputBytes: Int = Self.maxInputBytes, stepBudget: Int = Self.stepBudget) -> RegexProgram.Outcome {
        program.run(s, maxUTF8Bytes: maxInputBytes, stepBudget: stepBudget)
    }
}
