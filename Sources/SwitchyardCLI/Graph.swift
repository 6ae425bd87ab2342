import ArgumentParser
import Foundation
import SwitchyardCore
import SwitchyardServer

extension RouteGraphRenderer.Format: ExpressibleByArgument {}

struct Graph: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graph",
        abstract: "Print a route's compiled decision graph (Mermaid by default, or Graphviz DOT).")

    @Argument(help: "The route name (or dynamic/<name>).")
    var route: String

    @Option(help: "The routes directory.")
    var routes: String = "routes"

    @Option(help: "mermaid or dot.")
    var format: RouteGraphRenderer.Format = .mermaid

    func run() async throws {
        let configuration = try ConfigurationFile.load(nil, environment: ProcessInfo.processInfo.environment)
        let graph = try RouteDirectory.graph(named: route, in: routes, options: RouteCompilerOptions(configuration: configuration))
        print(RouteGraphRenderer.render(graph, format: format), terminator: "")
    }
}
