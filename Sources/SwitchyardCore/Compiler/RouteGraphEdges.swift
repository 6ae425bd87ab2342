/// The outgoing edges of a node, labelled: used by reachability, `graph` and tests.
public enum RouteGraphEdges {
    /// The nodes a request may go on to; a mirror's target is not one (its copy is never the
    /// request's answer, nor counted against its limits or budget).
    public static func successors(of node: RouteNode) -> [NodeIndex] {
        labelled(node).filter { $0.label != "mirror" }.map(\.target)
    }

    public static func labelled(_ node: RouteNode) -> [(label: String, target: NodeIndex)] {
        switch node.kind {
        case .conditional(let c): return [("then", c.then), ("else", c.else)]
        case .split(let s): return s.arms.map { ("\(RouteRun.format($0.weight))%", $0.target) }
        case .pick(let p): return p.arms.enumerated().map { ("arm \($0.offset + 1)", $0.element) }
        case .rateLimit(let r): return [("then", r.then), ("exceeded", r.exceeded)]
        case .budget(let b): return [("then", b.then), ("exceeded", b.exceeded)]
        case .model(let m): return (m.fallback.map { [("fallback", $0)] } ?? []) + (m.mirror.map { [("mirror", $0.target)] } ?? [])
        case .reject: return []
        }
    }
}
