import Foundation

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

/// An ICU regular expression compiled at route-compile time. `NSRegularExpression` is immutable and
/// documented as safe to share between threads.
public struct CompiledRegex: @unchecked Sendable {
    public let pattern: String
    public let regex: NSRegularExpression

    public init(pattern: String) throws {
        self.pattern = pattern
        self.regex = try NSRegularExpression(pattern: pattern)
    }

    /// Longest input a regex is run against; longer strings are matched on their prefix, which
    /// bounds the time one evaluation can take.
    public static let maxInputLength = 16 * 1024

    public func matches(_ s: String) -> Bool {
        let ns = s as NSString
        let length = min(ns.length, Self.maxInputLength)
        return regex.firstMatch(in: s, options: [], range: NSRange(location: 0, length: length)) != nil
    }
}
