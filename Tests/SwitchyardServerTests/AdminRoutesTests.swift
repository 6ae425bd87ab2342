import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import SwitchyardCore
import SwitchyardFakeUpstream
import SwitchyardStorage
import Testing

@testable import SwitchyardServer

/// `GET /admin/routes` and `POST /admin/reload`: versions swap, a broken file keeps the previous
/// version serving with its error (line and column) listed.
@Suite struct AdminRoutesTests {
    static func route(_ model: String) -> String {
        """
        name: live
        nodes:
          m:
            model: openai/\(model)
        """
    }

    static let broken = """
        name: live
        nodes:
          m:
            model: openai/m-x
            fallback: nowhere
        """

    @Test func validBrokenValid() async throws {
        let fake = try await FakeUpstream.start()
        let dir = NSTemporaryDirectory() + "switchyard-admin-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.route("m-one").write(toFile: dir + "/live.yaml", atomically: true, encoding: .utf8)
        var configuration = try ConfigurationParser.parse("""
            routes: \(dir)
            providers:
              openai: { base_url: "\(fake.openAIBaseURL)", keys: { default: sk } }
            """, environment: [:])
        configuration.listen.port = 0
        let table = RouteTable(RouteLoading.load(directory: dir, configuration: configuration))
        let app = buildApplication(configuration: configuration, environment: [:], routeTable: table, reloadRoutesEvery: .seconds(3600))
        try await app.test(.router) { client in
            func post() async throws -> TestResponse {
                try await client.execute(
                    uri: "/compat/chat/completions", method: .post, headers: [.contentType: "application/json"],
                    body: ByteBuffer(string: #"{"model":"dynamic/live","messages":[{"role":"user","content":"hi"}]}"#))
            }
            func admin(reload: Bool) async throws -> JSONValue? {
                let r = try await client.execute(uri: reload ? "/admin/reload" : "/admin/routes", method: reload ? .post : .get)
                #expect(r.status == .ok)
                let doc = try JSONValue.parse(Data(r.body.readableBytesView))
                return doc["routes"]?.arrayValue?.first { $0["name"]?.stringValue == "live" }
            }
            let v1 = try #require(try await admin(reload: false)?["version"]?.stringValue)
            #expect(try await post().headers[HTTPField.Name("x-switchyard-route")!] == "live@\(v1)")

            try Self.route("m-two").write(toFile: dir + "/live.yaml", atomically: true, encoding: .utf8)
            let two = try #require(try await admin(reload: true))
            let v2 = try #require(two["version"]?.stringValue)
            #expect(v2 != v1)
            #expect(two["last_error"] == .null)
            let served = try await post()
            #expect(served.headers[HTTPField.Name("x-switchyard-route")!] == "live@\(v2)")
            #expect(served.headers[HTTPField.Name("cf-aig-model")!] == "m-two")

            try Self.broken.write(toFile: dir + "/live.yaml", atomically: true, encoding: .utf8)
            let broken = try #require(try await admin(reload: true))
            #expect(broken["version"]?.stringValue == v2)
            let error = broken["last_error"]?.stringValue ?? ""
            #expect(error.contains("live.yaml:5:15") && error.contains("nowhere"), "\(error)")
            #expect(try await post().headers[HTTPField.Name("x-switchyard-route")!] == "live@\(v2)")

            try Self.route("m-three").write(toFile: dir + "/live.yaml", atomically: true, encoding: .utf8)
            let three = try #require(try await admin(reload: true))
            let v3 = try #require(three["version"]?.stringValue)
            #expect(three["last_error"] == .null)
            #expect(three["versions"]?.arrayValue?.compactMap { $0["version"]?.stringValue } == [v3, v2, v1])
            #expect(three["source"]?.stringValue?.hasSuffix("live.yaml") == true)
            #expect(three["loaded_at"]?.stringValue != nil)
            #expect(try await post().headers[HTTPField.Name("cf-aig-model")!] == "m-three")

            let wrongMethod = try await client.execute(uri: "/admin/reload", method: .get)
            #expect(wrongMethod.status == .methodNotAllowed)
            #expect(try await client.execute(uri: "/admin/nothing", method: .get).status == .notFound)
        }
        try await fake.shutdown()
    }

    /// Route history in storage: an instance shows the versions another instance (or an earlier
    /// run) loaded from the same database, and draws one it never loaded from the stored source.
    @Test func versionsAreSharedThroughStorage() async throws {
        let fake = try await FakeUpstream.start()
        let base = NSTemporaryDirectory() + "switchyard-history-\(UUID().uuidString)"
        let (dirA, dirB) = (base + "/a", base + "/b")
        for dir in [dirA, dirB] { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        defer { try? FileManager.default.removeItem(atPath: base) }
        let store = try SQLiteDatabase(path: base + "/shared.sqlite")
        func configuration(_ dir: String) throws -> GatewayConfiguration {
            var c = try ConfigurationParser.parse("""
                routes: \(dir)
                providers:
                  openai: { base_url: "\(fake.openAIBaseURL)", keys: { default: sk } }
                """, environment: [:])
            c.listen.port = 0
            return c
        }
        @Sendable func stored() async throws -> [String] { try await store.routeVersions(route: "live", limit: 100).map(\.version) }
        @Sendable func waitForStored(_ count: Int) async throws {
            for _ in 0..<500 where try await stored().count < count { try await Task.sleep(for: .milliseconds(10)) }
            #expect(try await stored().count == count)
        }

        // Instance A serves m-one, then m-two.
        try Self.route("m-one").write(toFile: dirA + "/live.yaml", atomically: true, encoding: .utf8)
        let a = try configuration(dirA)
        let tableA = RouteTable(RouteLoading.load(directory: dirA, configuration: a))
        let v1 = try #require(tableA.current.graphs["live"]?.version)
        try await buildApplication(configuration: a, environment: [:], routeTable: tableA, reloadRoutesEvery: .seconds(3600), routeVersions: store).test(.router) { client in
            try Self.route("m-two").write(toFile: dirA + "/live.yaml", atomically: true, encoding: .utf8)
            #expect(try await client.execute(uri: "/admin/reload", method: .post).status == .ok)
        }
        try await waitForStored(2)
        let v2 = try #require(try await stored().first)

        // Instance B starts on m-three: its list holds all three, newest first.
        try Self.route("m-three").write(toFile: dirB + "/live.yaml", atomically: true, encoding: .utf8)
        let b = try configuration(dirB)
        let tableB = RouteTable(RouteLoading.load(directory: dirB, configuration: b))
        let v3 = try #require(tableB.current.graphs["live"]?.version)
        try await buildApplication(configuration: b, environment: [:], routeTable: tableB, reloadRoutesEvery: .seconds(3600), routeVersions: store).test(.router) { client in
            try await waitForStored(3)
            let list = try JSONValue.parse(Data(try await client.execute(uri: "/admin/routes", method: .get).body.readableBytesView))
            let live = list["routes"]?.arrayValue?.first { $0["name"]?.stringValue == "live" }
            #expect(live?["versions"]?.arrayValue?.compactMap { $0["version"]?.stringValue } == [v3, v2, v1])
            // v1 was never loaded by B: drawn from the stored source.
            let old = try await client.execute(uri: "/admin/routes/live?version=\(v1)", method: .get)
            #expect(old.status == .ok)
            let doc = try JSONValue.parse(Data(old.body.readableBytesView))
            #expect(doc["result"]?["version"]?.stringValue == v1)
            #expect(doc["result"]?["current"] == .bool(false))
            #expect(doc["result"]?["nodes"]?[0]?["detail"]?.stringValue == "openai/m-one")
            #expect(try await client.execute(uri: "/admin/routes/live?version=000000000000", method: .get).status == .notFound)
        }
        try await fake.shutdown()
    }
}
