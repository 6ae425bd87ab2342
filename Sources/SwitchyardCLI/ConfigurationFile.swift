import ArgumentParser
import Foundation
import SwitchyardServer

/// `--config FILE`, else `switchyard.yaml` when it exists, else the built-in defaults; a file that
/// does not parse prints its located errors and exits 1.
enum ConfigurationFile {
    static func load(_ explicitPath: String?, environment: [String: String]) throws -> GatewayConfiguration {
        let path: String
        if let explicitPath {
            path = explicitPath
        } else if FileManager.default.fileExists(atPath: "switchyard.yaml") {
            path = "switchyard.yaml"
        } else {
            return GatewayConfiguration()
        }
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
}
