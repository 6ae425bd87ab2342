import ArgumentParser

struct Graph: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "graph", abstract: "Not built yet.")

    func run() async throws {
        throw ValidationError("'switchyard graph' is not built yet")
    }
}
