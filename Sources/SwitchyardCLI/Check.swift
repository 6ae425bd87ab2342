import ArgumentParser
import SwitchyardCore
import SwitchyardServer

struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Compile route files and print their diagnostics.",
        discussion: "Prints each problem as path:line:column: error: message (and warning:), then a summary. Exits with status 1 on any error.")

    @Argument(help: "Route files or directories (default: the configuration's 'routes', else routes).")
    var paths: [String] = []

    @OptionGroup var configurationFile: ConfigurationOption

    func run() async throws {
        // Compiled as `serve` compiles them: custom providers and price overrides are known.
        let configuration = try configurationFile.load()
        let (sources, failures) = RouteFileLoader.load(paths.isEmpty ? [configuration.routesDirectory] : paths)
        let compiled = RouteCompiler.compile(sources, options: RouteCompilerOptions(configuration: configuration))
        let report = RouteCheckReport.render(results: compiled.results, diagnostics: compiled.diagnostics, loadFailures: failures.map(\.description))
        print(report.text, terminator: "")
        if report.status != 0 { throw ExitCode(report.status) }
    }
}
