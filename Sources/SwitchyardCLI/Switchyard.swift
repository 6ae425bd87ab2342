import ArgumentParser

/// The `switchyard` command line: parses and wires, nothing more.
@main
struct Switchyard: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchyard",
        abstract: "A self-hosted AI gateway with a declarative routing language.",
        subcommands: [Serve.self, Check.self, Explain.self, Graph.self, Logs.self, Simulate.self, Migrate.self]
    )
}
