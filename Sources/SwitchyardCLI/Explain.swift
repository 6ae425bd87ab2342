import ArgumentParser
import Foundation
import SwitchyardCore
import SwitchyardServer

struct Explain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Evaluate a route for a sample request without calling any provider.",
        discussion: "Prints each node visited (conditions with the values they read, the split arm, limit decisions) and the ordered list of model attempts, each taken when the one before fails.")

    @OptionGroup var selection: RouteSelection

    @Option(name: .customLong("metadata"), help: "Metadata k=v (repeatable); v is JSON when it parses as JSON, else a string.")
    var metadata: [String] = []

    @Option(name: .customLong("header"), help: "Request header k=v (repeatable).")
    var headers: [String] = []

    @Option(help: "The request body as JSON (default: a small chat request).")
    var body: String?

    @Option(help: "Seed for percentage draws.")
    var seed: UInt64 = 1

    @Option(help: "The requested model (default: dynamic/<route>).")
    var model: String?

    @Option(help: "The time to evaluate limits at, in Unix seconds (default: now).")
    var now: Double?

    func run() async throws {
        let graph = try selection.graph()
        var meta: [String: JSONValue] = [:]
        for m in metadata {
            guard let (k, v) = SampleRequest.assignment(m) else { throw ValidationError("--metadata expects key=value, found '\(m)'") }
            meta[k] = SampleRequest.value(v)
        }
        var head: [String: String] = [:]
        for h in headers {
            guard let (k, v) = SampleRequest.assignment(h) else { throw ValidationError("--header expects name=value, found '\(h)'") }
            head[k.lowercased()] = v
        }
        var requestBody = SampleRequest.defaultBody
        if let body {
            guard let parsed = try? JSONValue.parse(body) else { throw ValidationError("--body is not valid JSON") }
            requestBody = parsed
        }
        let facts = SampleRequest.facts(route: graph.name, metadata: meta, headers: head, body: requestBody, model: model)
        print(RouteExplanation.render(graph: graph, facts: facts, seed: seed, now: now ?? Date().timeIntervalSince1970), terminator: "")
    }
}
