import ArgumentParser
import Foundation
import SwitchyardCore
import SwitchyardServer
import SwitchyardStorage

struct Simulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Replay logged requests of a route through a new version of it, without calling any provider.",
        discussion: """
            Reads the request log (the storage named in the configuration, as `logs` does), replays the facts of each \
            request of ROUTE (metadata, the headers and body members the route read, token estimates), oldest first, \
            through the route compiled from --version, with rate limits and budgets on the logged timestamps, and prints \
            shares per path and model, estimated cost and limit rejections before and after, and the requests whose path \
            changed. Breakers and max_concurrency are not gated. Exits with status 1 when FILE does not compile.
            """
    )

    @Argument(help: "The route whose logged requests are replayed (name, or dynamic/<name>).")
    var route: String

    @Option(name: .customLong("version"), help: "The route file of the new version.")
    var versionFile: String

    @Option(help: "Only requests newer than this duration (15m, 1h, 2d).")
    var since = "24h"

    @Option(help: "At most this many records, the newest (read 1000 at a time).")
    var limit = 100_000

    @Option(help: "Seed for percentage draws.")
    var seed: UInt64 = 1

    @Option(help: "text or json.")
    var format = "text"

    @OptionGroup var configurationFile: ConfigurationOption

    func run() async throws {
        guard limit >= 1 else { throw ValidationError("--limit must be at least 1") }
        guard format == "text" || format == "json" else { throw ValidationError("--format must be text or json") }
        guard let seconds = DurationText.parse(since) else { throw ValidationError("--since must be a duration such as 15m, 1h or 2d") }
        let name = route.hasPrefix("dynamic/") ? String(route.dropFirst("dynamic/".count)) : route
        let environment = ProcessInfo.processInfo.environment
        let configuration = try configurationFile.load(environment: environment)

        // Compiled as `check` compiles it; errors printed the same way, with the same status.
        let (sources, failures) = RouteFileLoader.load([versionFile])
        let options = RouteCompilerOptions(configuration: configuration)
        let compiled = RouteCompiler.compile(sources, options: options)
        guard failures.isEmpty, let compiledGraph = compiled.graphs.values.first, compiled.graphs.count == 1 else {
            let report = RouteCheckReport.render(results: compiled.results, diagnostics: compiled.diagnostics, loadFailures: failures.map(\.description))
            FileHandle.standardError.write(Data(report.text.utf8))
            if compiled.graphs.count > 1 { FileHandle.standardError.write(Data("switchyard: --version names one route file\n".utf8)) }
            throw ExitCode(max(report.status, 1))
        }
        for warning in compiled.diagnostics { FileHandle.standardError.write(Data("\(warning)\n".utf8)) }
        // Limit keys and sticky positions hash the route's name: the new version takes ROUTE's.
        let graph = RouteGraph(name: name, description: compiledGraph.description, version: compiledGraph.version,
                               sourcePath: compiledGraph.sourcePath, nodes: compiledGraph.nodes, start: compiledGraph.start)

        let storage = configuration.storage
        if storage != "memory", let file = SQLiteDatabase.path(fromStorageURL: storage), !FileManager.default.fileExists(atPath: file) {
            throw ValidationError("no request log at '\(file)' (storage: \(storage)); start the gateway first")
        }
        let opened = try await GatewayStorage.open(storage)
        var simulation = RouteSimulation(graph: graph, prices: PriceTable(overrides: configuration.pricing), seed: seed)
        do {
            try await Self.replay(from: opened.requestLog, route: name, since: Date().timeIntervalSince1970 - seconds, limit: limit) {
                simulation.replay($0)
            }
        } catch {
            await opened.close()
            throw error
        }
        await opened.close()
        let text = format == "json"
            ? RouteSimulationReport.json(simulation.result, source: versionFile).canonicalJSON + "\n"
            : RouteSimulationReport.text(simulation.result, source: versionFile)
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    /// Pages through the records of `route` since `since`, oldest first, 1000 at a time: at most
    /// `limit`, the newest. Never more than one page in memory.
    static func replay(from store: any RequestLogStore, route: String, since: Double, limit: Int, _ each: (RequestLogRecord) -> Void) async throws {
        let perPage = 1000
        let prefix = "\(route)@"
        var query = RequestLogQuery(filters: [.init(.field(.route), .contains, .string(prefix))], since: since, orderBy: .createdAt, descending: false, page: 1, perPage: perPage)
        let total = try await store.query(RequestLogQuery(filters: query.filters, since: since, perPage: 1)).total
        let skip = max(0, total - limit)
        query.page = skip / perPage + 1
        var drop = skip % perPage
        var seen = 0
        while seen < limit {
            let (records, _) = try await store.query(query)
            for record in records.dropFirst(drop) where seen < limit {
                seen += 1
                // `contains` matched; the route column must start with it.
                if record.route?.hasPrefix(prefix) == true { each(record) }
            }
            drop = 0
            if records.count < perPage { break }
            query.page += 1
        }
    }
}
