extension Condition {
    /// The condition in the expression language, for `explain` and `graph` labels of Mongo-style conditions.
    public var expressionText: String {
        func operand(_ o: Operand) -> String { o.description }
        func wrap(_ c: Condition) -> String {
            switch c {
            case .and, .or: return "(\(c.expressionText))"
            default: return c.expressionText
            }
        }
        switch self {
        case .constant(let b): return b ? "true" : "false"
        case .compare(let l, let op, let r): return "\(operand(l)) \(op.rawValue) \(operand(r))"
        case .member(let o, let list, let negated): return "\(operand(o)) \(negated ? "not in" : "in") \(JSONValue.array(list).canonicalJSON)"
        case .contains(let l, let r): return "\(operand(l)) contains \(operand(r))"
        case .startsWith(let l, let r): return "\(operand(l)) startsWith \(operand(r))"
        case .matches(let l, let regex): return "\(operand(l)) matches \(JSONValue.string(regex.pattern).canonicalJSON)"
        case .exists(let p): return "exists(\(p))"
        case .and(let cs): return cs.map(wrap).joined(separator: " and ")
        case .or(let cs): return cs.map(wrap).joined(separator: " or ")
        case .not(let c): return "not \(wrap(c))"
        }
    }

    /// Every path the condition reads, in order of first appearance.
    public var paths: [ValuePath] {
        var out: [ValuePath] = []
        func add(_ p: ValuePath) { if !out.contains(p) { out.append(p) } }
        func add(_ o: Operand) { if case .path(let p) = o { add(p) } }
        func walk(_ c: Condition) {
            switch c {
            case .constant: break
            case .compare(let l, _, let r), .contains(let l, let r), .startsWith(let l, let r): add(l); add(r)
            case .member(let o, _, _), .matches(let o, _): add(o)
            case .exists(let p): add(p)
            case .and(let cs), .or(let cs): cs.forEach(walk)
            case .not(let c): walk(c)
            }
        }
        walk(self)
        return out
    }
}
