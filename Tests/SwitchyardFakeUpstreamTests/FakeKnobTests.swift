import AsyncHTTPClient
import Foundation
import Testing
@testable import SwitchyardFakeUpstream

@Suite("Fake upstream: fault knobs and observability")
struct FakeKnobTests {
    let chat = #"{"model":"gpt-test","messages":[{"role":"user","content":"Hi"}]}"#
    let streamingChat = #"{"model":"gpt-test","stream":true,"messages":[{"role":"user","content":"Hello stream"}]}"#

    @Test func statusKnobReturnsEachProvidersErrorBodyAndRetryAfter() async throws {
        try await withFake { fake in
            let openAI = try await send(fake.openAIBaseURL + "/chat/completions", json: chat,
                                        headers: [("x-fake-status", "429"), ("x-fake-retry-after", "7")])
            #expect(openAI.status == 429)
            #expect(openAI.headers["retry-after"].first == "7")
            let error = try #require(openAI.json["error"] as? [String: Any])
            #expect(error["code"] as? String == "rate_limit_exceeded")
            #expect(error["message"] is String)
            #expect(error["param"] is NSNull)

            let anthropic = try await send(fake.baseURL + "/v1/messages",
                                           json: #"{"model":"claude","max_tokens":10,"messages":[{"role":"user","content":"Hi"}]}"#,
                                           headers: [("x-fake-status", "529")])
            #expect(anthropic.status == 529)
            #expect(anthropic.json["type"] as? String == "error")
            #expect((anthropic.json["error"] as? [String: Any])?["type"] as? String == "overloaded_error")

            let gemini = try await send(fake.baseURL + "/v1beta/models/gemini-2.5-flash:generateContent",
                                        json: #"{"contents":[{"role":"user","parts":[{"text":"Hi"}]}]}"#,
                                        headers: [("x-fake-status", "503")])
            #expect(gemini.status == 503)
            let geminiError = try #require(gemini.json["error"] as? [String: Any])
            #expect(geminiError["code"] as? Int == 503)
            #expect(geminiError["status"] as? String == "UNAVAILABLE")

            let workers = try await send(fake.baseURL + "/client/v4/accounts/a/ai/run/@cf/meta/llama-3.1-8b-instruct",
                                         json: #"{"messages":[{"role":"user","content":"Hi"}]}"#,
                                         headers: [("x-fake-status", "500")])
            #expect(workers.status == 500)
            #expect(workers.json["success"] as? Bool == false)
            #expect(((workers.json["errors"] as? [[String: Any]])?.first?["code"] as? Int) == 7003)
        }
    }

