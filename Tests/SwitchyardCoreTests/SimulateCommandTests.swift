import Foundation
import Testing
@testable import SwitchyardCore

/// The built `switchyard simulate`: compile errors as `check` prints them, and its output on a log.
@Suite struct SimulateCommandTests {
    @Test(.enabled(if: CommandOutputTests.binary != nil, "the switchyard binary is built by `swift build --build-tests`"))
    func simulateCompilesTheVersionAndReadsTheConfiguredLog() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-sim-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("switchyard.yaml").path
        try "storage: sqlite:\(dir.appendingPathComponent("log.sqlite").path)\n".write(toFile: config, atomically: true, encoding: .utf8)

        let broken = dir.appendingPathComponent("broken.yaml").path
        try "nodes:\n  a: { model: openai/gpt-5.2, fallback: gtp }\n  gpt: { model: openai/gpt-5-mini }\n".write(toFile: broken, atomically: true, encoding: .utf8)
        let bad = try CommandOutputTests.run(["simulate", "customer-support", "--version", broken, "--config", config])
        #expect(bad.status == 1)
        #expect(bad.err.contains("broken.yaml:2:41: error: unknown node 'gtp'; did you mean 'gpt'?"), "\(bad.err)")

        let migrated = try CommandOutputTests.run(["migrate", "--config", config])
        #expect(migrated.status == 0, "\(migrated.err)")
        let empty = try CommandOutputTests.run(["simulate", "customer-support", "--version", "routes/customer-support.yaml", "--config", config])
        #expect(empty.status == 0, "\(empty.err)")
        #expect(empty.out.contains("0 requests"))
        #expect(empty.out.contains("nothing to compare"))
        let json = try CommandOutputTests.run(["simulate", "dynamic/customer-support", "--version", "routes/customer-support.yaml", "--config", config, "--format", "json", "--seed", "3"])
        #expect(json.status == 0, "\(json.err)")
        let parsed = try JSONValue.parse(json.out)
        #expect(parsed["route"] == .string("customer-support"))
        #expect(parsed["requests"] == .number(0))
        #expect(parsed["seed"] == .number(3))

        let badFormat = try CommandOutputTests.run(["simulate", "customer-support", "--version", "routes/customer-support.yaml", "--config", config, "--format", "xml"])
        #expect(badFormat.status != 0)
    }
}
