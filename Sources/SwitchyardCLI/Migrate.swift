import ArgumentParser
import Foundation
import Logging
import SwitchyardServer
import SwitchyardStorage

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Create or upgrade the storage's schema (the configuration's 'storage').",
        discussion: "`serve` migrates on start as well; run this first to upgrade the schema before rolling out new instances. Safe to run while other instances start (an advisory lock serialises migrations)."
    )

    @OptionGroup var configurationFile: ConfigurationOption

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let storage = try configurationFile.load(environment: environment).storage
        if storage == "memory" {
            print("storage is 'memory': nothing to migrate")
            return
        }
        let opened: GatewayStorage.Opened
        do {
            opened = try await GatewayStorage.open(storage)
        } catch {
            FileHandle.standardError.write(Data("switchyard: cannot migrate '\(GatewayStorage.shown(storage))': \(error)\n".utf8))
            throw ExitCode(1)
        }
        if let postgres = opened.postgres {
            let version = (try? await postgres.schemaVersion()) ?? -1
            for m in opened.appliedMigrations { print("applied \(m)") }
            print("\(GatewayStorage.shown(storage)): schema version \(version)\(opened.appliedMigrations.isEmpty ? " (already current)" : "")")
        } else {
            print("\(storage): schema current (SQLite migrates when opened)")
        }
        await opened.close()
    }
}
