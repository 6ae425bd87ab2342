/// The outgoing edges of a node, labelled: used by reachability, `graph` and tests.
public enum RouteGraphEdges {
    public static func successors(of node: RouteNode) -> [NodeIndex] {
        labelled(node).map(\.target)
    }

    public static func labelled(_ node: RouteNode) -> [(label: String, target: NodeIndex)] {
        switch node.kind {
        case .conditional(let c): return [("then", c.then), ("else", c.else)]
        case .split(let s): return s.arms.map { ("\(RouteRun.format($0.weight))%", $0.target) }
        case .rateLimit(let r): return [("then", r.then), ("exceeded", r.exceeded)]
        case .budget(let b): return [("then", b.then), ("exceeded", b.exceeded)]
        case .model(let m): return m.fallback.map { [("fallback", $0)] } ?? []
        case .reject: return []
        }
    }
}
