import ArgumentParser
import Foundation
import SwitchyardCore
import SwitchyardServer

/// The route `explain` and `graph` work on, compiled as `serve` would compile it: with the
/// configuration's custom providers and prices, from its routes directory unless `--routes` says otherwise.
struct RouteSelection: ParsableArguments {
    @Argument(help: "The route name (or dynamic/<name>).")
    var route: String

    @Option(help: "The routes directory (default: the configuration's 'routes', else routes).")
    var routes: String?

    @OptionGroup var configurationFile: ConfigurationOption

    func graph() throws -> RouteGraph {
        let configuration = try configurationFile.load()
        return try RouteDirectory.graph(
            named: route, in: routes ?? configuration.routesDirectory, options: RouteCompilerOptions(configuration: configuration)
        )
    }
}

/// Compiles a routes directory and finds one route in it.
enum RouteDirectory {
    static func graph(named rawName: String, in directory: String, options: RouteCompilerOptions) throws -> RouteGraph {
        let name = rawName.hasPrefix("dynamic/") ? String(rawName.dropFirst("dynamic/".count)) : rawName
        let (sources, failures) = RouteFileLoader.load([directory])
        if let f = failures.first, sources.isEmpty {
            throw CommandFailure(f.description)
        }
        let compiled = RouteCompiler.compile(sources, options: options)
        if let graph = compiled.graphs[name] { return graph }
        // The route may exist but not compile: show why.
        for (path, result) in compiled.results.sorted(by: { $0.key < $1.key })
        where RouteCompiler.defaultName(forPath: path) == name || result.diagnostics.contains(where: { $0.message.contains("'\(name)'") && $0.message.hasPrefix("duplicate route") }) {
            if result.hasErrors {
                let text = result.diagnostics.map(\.description).joined(separator: "\n")
                throw CommandFailure("route '\(name)' does not compile:\n\(text)")
            }
        }
        let known = compiled.graphs.keys.sorted()
        var message = "unknown route '\(name)' in \(directory)"
        if let near = NameSuggestion.nearest(to: name, in: known) { message += "; did you mean '\(near)'?" }
        message += known.isEmpty ? " (no routes compiled)" : " (routes: \(known.joined(separator: ", ")))"
        throw CommandFailure(message)
    }
}

/// A failure that is not a usage mistake: printed as `Error: ...`, exit status 1, no usage text.
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
