import Foundation
@testable import SwitchyardCore

enum Repo {
    /// The repository root, found from this file's path.
    static let root: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let routes = root.appendingPathComponent("routes")

    static func source(_ relative: String) throws -> RouteSource {
        let url = root.appendingPathComponent(relative)
        return RouteSource(path: relative, contents: try String(contentsOf: url, encoding: .utf8))
    }
}

func compile(_ yaml: String, path: String = "test.yaml", options: RouteCompilerOptions = .init()) -> RouteCompilation {
    RouteCompiler.compile(RouteSource(path: path, contents: yaml), options: options)
}

func diagnosticsText(_ c: RouteCompilation) -> String {
    c.diagnostics.map(\.description).joined(separator: "\n")
}

extension RouteGraph {
    func index(_ name: String) -> NodeIndex? { nodes.firstIndex { $0.name == name } }

    /// A structural description (no versions or source locations) for comparing graphs.
    var structure: String {
        var lines: [String] = ["start \(nodes[start].name)"]
        for node in nodes {
            let edges = RouteGraphEdges.labelled(node).map { "\($0.label)=\(nodes[$0.target].name)" }.joined(separator: " ")
            let kind: String
            switch node.kind {
            case .conditional(let c): kind = "if \(c.condition.expressionText)"
            case .split(let s): kind = "split sticky=\(s.sticky?.description ?? "-")"
            case .pick(let p): kind = p.spec.description
            case .rateLimit(let r): kind = "rate \(r.limit)/\(r.window) key=\(r.key?.description ?? "-") \(r.technique)"
            case .budget(let b): kind = "budget \(b.limit)/\(b.window) key=\(b.key?.description ?? "-") price=\(b.reservationPrice.input),\(b.reservationPrice.output)"
            case .model(let m): kind = "model \(m.target) timeout=\(m.timeout.map { "\($0)" } ?? "-") retries=\(m.retries)"
            case .reject(let r): kind = "reject \(r.status) \(r.message ?? "-")"
            }
            lines.append("\(node.name): \(kind) \(edges)")
        }
        return lines.joined(separator: "\n")
    }
}