    @Test func resetBeforeFirstByteSurfacesAsAConnectionError() async throws {
        try await withFake { fake in
            await #expect(throws: (any Error).self) {
                _ = try await send(fake.openAIBaseURL + "/chat/completions", json: chat,
                                   headers: [("x-fake-reset", "before-first-byte")])
            }
            #expect(fake.counters.resets == 1)
            // The server itself keeps serving.
            let after = try await send(fake.openAIBaseURL + "/chat/completions", json: chat)
            #expect(after.status == 200)
        }
    }

    @Test func resetMidStreamAfterKChunks() async throws {
        try await withFake { fake in
            let result = try await stream(fake.openAIBaseURL + "/chat/completions", json: streamingChat,
                                          headers: [("x-fake-reset", "mid-stream"), ("x-fake-reset-after-chunks", "2"), ("x-fake-chunks", "4")])
            #expect(result.status == 200)
            #expect(result.error != nil)
            let events = sseData(result.body)
            // A RST makes the receiving kernel drop data the client has not read yet, so under load
            // fewer than the two events written may arrive; never more, and never the end.
            #expect(events.count <= 2)
            #expect(!events.contains("[DONE]"))
            #expect(fake.counters.cancelledStreams == 0)
        }
    }

    @Test func latencyKnobDelaysTheFirstByte() async throws {
        try await withFake { fake in
            let clock = ContinuousClock()
            let start = clock.now
            let response = try await send(fake.openAIBaseURL + "/chat/completions", json: chat, headers: [("x-fake-latency-ms", "300")])
            #expect(response.status == 200)
            #expect(clock.now - start >= .milliseconds(300))
        }
    }

    @Test func chunkIntervalSpacesStreamEvents() async throws {
        try await withFake { fake in
            let clock = ContinuousClock()
            let start = clock.now
            // 1 role + 2 content + finish + [DONE] = 5 events, 4 gaps.
            let result = try await stream(fake.openAIBaseURL + "/chat/completions", json: streamingChat,
                                          headers: [("x-fake-chunk-interval-ms", "50"), ("x-fake-chunks", "2")])
            #expect(sseData(result.body).count == 5)
            #expect(clock.now - start >= .milliseconds(200))
        }
    }

    @Test func malformedKnobBreaksTheJSON() async throws {
        try await withFake { fake in
            let body = try await send(fake.openAIBaseURL + "/chat/completions", json: chat, headers: [("x-fake-malformed", "1")])
            #expect(body.status == 200)
            #expect(parseObject(body.body) == nil)
            let events = sseData(try await stream(fake.openAIBaseURL + "/chat/completions", json: streamingChat,
                                                  headers: [("x-fake-malformed", "1")]).body)
            #expect(parseObject(events[0]) != nil)
            #expect(parseObject(events[1]) == nil)
            #expect(events.last == "[DONE]")
        }
    }

    @Test func perModelRulesApplyAndHeadersWin() async throws {
        let configuration = FakeUpstreamConfiguration(
            defaults: FakeBehavior(),
            perModel: ["broken": FakeBehavior(status: 503, retryAfter: "2")],
            clock: { 1_700_000_000 }
        )
        try await withFake(configuration) { fake in
            let url = fake.openAIBaseURL + "/chat/completions"
            let broken = try await send(url, json: #"{"model":"broken","messages":[{"role":"user","content":"x"}]}"#)
            #expect(broken.status == 503)
            #expect(broken.headers["retry-after"].first == "2")
            let fine = try await send(url, json: #"{"model":"fine","messages":[{"role":"user","content":"x"}]}"#)
            #expect(fine.status == 200)
            let overridden = try await send(url, json: #"{"model":"fine","messages":[{"role":"user","content":"x"}]}"#,
                                            headers: [("x-fake-status", "400")])
            #expect(overridden.status == 400)
            let gemini = try await send(fake.baseURL + "/v1beta/models/broken:generateContent",
                                        json: #"{"contents":[{"parts":[{"text":"x"}]}]}"#)
            #expect(gemini.status == 503)

            fake.setBehavior(nil, forModel: "broken")
            let healed = try await send(url, json: #"{"model":"broken","messages":[{"role":"user","content":"x"}]}"#)
            #expect(healed.status == 200)
        }
    }

    @Test func failFirstNThenSucceedCountsPerModel() async throws {
        let configuration = FakeUpstreamConfiguration(perModel: ["flaky": FakeBehavior(failFirst: 2, failStatus: 502)])
        try await withFake(configuration) { fake in
            let url = fake.openAIBaseURL + "/chat/completions"
            let flaky = #"{"model":"flaky","messages":[{"role":"user","content":"x"}]}"#
            let other = #"{"model":"other","messages":[{"role":"user","content":"x"}]}"#
            var statuses: [Int] = []
            statuses.append(try await send(url, json: flaky).status)
            statuses.append(try await send(url, json: other).status)
            statuses.append(try await send(url, json: flaky).status)
            statuses.append(try await send(url, json: flaky).status)
            statuses.append(try await send(url, json: flaky).status)
            #expect(statuses == [502, 200, 502, 200, 200])
        }
    }

    @Test func recordsRequestsAndAwaitsThem() async throws {
        try await withFake { fake in
            let waiter = Task { await fake.waitForRequests(count: 2, timeout: .seconds(10)) }
            _ = try await send(fake.openAIBaseURL + "/chat/completions", json: chat, headers: [("authorization", "Bearer sk-test")])
            _ = try await send(fake.openAIBaseURL + "/models", method: .GET)
            #expect(await waiter.value)
            #expect(await fake.waitForRequests(count: 3, timeout: .milliseconds(50)) == false)
            let requests = fake.requests()
            #expect(requests.count == 2)
            #expect(requests[0].method == "POST")
            #expect(requests[0].path == "/v1/chat/completions")
            #expect(requests[0].header("Authorization") == "Bearer sk-test")
            #expect(requests[0].bodyText == chat)
            #expect(requests[0].model == "gpt-test")
            #expect(requests[1].method == "GET")
            // AsyncHTTPClient pools connections: keep-alive must let both requests share one.
            #expect(requests[0].connectionID == requests[1].connectionID)
        }
    }

    @Test func observesAClientThatClosesMidStream() async throws {
        try await withFake { fake in
            let url = fake.openAIBaseURL + "/chat/completions"
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers.add(name: "x-fake-chunk-interval-ms", value: "100")
            request.headers.add(name: "x-fake-chunks", value: "50")
            request.body = .bytes(.init(string: streamingChat))
            let reader = Task {
                let response = try await client.execute(request, timeout: .seconds(30))
                var iterator = response.body.makeAsyncIterator()
                _ = try await iterator.next()
                try await client.shutdown()  // closes the connection mid-stream
            }
            _ = try? await reader.value
            #expect(await fake.waitForCancelledStream(timeout: .seconds(10)))
            #expect(await fake.wait(timeout: .seconds(10)) { $0.openConnections == 0 })
            #expect(fake.counters.completedStreams == 0)

            // A stream read to its end is not a cancellation.
            _ = try await stream(url, json: streamingChat)
            #expect(fake.counters.completedStreams == 1)
            #expect(fake.counters.cancelledStreams == 1)
        }
    }
}

@Suite("Fake upstream: rules and non-stream resets")
struct FakeRuleTests {
    @Test func rulesParseLikeHeaders() throws {
        let parsed = try FakeBehavior.rule("@cf/meta/llama-3.1-8b-instruct fail-first=2,fail-status=429,latency-ms=5,reset=mid-stream")
        #expect(parsed.model == "@cf/meta/llama-3.1-8b-instruct")
        #expect(parsed.behavior == FakeBehavior(latencyMs: 5, reset: .midStream, failFirst: 2, failStatus: 429))
        #expect(throws: FakeBehavior.RuleError.self) { try FakeBehavior.rule("model-only") }
        #expect(throws: FakeBehavior.RuleError.self) { try FakeBehavior.rule("m status=abc") }
        #expect(throws: FakeBehavior.RuleError.self) { try FakeBehavior.rule("m colour=red") }
        #expect(throws: FakeBehavior.RuleError.self) { try FakeBehavior.rule("m =") }
    }

    @Test func midStreamResetOnANonStreamingAnswerCutsTheBody() async throws {
        try await withFake { fake in
            let result = try await stream(fake.openAIBaseURL + "/chat/completions",
                                          json: #"{"model":"m","messages":[{"role":"user","content":"Hi"}]}"#,
                                          headers: [("x-fake-reset", "mid-stream")])
            #expect(result.status == 200)
            #expect(result.error != nil)
        }
    }

    @Test func percentEncodedPathModelsMatchRules() async throws {
        let configuration = FakeUpstreamConfiguration(perModel: ["@cf/meta/llama": FakeBehavior(status: 429)])
        try await withFake(configuration) { fake in
            let response = try await send(fake.baseURL + "/client/v4/accounts/a/ai/run/%40cf/meta/llama",
                                          json: #"{"prompt":"hi"}"#)
            #expect(response.status == 429)
        }
    }
}

@Suite("Fake upstream: in-stream errors")
struct FakeStreamErrorTests {
    @Test func streamErrorEventFollowsKChunks() async throws {
        try await withFake { fake in
            let openAI = try await stream(fake.openAIBaseURL + "/chat/completions",
                                          json: #"{"model":"m","stream":true,"messages":[{"role":"user","content":"Hi"}]}"#,
                                          headers: [("x-fake-stream-error-after-chunks", "2")])
            #expect(openAI.status == 200)
            #expect(openAI.error == nil)
            let events = sseData(openAI.body)
            #expect(events.count == 3)
            #expect(events.last.flatMap(parseObject)?["error"] is [String: Any])

            let anthropic = try await stream(fake.baseURL + "/v1/messages",
                                             json: #"{"model":"c","max_tokens":5,"stream":true,"messages":[{"role":"user","content":"Hi"}]}"#,
                                             headers: [("x-fake-stream-error-after-chunks", "1")])
            #expect(anthropic.body.hasSuffix("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"))
            #expect(sseData(anthropic.body).count == 2)
        }
    }
}

@Suite("Fake upstream: cancellation before the first byte")
struct FakeEarlyCancellationTests {
    @Test func closingDuringLatencyCountsAsCancelled() async throws {
        try await withFake { fake in
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            var request = HTTPClientRequest(url: fake.openAIBaseURL + "/chat/completions")
            request.method = .POST
            request.headers.add(name: "x-fake-latency-ms", value: "10000")
            request.body = .bytes(.init(string: #"{"model":"m","stream":true,"messages":[{"role":"user","content":"x"}]}"#))
            let call = Task { try await client.execute(request, timeout: .seconds(30)) }
            #expect(await fake.waitForRequests(count: 1, timeout: .seconds(10)))
            call.cancel()
            _ = try? await call.value
            try await client.shutdown()
            #expect(await fake.waitForCancelledStream(timeout: .seconds(10)))
            #expect(fake.counters.cancelledResponses == 1)
        }
    }
}
