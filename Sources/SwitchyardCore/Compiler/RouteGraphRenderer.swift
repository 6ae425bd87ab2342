import Foundation

/// Text renderings of a compiled graph for `switchyard graph`: Mermaid (the default; GitHub and
/// most Markdown viewers draw it) and Graphviz DOT.
public enum RouteGraphRenderer {
    public enum Format: String, Sendable, CaseIterable {
        case mermaid
        case dot
    }

    public static func render(_ graph: RouteGraph, format: Format) -> String {
        switch format {
        case .mermaid: mermaid(graph)
        case .dot: dot(graph)
        }
    }

    /// One line of detail under a node's name.
    public static func detail(of node: RouteNode) -> String {
        switch node.kind {
        case .conditional(let c): return "if \(c.source)"
        case .split(let s):
            var text = s.sticky.map { "split, sticky on \($0)" } ?? "split"
            if let a = s.adaptive { text += ", adaptive (window \(DurationText.format(a.window)), min \(RouteRun.format((a.minimum * 1000).rounded() / 10))%)" }
            return text
        case .pick(let p): return p.spec.description
        case .rateLimit(let r):
            return "rate \(RouteRun.format(r.limit)) per \(DurationText.format(r.window))\(r.key.map { " by \($0)" } ?? "") (\(r.technique.rawValue))"
        case .budget(let b):
            return "budget $\(RouteRun.format(b.limit)) per \(DurationText.format(b.window))\(b.key.map { " by \($0)" } ?? "")"
        case .model(let m):
            var parts = [m.target.description]
            if let t = m.timeout { parts.append("timeout \(DurationText.format(t))") }
            if m.retries > 0 { parts.append("retries \(m.retries)") }
            if m.retries > 0, m.retryOn != .defaultRetry { parts.append("retry on \(m.retryOn)") }
            if m.fallback != nil, m.fallbackOn != .defaultFallback { parts.append("fallback on \(m.fallbackOn)") }
            if let b = m.breaker { parts.append(b.description) }
            if let c = m.maxConcurrency { parts.append("max \(c) in flight") }
            if let mirror = m.mirror { parts.append("mirror \(RouteRun.format((mirror.share * 1000).rounded() / 10))%") }
            return parts.joined(separator: ", ")
        case .reject(let r): return "reject \(r.status)"
        }
    }

    public static func mermaid(_ graph: RouteGraph) -> String {
        func esc(_ s: String) -> String {
            s.replacingAll("\"", with: "#quot;").replacingAll("<", with: "#lt;").replacingAll(">", with: "#gt;")
        }
        var out = ["flowchart TD", "  %% \(graph.qualifiedName) from \(graph.sourcePath)"]
        out.append("  start([start]) --> n\(graph.start)")
        for (i, node) in graph.nodes.enumerated() {
            let label = node.name == detail(of: node) || node.name == (node.modelID ?? "")
                ? esc(detail(of: node)) : "\(esc(node.name))<br/>\(esc(detail(of: node)))"
            let shape: (String, String)
            switch node.kind {
            case .conditional: shape = ("{\"", "\"}")
            case .split, .pick: shape = ("{{\"", "\"}}")
            case .rateLimit, .budget: shape = ("[/\"", "\"/]")
            case .model: shape = ("(\"", "\")")
            case .reject: shape = ("[[\"", "\"]]")
            }
            out.append("  n\(i)\(shape.0)\(label)\(shape.1)")
        }
        for (i, node) in graph.nodes.enumerated() {
            for edge in RouteGraphEdges.labelled(node) {
                let style = edge.label == "fallback" || edge.label == "exceeded" || edge.label == "mirror" ? "-.->" : "-->"
                out.append("  n\(i) \(style)|\(esc(edge.label))| n\(edge.target)")
            }
        }
        return out.joined(separator: "\n") + "\n"
    }

    public static func dot(_ graph: RouteGraph) -> String {
        func q(_ s: String) -> String { "\"" + s.replacingAll("\\", with: "\\\\").replacingAll("\"", with: "\\\"") + "\"" }
        var out = ["digraph \(q(graph.name)) {", "  label=\(q(graph.qualifiedName));", "  rankdir=TB;", "  node [fontname=\"Helvetica\"];",
                   "  start [shape=circle, label=\"start\"];", "  start -> n\(graph.start);"]
        for (i, node) in graph.nodes.enumerated() {
            let shape: String
            switch node.kind {
            case .conditional: shape = "diamond"
            case .split, .pick: shape = "hexagon"
            case .rateLimit, .budget: shape = "parallelogram"
            case .model: shape = "box, style=rounded"
            case .reject: shape = "octagon"
            }
            let label = node.name == (node.modelID ?? "") ? detail(of: node) : "\(node.name)\n\(detail(of: node))"
            out.append("  n\(i) [shape=\(shape), label=\(q(label).replacingAll("\n", with: "\\n"))];")
        }
        for (i, node) in graph.nodes.enumerated() {
            for edge in RouteGraphEdges.labelled(node) {
                let style = edge.label == "fallback" || edge.label == "exceeded" || edge.label == "mirror" ? ", style=dashed" : ""
                out.append("  n\(i) -> n\(edge.target) [label=\(q(edge.label))\(style)];")
            }
        }
        out.append("}")
        return out.joined(separator: "\n") + "\n"
    }
}

extension RouteNode {
    var modelID: String? { if case .model(let m) = kind { return m.target.description }; return nil }
}

extension String {
    func replacingAll(_ target: String, with replacement: String) -> String {
        replacingOccurrences(of: target, with: replacement)
    }
}
