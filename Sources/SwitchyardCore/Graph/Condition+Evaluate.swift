extension Condition {
    /// Evaluates the condition against a request's facts.
    public func evaluate(_ facts: RequestFacts) -> Bool {
        switch self {
        case .constant(let b):
            return b
        case .compare(let l, let op, let r):
            guard let lv = l.value(in: facts), let rv = r.value(in: facts) else {
                // A missing value equals nothing; `!=` a missing value is true.
                return op == .notEqual
            }
            return Self.compare(lv, op, rv)
        case .member(let operand, let list, let negated):
            guard let v = operand.value(in: facts) else { return negated }
            let found = list.contains { Self.compare(v, .equal, $0) }
            return negated ? !found : found
        case .contains(let hay, let needle):
            guard let h = hay.value(in: facts), let n = needle.value(in: facts) else { return false }
            switch (h, n) {
            case (.string(let s), .string(let sub)): return s.contains(sub)
            case (.array(let a), _): return a.contains { Self.compare($0, .equal, n) }
            case (.object(let o), .string(let k)): return o[k] != nil
            default: return false
            }
        case .startsWith(let s, let p):
            guard case .string(let str)? = s.value(in: facts), case .string(let prefix)? = p.value(in: facts) else { return false }
            return str.hasPrefix(prefix)
        case .matches(let s, let regex):
            guard case .string(let str)? = s.value(in: facts) else { return false }
            return regex.matches(str)
        case .exists(let path):
            if let v = facts.resolve(path), v != .null { return true }
            return false
        case .and(let cs):
            for c in cs where !c.evaluate(facts) { return false }
            return true
        case .or(let cs):
            for c in cs where c.evaluate(facts) { return true }
            return false
        case .not(let c):
            return !c.evaluate(facts)
        }
    }

    /// Values of different types are unequal and unordered (every ordering comparison is false).
    static func compare(_ l: JSONValue, _ op: ComparisonOperator, _ r: JSONValue) -> Bool {
        switch (l, r) {
        case (.number(let a), .number(let b)):
            return ordered(a, op, b)
        case (.string(let a), .string(let b)):
            return ordered(a, op, b)
        case (.bool(let a), .bool(let b)):
            switch op {
            case .equal: return a == b
            case .notEqual: return a != b
            default: return false
            }
        case (.null, .null):
            return op == .equal || op == .lessOrEqual || op == .greaterOrEqual
        default:
            switch op {
            case .equal: return l == r
            case .notEqual: return l != r
            default: return false
            }
        }
    }

    private static func ordered<T: Comparable>(_ a: T, _ op: ComparisonOperator, _ b: T) -> Bool {
        switch op {
        case .equal: a == b
        case .notEqual: a != b
        case .less: a < b
        case .lessOrEqual: a <= b
        case .greater: a > b
        case .greaterOrEqual: a >= b
        }
    }
}

extension Operand {
    @inline(__always)
    func value(in facts: RequestFacts) -> JSONValue? {
        switch self {
        case .literal(let v): v
        case .path(let p): facts.resolve(p)
        }
    }
}
