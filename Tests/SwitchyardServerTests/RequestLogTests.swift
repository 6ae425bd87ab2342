import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import SwitchyardCore
import SwitchyardFakeUpstream
import Testing

@testable import SwitchyardServer

@Suite struct RequestLogTests {
    /// 10,000 with SWITCHYARD_HEAVY_TESTS=1; 2,000 by default (see ResponseCacheTests.concurrentMisses).
    static let loggedRequests = ProcessInfo.processInfo.environment["SWITCHYARD_HEAVY_TESTS"] == nil ? 2_000 : 10_000

    @Test func everyRequestIsLoggedAndFoundAfterShutdown() async throws {
        let ids = SharedList<[String]>([])
        // Cache hits keep the upstream out of the way: one provider call, 10,000 log records.
        let h = try await ControlsHarness.run(keepLog: true, extra: "gateways: { default: { cache: { ttl: 1h } } }") { client, h async throws in
            _ = try await client.chat(text: "warm")
            try await withThrowingTaskGroup(of: String?.self) { group in
                for i in 0..<(Self.loggedRequests - 1) {
                    if i >= 64, let next = try await group.next(), let id = next { ids.append(id) }
                    group.addTask { try await client.chat(text: "warm").header("cf-aig-log-id") }
                }
                for try await id in group { if let id { ids.append(id) } }
            }
        }
        defer { h.removeDatabase() }
        let records = try await h.allRecords()
        #expect(records.count == Self.loggedRequests)
        let found = Set(records.map(\.id))
        let sent = Set(ids.value)
        #expect(sent.count == Self.loggedRequests - 1)
        #expect(sent.isSubset(of: found))
        #expect(records.filter(\.cached).count == Self.loggedRequests - 1)
    }

