import ArgumentParser
import Foundation
import SwitchyardServer

/// `--config FILE`, else `switchyard.yaml` when it exists, else the built-in defaults; a file that
/// does not parse prints its located errors and exits 1.
enum ConfigurationFile {
    /// The file the configuration is read from; nil = the built-in defaults.
    static func path(_ explicitPath: String?) -> String? {
        if let explicitPath { return explicitPath }
        return FileManager.default.fileExists(atPath: "switchyard.yaml") ? "switchyard.yaml" : nil
    }

    static func load(_ explicitPath: String?, environment: [String: String]) throws -> GatewayConfiguration {
        guard let path = path(explicitPath) else { return GatewayConfiguration() }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ValidationError("cannot read configuration file '\(path)'")
        }
        do {
            return try ConfigurationParser.parse(text, path: path, environment: environment)
        } catch {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode(1)
        }
    }
}

/// `--config FILE`, shared by every command that reads the configuration.
struct ConfigurationOption: ParsableArguments {
    @Option(help: "Configuration file (default: switchyard.yaml if it exists).")
    var config: String?

    func load(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> GatewayConfiguration {
        try ConfigurationFile.load(config, environment: environment)
    }

    /// The file that was read, if any (`serve` watches it).
    var path: String? { ConfigurationFile.path(config) }
}
