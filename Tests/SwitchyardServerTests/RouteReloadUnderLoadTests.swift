import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import SwitchyardCore
import SwitchyardFakeUpstream
import Testing

@testable import SwitchyardServer

/// Hot reload while requests run: every request is served, and always by a version that compiled.
@Suite struct RouteReloadUnderLoadTests {
    // The same valid and broken route files as the admin tests: a model-parameterised route named
    // `live`, and one with an unknown fallback target.
    static func route(_ model: String) -> String { AdminRoutesTests.route(model) }
    static let broken = AdminRoutesTests.broken

    @Test(.timeLimit(.minutes(1)))
    func twoThousandRequestsWhileTheFileIsRewrittenTwentyTimes() async throws {
        try await RouteFixture.run(routes: ["live.yaml": Self.route("m-0")]) { f, client in
            // The versions of the valid rewrites, compiled on their own before any is served.
            var valid: [String: String] = [:]
            for i in stride(from: 0, through: 20, by: 2) {
                try f.write("live.yaml", Self.route("m-\(i)"))
                let catalog = RouteLoading.load(directory: f.directory, configuration: f.configuration)
                valid[try catalog.graph(named: "live").version] = "m-\(i)"
            }
            #expect(valid.count == 11)
            try f.write("live.yaml", Self.route("m-0"))
            let initial = try f.table.current.graph(named: "live").version
            #expect(valid[initial] == "m-0")

            var reloads: [(rewrite: Int, version: String?, error: String?)] = []
            let results = try await withThrowingTaskGroup(of: (Int, String, String).self) { group in
                var all: [(Int, String, String)] = []
                for i in 0..<2000 {
                    if i >= 16, let r = try await group.next() { all.append(r) }
                    // A rewrite and a reload every 100 requests, with 16 requests in flight.
                    if i % 100 == 50 {
                        let rewrite = i / 100 + 1
                        try f.write("live.yaml", rewrite % 2 == 0 ? Self.route("m-\(rewrite)") : Self.broken)
                        let admin = try await client.execute(uri: "/admin/reload", method: .post)
                        #expect(admin.status == .ok)
                        let live = admin.json["routes"]?.arrayValue?.first { $0["name"]?.stringValue == "live" }
                        reloads.append((rewrite, live?["version"]?.stringValue, live?["last_error"]?.stringValue))
                    }
                    group.addTask {
                        let r = try await client.post("/compat/chat/completions", json: chat("dynamic/live"))
                        return (Int(r.status.code), r.header("x-switchyard-route") ?? "", r.header("cf-aig-model") ?? "")
                    }
                }
                return try await group.reduce(into: all) { $0.append($1) }
            }
            #expect(reloads.count == 20)
            var expected = initial
            for reload in reloads {
                if reload.rewrite % 2 == 0 {
                    expected = try #require(valid.first { $0.value == "m-\(reload.rewrite)" }?.key)
                    #expect(reload.error == nil, "rewrite \(reload.rewrite): \(reload.error ?? "")")
                } else {
                    #expect(reload.error?.contains("nowhere") == true, "rewrite \(reload.rewrite) is broken: \(reload.error ?? "nil")")
                }
                // A broken rewrite keeps the previous version serving.
                #expect(reload.version == expected, "after rewrite \(reload.rewrite)")
            }

            #expect(results.count == 2000)
            let failed = results.filter { $0.0 != 200 }
            #expect(failed.isEmpty, "\(failed.count) failed requests, first: \(failed.first.map { "\($0)" } ?? "")")
            for (_, route, model) in results {
                let version = String(route.dropFirst("live@".count))
                #expect(route.hasPrefix("live@") && valid[version] != nil, "served by \(route)")
                // The header names the version that actually answered.
                #expect(valid[version] == model, "\(route) answered with \(model)")
            }
            #expect(Set(results.map(\.1)).count > 5, "the versions changed during the run")
            #expect(f.fake.requests().count == 2000)
        }
    }
}