    @Test func recordCarriesCloudflareFields() async throws {
        let h = try await ControlsHarness.run(keepLog: true) { client, h async throws in
            let r = try await client.chat(text: "fields", headers: [
                HTTPField.Name("cf-aig-metadata")!: #"{"user":"u1","tier":2,"cf.secret":"x"}"#,
                HTTPField.Name("cf-aig-event-id")!: "evt-1",
                .userAgent: "test-agent/1.0",
            ])
            #expect(r.status == .ok)
            let s = try await client.chat(text: "streamed", stream: true)
            #expect(s.status == .ok)
            let custom = try await client.chat(text: "custom", headers: [HTTPField.Name("cf-aig-custom-cost")!: #"{"per_token_in":0.001,"per_token_out":0.002}"#])
            #expect(custom.status == .ok)
            #expect(try await client.chat(headers: [HTTPField.Name("cf-aig-custom-cost")!: "nope"]).status == .badRequest)
        }
        defer { h.removeDatabase() }
        let records = try await h.allRecords()
        #expect(records.count == 4)
        let first = try #require(records.first { $0.eventId == "evt-1" })
        #expect(first.provider == "openai")
        #expect(first.model == "gpt-5-mini")
        #expect(first.gateway == "default")
        #expect(first.account == "acct")
        #expect(first.path == "/v1/acct/default/compat/chat/completions")
        #expect(first.statusCode == 200 && first.success && !first.cached && !first.stream)
        #expect(first.metadata["user"] == .string("u1"))
        #expect(first.metadata["tier"] == .number(2))
        #expect(first.metadata["cf.secret"] == nil)
        #expect(first.userAgent == "test-agent/1.0")
        #expect(first.tokensIn > 0 && first.tokensOut > 0)
        // gpt-5-mini's list price, written out: $0.25 in and $2.00 out per million tokens.
        #expect(first.cost > 0)
        #expect(abs(first.cost - (Double(first.tokensIn) * 0.25 + Double(first.tokensOut) * 2.0) / 1e6) < 1e-12)
        #expect(first.requestSize > 0 && first.responseSize > 0)
        #expect(first.requestBody?.contains("fields") == true)
        #expect(first.responseBody?.contains("fields") == true)
        #expect(first.timeToFirstByteMs != nil && first.durationMs >= (first.timeToFirstByteMs ?? 0))
        let streamed = try #require(records.first { $0.requestBody?.contains("streamed") == true })
        #expect(streamed.stream && streamed.tokensOut > 0)
        let custom = try #require(records.first { $0.requestBody?.contains("custom") == true })
        #expect(abs(custom.cost - (Double(custom.tokensIn) * 0.001 + Double(custom.tokensOut) * 0.002)) < 1e-9)
        #expect(custom.metadata["custom_cost"] == .bool(true))
        #expect(records.contains { $0.statusCode == 400 && !$0.success })
    }

    @Test func collectLogHeadersAndGatewaySetting() async throws {
        let h = try await ControlsHarness.run(keepLog: true, extra: "gateways: { quiet: { collect_logs: false } }") { client, h async throws in
            _ = try await client.chat(text: "no-log", headers: [HTTPField.Name("cf-aig-collect-log")!: "false"])
            _ = try await client.chat(text: "no-payload", headers: [HTTPField.Name("cf-aig-collect-log-payload")!: "false"])
            _ = try await client.chat(text: "quiet gateway", gateway: "quiet")
            _ = try await client.chat(text: "forced", headers: [HTTPField.Name("cf-aig-collect-log")!: "true"], gateway: "quiet")
        }
        defer { h.removeDatabase() }
        let records = try await h.allRecords()
        #expect(records.count == 2)
        let noPayload = try #require(records.first { $0.gateway == "default" })
        #expect(noPayload.requestBody == nil && noPayload.responseBody == nil && noPayload.tokensIn > 0)
        #expect(records.contains { $0.gateway == "quiet" && $0.requestBody?.contains("forced") == true })
    }

    /// The universal endpoint's records carry its request like every other endpoint's; a header says
    /// true or false in the configuration file's words (`on`).
    @Test func universalRequestsAreLoggedWithTheirBody() async throws {
        let h = try await ControlsHarness.run(keepLog: true, extra: "gateways: { quiet: { collect_logs: false } }") { client, h async throws in
            let step = #"{"provider":"openai","endpoint":"chat/completions","headers":{},"query":{"model":"gpt-5-mini","messages":[{"role":"user","content":"universal-marker"}]}}"#
            let r = try await client.post("/v1/acct/quiet", json: "[\(step)]", headers: [HTTPField.Name("cf-aig-collect-log")!: "on"])
            #expect(r.status == .ok)
        }
        defer { h.removeDatabase() }
        let records = try await h.allRecords()
        #expect(records.count == 1)
        let record = try #require(records.first)
        #expect(record.requestSize > 0)
        #expect(record.requestBody?.contains("universal-marker") == true)
    }

    @Test func adminAPIQueriesFetchesAndPatches() async throws {
        let admin: HTTPFields = [.authorization: "Bearer admin-secret-token"]
        try await ControlsHarness.run(extra: "admin: { token: admin-secret-token }") { client, h async throws in
            let a = try await client.chat(text: "one", headers: [HTTPField.Name("cf-aig-metadata")!: #"{"user":"u1"}"#])
            _ = try await client.chat("anthropic/claude-sonnet-4-5", text: "two", headers: [HTTPField.Name("cf-aig-metadata")!: #"{"user":"u2"}"#])
            _ = try await client.chat("openai/gpt-5-mini", text: "three")
            let id = try #require(a.header("cf-aig-log-id"))
            // The writer flushes every 50 ms: wait until the three are stored.
            for _ in 0..<200 {
                if try await h.store.query(RequestLogQuery()).total >= 3 { break }
                try await Task.sleep(for: .milliseconds(10))
            }

            #expect(try await client.execute(uri: "/admin/logs", method: .get).status == .unauthorized)
            let wrong = try await client.execute(uri: "/admin/logs", method: .get, headers: [.authorization: "Bearer nope"])
            #expect(wrong.status == .unauthorized && wrong.json["internalCode"]?.numberValue == 2009)

            let all = try await client.execute(uri: "/admin/logs?order_by=created_at&direction=asc", method: .get, headers: admin)
            #expect(all.status == .ok)
            #expect(all.json["result_info"]?["total_count"]?.numberValue == 3)
            let byModel = try await client.execute(uri: "/admin/logs?filter=model:eq:gpt-5-mini&filter=metadata.user:eq:u1", method: .get, headers: admin)
            #expect(byModel.json["result"]?.arrayValue?.count == 1)
            #expect(byModel.json["result"]?[0]?["id"]?.stringValue == id)
            let notU1 = try await client.execute(uri: "/admin/logs?filter=metadata.user:neq:u1&per_page=1&page=2", method: .get, headers: admin)
            #expect(notU1.json["result_info"]?["total_count"]?.numberValue == 2)
            #expect(notU1.json["result"]?.arrayValue?.count == 1)
            let bad = try await client.execute(uri: "/admin/logs?filter=password:eq:x", method: .get, headers: admin)
            #expect(bad.status == .badRequest)

            let one = try await client.execute(uri: "/admin/logs/\(id)", method: .get, headers: admin)
            #expect(one.json["result"]?["model"]?.stringValue == "gpt-5-mini")
            #expect(try await client.execute(uri: "/admin/logs/missing", method: .get, headers: admin).status == .notFound)
            let stored = try await client.execute(uri: "/admin/logs/\(id)/request", method: .get, headers: admin)
            #expect(stored.json["messages"]?[0]?["content"]?.stringValue == "one")

            var patchHeaders = admin
            patchHeaders[.contentType] = "application/json"
            let patched = try await client.execute(
                uri: "/admin/logs/\(id)", method: .patch, headers: patchHeaders,
                body: ByteBuffer(string: #"{"feedback":-1,"score":87,"metadata":{"reviewed":true}}"#))
            #expect(patched.status == .ok)
            #expect(patched.json["result"]?["feedback"]?.numberValue == -1)
            #expect(patched.json["result"]?["metadata"]?["reviewed"] == .bool(true))
            #expect(patched.json["result"]?["metadata"]?["user"] == .string("u1"))
            let invalid = try await client.execute(uri: "/admin/logs/\(id)", method: .patch, headers: patchHeaders, body: ByteBuffer(string: #"{"feedback":5}"#))
            #expect(invalid.status == .badRequest)
        }
    }

    @Test func aFullQueueDropsAndCountsInsteadOfBlocking() async throws {
        let h = try await ControlsHarness.run(keepLog: true, yaml: { fake in
            ControlsHarness.yaml(fake: fake).replacingOccurrences(of: "logs: { flush_interval: 50ms, queue_capacity: 20000 }", with: "logs: { flush_interval: 1h, queue_capacity: 1 }")
        }) { client, h async throws in
            for i in 0..<6 { #expect(try await client.chat(text: "q\(i)").status == .ok) }
            let m = try PrometheusText(try await client.execute(uri: "/metrics", method: .get).text)
            let dropped = m.sum("switchyard_log_records_dropped")
            let accounted = dropped + m.sum("switchyard_log_records_written") + m.sum("switchyard_log_queue_depth")
            #expect(dropped >= 4)
            #expect(accounted == 6)
        }
        defer { h.removeDatabase() }
        // Shutdown wrote what had been accepted.
        #expect(try await h.allRecords().count >= 1)
        #expect(try await h.allRecords().count <= 2)
    }

    @Test func metricsAndAdminAreOpenWithoutAnAdminToken() async throws {
        try await ControlsHarness.run { client, _ async throws in
            #expect(try await client.execute(uri: "/admin/logs", method: .get).status == .ok)
            #expect(try await client.execute(uri: "/metrics", method: .get).status == .ok)
        }
    }
}

/// A value shared between test tasks.
final class SharedList<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value { lock.withLock { stored } }
    func append<E>(_ element: E) where Value == [E] { lock.withLock { stored.append(element) } }
}
