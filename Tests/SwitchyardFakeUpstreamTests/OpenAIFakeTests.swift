import AsyncHTTPClient
import Foundation
import Testing
@testable import SwitchyardFakeUpstream

@Suite("Fake upstream: OpenAI format")
struct OpenAIFakeTests {
    @Test func nonStreamingCompletionHasTheReferenceFields() async throws {
        try await withFake { fake in
            let response = try await send(
                fake.openAIBaseURL + "/chat/completions",
                json: #"{"model":"gpt-test","messages":[{"role":"system","content":"Be terse."},{"role":"user","content":"Hello there"}]}"#
            )
            #expect(response.status == 200)
            #expect(response.headers["content-type"].first == "application/json")
            let json = response.json
            #expect(json["id"] as? String == "chatcmpl-fake-1")
            #expect(json["object"] as? String == "chat.completion")
            #expect(json["created"] as? Int == 1_700_000_000)
            #expect(json["model"] as? String == "gpt-test")
            let choice = try #require((json["choices"] as? [[String: Any]])?.first)
            #expect(choice["finish_reason"] as? String == "stop")
            let message = try #require(choice["message"] as? [String: Any])
            #expect(message["role"] as? String == "assistant")
            #expect(message["content"] as? String == "Echo: Hello there")
            let usage = try #require(json["usage"] as? [String: Any])
            let prompt = try #require(usage["prompt_tokens"] as? Int)
            let completion = try #require(usage["completion_tokens"] as? Int)
            #expect(prompt > 0)
            #expect(completion == 5)  // "Echo: Hello there" is 17 characters
            #expect(usage["total_tokens"] as? Int == prompt + completion)
        }
    }

    @Test func streamBytesAreExactlyOpenAIs() async throws {
        try await withFake { fake in
            let result = try await stream(
                fake.openAIBaseURL + "/chat/completions",
                json: #"{"model":"gpt-test","stream":true,"messages":[{"role":"user","content":"Hi"}]}"#,
                headers: [("x-fake-chunks", "2")]
            )
            #expect(result.status == 200)
            #expect(result.headers["content-type"].first == "text/event-stream; charset=utf-8")
            let prefix = #"data: {"id":"chatcmpl-fake-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-test","system_fingerprint":"fp_fake","choices":[{"index":0,"delta":"#
            let expected = prefix + #"{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}]}"# + "\n\n"
                + prefix + #"{"content":"Echo"},"logprobs":null,"finish_reason":null}]}"# + "\n\n"
                + prefix + #"{"content":": Hi"},"logprobs":null,"finish_reason":null}]}"# + "\n\n"
                + prefix + #"{},"logprobs":null,"finish_reason":"stop"}]}"# + "\n\n"
                + "data: [DONE]\n\n"
            #expect(result.body == expected)
            #expect(result.error == nil)
        }
    }

