import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import SwitchyardCore
import SwitchyardFakeUpstream
import Testing

@testable import SwitchyardServer

/// `POST /v1/{account}/{gateway}`: steps tried in order, `cf-aig-step` names the one that served.
@Suite struct UniversalEndpointTests {
    static func step(_ model: String, provider: String = "openai", headers: String = "{}", config: String = "{}", stream: Bool = false) -> String {
        #"{"provider":"\#(provider)","endpoint":"chat/completions","headers":\#(headers),"config":\#(config),"query":{"model":"\#(model)","stream":\#(stream),"messages":[{"role":"user","content":"hi"}]}}"#
    }

    @Test func fallsToTheSecondStepWhenTheFirstFails() async throws {
        try await RouteFixture.run(routes: [:], fake: .init(perModel: ["u-fail": FakeBehavior(status: 500)])) { f, client in
            let r = try await client.post("/v1/acct/default", json: "[\(Self.step("u-fail", config: #"{"maxAttempts":2,"retryDelay":1,"backoff":"constant"}"#)),\(Self.step("u-ok"))]")
            #expect(r.status == .ok)
            #expect(r.header("cf-aig-step") == "1")
            #expect(r.json["model"]?.stringValue == "u-ok")
            #expect(r.json["choices"]?[0]?["message"]?["content"]?.stringValue != nil)
            #expect(f.fake.count(model: "u-fail") == 2, "the first step's maxAttempts is honoured")
            #expect(f.fake.count(model: "u-ok") == 1)
            // The stored key went upstream (the steps carried none).
            #expect(f.fake.requests().last?.header("authorization") == "Bearer sk-test")
        }
    }

    @Test func aServingFirstStepNeverCallsTheSecond() async throws {
        try await RouteFixture.run(routes: [:]) { f, client in
            let r = try await client.post("/v1/acct/default", json: "[\(Self.step("u-first")),\(Self.step("u-second"))]")
            #expect(r.status == .ok)
            #expect(r.header("cf-aig-step") == "0")
            #expect(f.fake.requests().map(\.model) == ["u-first"])
        }
    }

    @Test func connectionRefusedAndResetStepsFallThrough() async throws {
        try await RouteFixture.run(routes: [:], fake: .init(perModel: ["u-reset": FakeBehavior(reset: .beforeFirstByte)])) { f, client in
            let r = try await client.post(
                "/v1/acct/default", json: "[\(Self.step("u-dead", provider: "deadprov")),\(Self.step("u-reset")),\(Self.step("u-ok"))]")
            #expect(r.status == .ok, "\(r.text)")
            #expect(r.header("cf-aig-step") == "2")
            #expect(r.json["model"]?.stringValue == "u-ok")
            #expect(f.fake.count(model: "u-reset") == 1)
        }
    }

    @Test func aStreamingSecondStepIsForwarded() async throws {
        try await RouteFixture.run(routes: [:], fake: .init(perModel: ["u-fail": FakeBehavior(status: 503)])) { f, client in
            let r = try await client.post("/v1/acct/default", json: "[\(Self.step("u-fail")),\(Self.step("u-ok", stream: true))]")
            #expect(r.status == .ok)
            #expect(r.header("cf-aig-step") == "1")
            #expect(r.header("content-type")?.hasPrefix("text/event-stream") == true)
            #expect(r.text.hasSuffix("data: [DONE]\n\n"))
        }
    }

    @Test func stepHeadersWinOverRequestHeaders() async throws {
        try await RouteFixture.run(routes: [:]) { f, client in
            let r = try await client.post(
                "/v1/acct/default", json: "[\(Self.step("u-h", headers: #"{"X-Custom":"step","Authorization":"Bearer sk-step"}"#))]",
                headers: headers([("x-custom", "request"), ("x-other", "request")]))
            #expect(r.status == .ok)
            #expect(r.header("cf-aig-step") == "0")
            let sent = try #require(f.fake.requests().last)
            #expect(sent.header("x-custom") == "step")
            #expect(sent.header("x-other") == "request")
            #expect(sent.header("authorization") == "Bearer sk-step")
        }
    }

    @Test func whenEveryStepFailsTheLastAnswerIsReturned() async throws {
        try await RouteFixture.run(routes: [:], fake: .init(perModel: ["u-bad": FakeBehavior(status: 400), "u-worse": FakeBehavior(status: 429)])) { f, client in
            let r = try await client.post("/v1/acct/default", json: "[\(Self.step("u-bad")),\(Self.step("u-worse"))]")
            #expect(r.status == .tooManyRequests)
            #expect(r.header("cf-aig-step") == "1")
            #expect(r.json["error"]?["message"]?.stringValue != nil, "\(r.text)")
            #expect(f.fake.count(model: "u-bad") == 1 && f.fake.count(model: "u-worse") == 1)

            let bad = try await client.post("/v1/acct/default", json: #"{"nope":1}"#)
            #expect(bad.status == .badRequest)
            let empty = try await client.post("/v1/acct/default", json: "[]")
            #expect(empty.status == .badRequest)
        }
    }
}
