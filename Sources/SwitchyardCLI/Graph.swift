import ArgumentParser
import Foundation
import SwitchyardCore
import SwitchyardServer

extension RouteGraphRenderer.Format: ExpressibleByArgument {}

struct Graph: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graph",
        abstract: "Print a route's compiled decision graph (Mermaid by default, or Graphviz DOT).")

    @OptionGroup var selection: RouteSelection

    @Option(help: "mermaid or dot.")
    var format: RouteGraphRenderer.Format = .mermaid

    func run() async throws {
        let graph = try selection.graph()
        print(RouteGraphRenderer.render(graph, format: format), terminator: "")
    }
}
