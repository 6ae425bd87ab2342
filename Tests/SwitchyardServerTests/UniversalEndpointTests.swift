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

    // MARK: Bounded: at most `limits.max_universal_steps` steps, each on the shared retry policy

    static func steps(_ models: [String], config: String = "{}") -> String {
        "[" + models.map { step($0, config: config) }.joined(separator: ",") + "]"
    }

    @Test func moreStepsThanTheLimitAreRefusedBeforeAnyUpstreamCall() async throws {
        try await RouteFixture.run(routes: [:]) { f, client in
            let r = try await client.post("/v1/acct/default", json: Self.steps((0..<101).map { "u-\($0)" }))
            #expect(r.status == .badRequest)
            #expect(r.json["internalCode"]?.numberValue == 2043)
            let message = r.json["message"]?.stringValue ?? ""
            #expect(message.contains("10") && message.contains("101") && message.contains("limits.max_universal_steps"), "\(message)")
            #expect(f.fake.requests().isEmpty)

            let eleven = try await client.post("/v1/acct/default", json: Self.steps((0..<11).map { "u-\($0)" }))
            #expect(eleven.status == .badRequest)
            #expect(f.fake.requests().isEmpty)
            // Exactly the limit is served.
            let ten = try await client.post("/v1/acct/default", json: Self.steps((0..<10).map { "u-ten-\($0)" }))
            #expect(ten.status == .ok)
            #expect(f.fake.requests().map(\.model) == ["u-ten-0"])
        }
        try await RouteFixture.run(routes: [:], extraYAML: "limits: { max_universal_steps: 2 }") { f, client in
            let r = try await client.post("/v1/acct/default", json: Self.steps(["u-a", "u-b", "u-c"]))
            #expect(r.status == .badRequest)
            #expect(r.json["message"]?.stringValue?.contains("at most 2") == true, "\(r.text)")
            #expect(f.fake.requests().isEmpty)
        }
    }

    @Test func everyStepFailingCostsAtMostStepsTimesAttempts() async throws {
        let delays = RetryAndPersistenceTests.Delays()
        try await RouteFixture.run(routes: [:], fake: .init(defaults: FakeBehavior(status: 500)), retrySleep: { delays.record($0) }) { f, client in
            let models = (0..<10).map { "u-down-\($0)" }
            let r = try await client.post("/v1/acct/default", json: Self.steps(models, config: #"{"maxAttempts":5,"retryDelay":100,"backoff":"constant"}"#))
            // The last step's own answer, after its retries.
            #expect(r.status == .internalServerError, "\(r.text)")
            #expect(r.header("cf-aig-step") == "9")
            #expect(r.json["error"]?["message"]?.stringValue != nil, "\(r.text)")
            #expect(f.fake.requests().count == 50)
            for model in models { #expect(f.fake.count(model: model) == 5) }
            // The shared executor's sleep, with the policy's jitter: 4 waits per step, 100 ms ± 20 %.
            let waits = delays.all
            #expect(waits.count == 40, "\(waits)")
            #expect(waits.allSatisfy { $0 >= 0.08 && $0 <= 0.12 }, "\(waits)")
            #expect(Set(waits).count > 1, "jittered: \(waits)")
        }
    }

    @Test func aNonRetryable4xxEndsTheStepAtOnceAndTheNextStepRuns() async throws {
        let delays = RetryAndPersistenceTests.Delays()
        try await RouteFixture.run(routes: [:], fake: .init(perModel: ["u-bad": FakeBehavior(status: 400)]), retrySleep: { delays.record($0) }) { f, client in
            let r = try await client.post("/v1/acct/default", json: "[\(Self.step("u-bad", config: #"{"maxAttempts":5}"#)),\(Self.step("u-ok"))]")
            #expect(r.status == .ok, "\(r.text)")
            #expect(r.header("cf-aig-step") == "1")
            #expect(f.fake.count(model: "u-bad") == 1, "a 400 is not retried")
            #expect(f.fake.count(model: "u-ok") == 1)
            #expect(delays.all.isEmpty)
        }
    }

    @Test func a429IsRetriedAfterItsRetryAfterUpToThePolicyCap() async throws {
        let delays = RetryAndPersistenceTests.Delays()
        let fake = FakeUpstreamConfiguration(perModel: [
            "u-busy": FakeBehavior(retryAfter: "7", failFirst: 1, failStatus: 429),
            "u-swamped": FakeBehavior(status: 429, retryAfter: "1000"),
        ])
        try await RouteFixture.run(routes: [:], fake: fake, retrySleep: { delays.record($0) }) { f, client in
            let busy = try await client.post("/v1/acct/default", json: Self.steps(["u-busy"], config: #"{"maxAttempts":3,"retryDelay":0}"#))
            #expect(busy.status == .ok, "\(busy.text)")
            #expect(busy.header("cf-aig-step") == "0")
            #expect(f.fake.count(model: "u-busy") == 2)
            #expect(delays.all == [7], "Retry-After replaces the shorter backoff")

            let swamped = try await client.post("/v1/acct/default", json: "[\(Self.step("u-swamped", config: #"{"maxAttempts":2}"#)),\(Self.step("u-ok"))]")
            #expect(swamped.status == .ok, "\(swamped.text)")
            #expect(swamped.header("cf-aig-step") == "1")
            #expect(f.fake.count(model: "u-swamped") == 2)
            #expect(delays.all == [7, 30], "Retry-After is capped by the policy")
        }
    }

    @Test func failedAnswersAreDrainedSoTheirConnectionIsReused() async throws {
        try await RouteFixture.run(routes: [:], fake: .init(perModel: ["u-down": FakeBehavior(status: 503)]), retrySleep: { _ in }) { f, client in
            let r = try await client.post("/v1/acct/default", json: "[\(Self.step("u-down", config: #"{"maxAttempts":3}"#)),\(Self.step("u-ok"))]")
            #expect(r.status == .ok, "\(r.text)")
            #expect(r.header("cf-aig-step") == "1")
            let sent = f.fake.requests()
            #expect(sent.map(\.model) == ["u-down", "u-down", "u-down", "u-ok"])
            #expect(Set(sent.map(\.connectionID)).count == 1, "one keep-alive connection for every try: \(sent.map(\.connectionID))")
        }
    }
}
