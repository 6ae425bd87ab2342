import ArgumentParser

struct Explain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "explain", abstract: "Not built yet.")

    func run() async throws {
        throw ValidationError("'switchyard explain' is not built yet")
    }
}