    @Test func includeUsageAddsOneFinalUsageChunk() async throws {
        try await withFake { fake in
            let body = #"{"model":"gpt-test","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Count me"}]}"#
            let result = try await stream(fake.openAIBaseURL + "/chat/completions", json: body)
            let events = sseData(result.body)
            #expect(events.last == "[DONE]")
            let chunks = events.dropLast().compactMap(parseObject)
            #expect(chunks.count == events.count - 1)
            let last = try #require(chunks.last)
            #expect((last["choices"] as? [Any])?.isEmpty == true)
            let usage = try #require(last["usage"] as? [String: Any])
            #expect((usage["prompt_tokens"] as? Int ?? 0) > 0)
            #expect(usage["total_tokens"] as? Int == (usage["prompt_tokens"] as? Int ?? 0) + (usage["completion_tokens"] as? Int ?? 0))
            for chunk in chunks.dropLast() { #expect(chunk["usage"] is NSNull) }
            let text = chunks.compactMap { chunk -> String? in
                ((chunk["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any])?["content"] as? String
            }.joined()
            #expect(text == "Echo: Count me")

            let withoutUsage = try await stream(
                fake.openAIBaseURL + "/chat/completions", json: body, headers: [("x-fake-usage", "0")]
            )
            #expect(!withoutUsage.body.contains("\"prompt_tokens\""))
        }
    }

    @Test func toolCallFragmentsReassembleIntoValidJSON() async throws {
        try await withFake { fake in
            let body = #"{"model":"gpt-test","stream":true,"tools":[\#(weatherTool)],"messages":[{"role":"user","content":"Weather? [call-tool]"}]}"#
            let result = try await stream(fake.openAIBaseURL + "/chat/completions", json: body, headers: [("x-fake-chunks", "3")])
            let chunks = sseData(result.body).dropLast().compactMap(parseObject)
            var arguments = ""
            var fragments = 0
            var names: [String] = []
            var finish: [String] = []
            for chunk in chunks {
                let choice = (chunk["choices"] as? [[String: Any]])?.first ?? [:]
                if let reason = choice["finish_reason"] as? String { finish.append(reason) }
                let calls = (choice["delta"] as? [String: Any])?["tool_calls"] as? [[String: Any]] ?? []
                for call in calls {
                    #expect(call["index"] as? Int == 0)
                    let function = call["function"] as? [String: Any] ?? [:]
                    if let name = function["name"] as? String { names.append(name) }
                    if let piece = function["arguments"] as? String, !piece.isEmpty {
                        arguments += piece
                        fragments += 1
                    }
                }
            }
            #expect(names == ["get_weather"])
            #expect(fragments == 3)
            #expect(finish == ["tool_calls"])
            #expect(parseObject(arguments)?["city"] as? String == "Paris")
            #expect(arguments == #"{"city":"Paris"}"#)
        }
    }

    @Test func toolCallKnobAndToolChoiceNone() async throws {
        try await withFake { fake in
            let url = fake.openAIBaseURL + "/chat/completions"
            let called = try await send(url, json: #"{"model":"m","tools":[\#(weatherTool)],"messages":[{"role":"user","content":"Weather?"}]}"#,
                                        headers: [("x-fake-tool-call", "1")])
            let choice = try #require((called.json["choices"] as? [[String: Any]])?.first)
            #expect(choice["finish_reason"] as? String == "tool_calls")
            let call = try #require(((choice["message"] as? [String: Any])?["tool_calls"] as? [[String: Any]])?.first)
            #expect((call["function"] as? [String: Any])?["arguments"] as? String == #"{"city":"Paris"}"#)

            let refused = try await send(url, json: #"{"model":"m","tool_choice":"none","tools":[\#(weatherTool)],"messages":[{"role":"user","content":"[call-tool]"}]}"#,
                                         headers: [("x-fake-tool-call", "1")])
            #expect((refused.json["choices"] as? [[String: Any]])?.first?["finish_reason"] as? String == "stop")

            let afterResult = try await send(url, json: #"{"model":"m","tools":[\#(weatherTool)],"messages":[{"role":"user","content":"[call-tool]"},{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"get_weather","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c","content":"18C"}]}"#)
            let message = (afterResult.json["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any]
            #expect(message?["content"] as? String == "Echo: 18C")
        }
    }

    @Test func embeddingsAndModels() async throws {
        try await withFake { fake in
            let embeddings = try await send(fake.openAIBaseURL + "/embeddings",
                                            json: #"{"model":"text-embedding-3-small","input":["hello","world"],"dimensions":4}"#)
            #expect(embeddings.json["object"] as? String == "list")
            let data = try #require(embeddings.json["data"] as? [[String: Any]])
            #expect(data.count == 2)
            #expect((data[1]["embedding"] as? [Double])?.count == 4)
            #expect(data[1]["index"] as? Int == 1)
            let again = try await send(fake.openAIBaseURL + "/embeddings",
                                       json: #"{"model":"text-embedding-3-small","input":["hello","world"],"dimensions":4}"#)
            #expect(((again.json["data"] as? [[String: Any]])?[0]["embedding"] as? [Double]) == (data[0]["embedding"] as? [Double]))

            let models = try await send(fake.openAIBaseURL + "/models", method: .GET)
            #expect(models.json["object"] as? String == "list")
            #expect(((models.json["data"] as? [[String: Any]])?.first?["object"] as? String) == "model")
        }
    }

    @Test func prefixedPathsAreServed() async throws {
        try await withFake { fake in
            let body = #"{"model":"llama","messages":[{"role":"user","content":"x"}]}"#
            for path in ["/openai/v1/chat/completions", "/client/v4/accounts/abc/ai/v1/chat/completions"] {
                let response = try await send(fake.baseURL + path, json: body)
                #expect(response.status == 200)
                #expect(response.json["object"] as? String == "chat.completion")
            }
            let unknown = try await send(fake.baseURL + "/nowhere", json: body)
            #expect(unknown.status == 404)
            #expect((unknown.json["error"] as? [String: Any])?["message"] != nil)
        }
    }

    @Test func badBodiesGetA400WithTheProvidersErrorShape() async throws {
        try await withFake { fake in
            let response = try await send(fake.openAIBaseURL + "/chat/completions", json: "{not json")
            #expect(response.status == 400)
            #expect((response.json["error"] as? [String: Any])?["type"] as? String == "invalid_request_error")
            let missing = try await send(fake.openAIBaseURL + "/chat/completions", json: #"{"model":"m"}"#)
            #expect(missing.status == 400)
        }
    }
}
