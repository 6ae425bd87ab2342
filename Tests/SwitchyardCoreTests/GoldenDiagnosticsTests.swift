import Foundation
import Testing
@testable import SwitchyardCore

/// Each fixture `Fixtures/diagnostics/NAME.yaml` (or `.json`) compiles to exactly the text in
/// `NAME.expected`. `UPDATE_GOLDENS=1 swift test --filter GoldenDiagnostics` rewrites the
/// expected files in the source tree; review the diff before committing.
@Suite struct GoldenDiagnosticsTests {
    static let directory: URL? = Bundle.module.url(forResource: "Fixtures", withExtension: nil)?.appendingPathComponent("diagnostics")

    static let fixtures: [String] = {
        guard let directory, let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return [] }
        return names.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".json") }.sorted()
    }()

    @Test func thereAreEnoughFixtures() {
        #expect(Self.fixtures.count >= 25)
    }

    @Test(arguments: fixtures)
    func fixture(_ file: String) throws {
        let directory = try #require(Self.directory)
        let contents = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
        let result = RouteCompiler.compile(RouteSource(path: file, contents: contents))
        let actual = result.diagnostics.map(\.description).joined(separator: "\n") + "\n"
        let base = (file as NSString).deletingPathExtension
        if ProcessInfo.processInfo.environment["UPDATE_GOLDENS"] == "1" {
            let source = Repo.root.appendingPathComponent("Tests/SwitchyardCoreTests/Fixtures/diagnostics/\(base).expected")
            try actual.write(to: source, atomically: true, encoding: .utf8)
            return
        }
        let expected = try String(contentsOf: directory.appendingPathComponent("\(base).expected"), encoding: .utf8)
        #expect(actual == expected)
        // Every fixture demonstrates at least one problem, and each names a line and column in the file.
        #expect(!result.diagnostics.isEmpty)
        for d in result.diagnostics {
            #expect(d.location.path == file)
            #expect(d.location.line >= 1 && d.location.column >= 1)
        }
    }
}
