import AsyncHTTPClient
import Foundation
import Testing
@testable import SwitchyardFakeUpstream

@Suite("Fake upstream: Anthropic, Gemini and Workers AI formats")
struct ProviderFormatFakeTests {
    let anthropicTool = #"{"name":"get_weather","description":"Weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}"#

    @Test func anthropicMessage() async throws {
        try await withFake { fake in
            let response = try await send(
                fake.baseURL + "/v1/messages",
                json: #"{"model":"claude-test","max_tokens":100,"system":"Be kind.","messages":[{"role":"user","content":[{"type":"text","text":"Bonjour"}]}]}"#,
                headers: [("anthropic-version", "2023-06-01")]
            )
            #expect(response.status == 200)
            let json = response.json
            #expect(json["type"] as? String == "message")
            #expect(json["role"] as? String == "assistant")
            #expect(json["id"] as? String == "msg_fake1")
            #expect(json["stop_reason"] as? String == "end_turn")
            #expect(json["stop_sequence"] is NSNull)
            let block = try #require((json["content"] as? [[String: Any]])?.first)
            #expect(block["type"] as? String == "text")
            #expect(block["text"] as? String == "Echo: Bonjour")
            let usage = try #require(json["usage"] as? [String: Any])
            #expect((usage["input_tokens"] as? Int ?? 0) > 0)
            #expect(usage["output_tokens"] as? Int == 4)
        }
    }

    @Test func anthropicStreamHasNamedEventsInOrder() async throws {
        try await withFake { fake in
            let result = try await stream(
                fake.baseURL + "/v1/messages",
                json: #"{"model":"claude-test","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"Hi there"}]}"#,
                headers: [("x-fake-chunks", "2")]
            )
            let names = result.body.components(separatedBy: "\n").filter { $0.hasPrefix("event: ") }.map { String($0.dropFirst(7)) }
            #expect(names == ["message_start", "content_block_start", "ping", "content_block_delta", "content_block_delta",
                              "content_block_stop", "message_delta", "message_stop"])
            #expect(result.body.contains("event: ping\ndata: {\"type\": \"ping\"}\n\n"))
            let events = sseData(result.body).compactMap(parseObject)
            #expect(events.count == names.count)
            for (name, event) in zip(names, events) { #expect(event["type"] as? String == name) }
            let text = events.compactMap { ($0["delta"] as? [String: Any])?["text"] as? String }.joined()
            #expect(text == "Echo: Hi there")
            let delta = try #require(events.first { $0["type"] as? String == "message_delta" })
            #expect((delta["delta"] as? [String: Any])?["stop_reason"] as? String == "end_turn")
            #expect(!result.body.contains("[DONE]"))
        }
    }

    @Test func anthropicToolUseStreamReassembles() async throws {
        try await withFake { fake in
            let result = try await stream(
                fake.baseURL + "/v1/messages",
                json: #"{"model":"c","max_tokens":100,"stream":true,"tools":[\#(anthropicTool)],"messages":[{"role":"user","content":"[call-tool]"}]}"#
            )
            let events = sseData(result.body).compactMap(parseObject)
            let start = try #require(events.first { $0["type"] as? String == "content_block_start" })
            #expect((start["content_block"] as? [String: Any])?["type"] as? String == "tool_use")
            #expect((start["content_block"] as? [String: Any])?["name"] as? String == "get_weather")
            let pieces = events.compactMap { event -> String? in
                guard let delta = event["delta"] as? [String: Any], delta["type"] as? String == "input_json_delta" else { return nil }
                return delta["partial_json"] as? String
            }
            #expect(pieces.count > 2)
            #expect(pieces.first == "")
            #expect(parseObject(pieces.joined())?["city"] as? String == "Paris")
            let delta = try #require(events.first { $0["type"] as? String == "message_delta" })
            #expect((delta["delta"] as? [String: Any])?["stop_reason"] as? String == "tool_use")
        }
    }

    @Test func geminiGenerateContent() async throws {
        try await withFake { fake in
            let response = try await send(
                fake.baseURL + "/v1beta/models/gemini-2.5-flash:generateContent",
                json: #"{"systemInstruction":{"parts":[{"text":"Be brief."}]},"contents":[{"role":"user","parts":[{"text":"Ciao"}]}]}"#
            )
            #expect(response.status == 200)
            let candidate = try #require((response.json["candidates"] as? [[String: Any]])?.first)
            #expect(candidate["finishReason"] as? String == "STOP")
            let parts = (candidate["content"] as? [String: Any])?["parts"] as? [[String: Any]]
            #expect(parts?.first?["text"] as? String == "Echo: Ciao")
            let usage = try #require(response.json["usageMetadata"] as? [String: Any])
            #expect((usage["promptTokenCount"] as? Int ?? 0) > 0)
            #expect(usage["totalTokenCount"] as? Int == (usage["promptTokenCount"] as? Int ?? 0) + (usage["candidatesTokenCount"] as? Int ?? 0))
            #expect(response.json["modelVersion"] as? String == "gemini-2.5-flash")
        }
    }

    @Test func geminiSSEUsesCRLFAndNoDone() async throws {
        try await withFake { fake in
            let result = try await stream(
                fake.baseURL + "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
                json: #"{"contents":[{"role":"user","parts":[{"text":"Ciao a tutti"}]}]}"#,
                headers: [("x-fake-chunks", "3")]
            )
            #expect(result.headers["content-type"].first == "text/event-stream")
            #expect(result.body.hasPrefix("data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": "))
            #expect(result.body.hasSuffix("\r\n\r\n"))
            #expect(!result.body.replacingOccurrences(of: "\r\n", with: "").contains("\n"))
            #expect(!result.body.contains("[DONE]"))
            let events = sseData(result.body).compactMap(parseObject)
            #expect(events.count == 4)
            let text = events.compactMap { event -> String? in
                let candidate = (event["candidates"] as? [[String: Any]])?.first
                return ((candidate?["content"] as? [String: Any])?["parts"] as? [[String: Any]])?.first?["text"] as? String
            }.joined()
            #expect(text == "Echo: Ciao a tutti")
            let last = (events.last?["candidates"] as? [[String: Any]])?.first
            #expect(last?["finishReason"] as? String == "STOP")
        }
    }

    @Test func geminiFunctionCallArrivesWhole() async throws {
        try await withFake { fake in
            let body = #"{"contents":[{"role":"user","parts":[{"text":"weather"}]}],"tools":[{"functionDeclarations":[{"name":"get_weather","parameters":{"type":"OBJECT","properties":{"city":{"type":"STRING"}}}}]}]}"#
            let result = try await stream(
                fake.baseURL + "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", json: body,
                headers: [("x-fake-tool-call", "1")]
            )
            let events = sseData(result.body).compactMap(parseObject)
            #expect(events.count == 1)
            let candidate = try #require((events.first?["candidates"] as? [[String: Any]])?.first)
            #expect(candidate["finishReason"] as? String == "STOP")
            let part = ((candidate["content"] as? [String: Any])?["parts"] as? [[String: Any]])?.first
            let call = try #require(part?["functionCall"] as? [String: Any])
            #expect(call["name"] as? String == "get_weather")
            #expect((call["args"] as? [String: Any])?["city"] as? String == "Paris")
        }
    }

    @Test func geminiEmbeddings() async throws {
        try await withFake { fake in
            let single = try await send(fake.baseURL + "/v1beta/models/text-embedding-004:embedContent",
                                        json: #"{"content":{"parts":[{"text":"hello"}]}}"#)
            #expect(((single.json["embedding"] as? [String: Any])?["values"] as? [Double])?.count == 8)
            let batch = try await send(fake.baseURL + "/v1beta/models/text-embedding-004:batchEmbedContents",
                                       json: #"{"requests":[{"model":"models/text-embedding-004","content":{"parts":[{"text":"a"}]}},{"model":"models/text-embedding-004","content":{"parts":[{"text":"b"}]}}]}"#)
            #expect((batch.json["embeddings"] as? [[String: Any]])?.count == 2)
        }
    }

    @Test func workersAINativeRun() async throws {
        try await withFake { fake in
            let url = fake.baseURL + "/client/v4/accounts/acc/ai/run/@cf/meta/llama-3.1-8b-instruct"
            let response = try await send(url, json: #"{"messages":[{"role":"user","content":"Salut"}]}"#)
            #expect(response.json["success"] as? Bool == true)
            #expect((response.json["errors"] as? [Any])?.isEmpty == true)
            #expect((response.json["messages"] as? [Any])?.isEmpty == true)
            #expect((response.json["result"] as? [String: Any])?["response"] as? String == "Echo: Salut")
            #expect(fake.requests().last?.path == "/client/v4/accounts/acc/ai/run/@cf/meta/llama-3.1-8b-instruct")

            let streamed = try await stream(url, json: #"{"stream":true,"messages":[{"role":"user","content":"Salut"}]}"#)
            let events = sseData(streamed.body)
            #expect(events.last == "[DONE]")
            let text = events.dropLast().compactMap(parseObject).compactMap { $0["response"] as? String }.joined()
            #expect(text == "Echo: Salut")
        }
    }

    @Test func simulatedMarkerPrefixesAnswers() async throws {
        try await withFake(FakeUpstreamConfiguration(simulatedMarker: true)) { fake in
            let response = try await send(fake.openAIBaseURL + "/chat/completions",
                                          json: #"{"model":"m","messages":[{"role":"user","content":"Hi"}]}"#)
            let message = (response.json["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any]
            #expect(message?["content"] as? String == "[simulated] Echo: Hi")
        }
    }
}

@Suite("Fake upstream: token counting endpoints")
struct FakeCountTokensTests {
    @Test func anthropicAndGeminiCountTokens() async throws {
        try await withFake { fake in
            let anthropic = try await send(fake.baseURL + "/v1/messages/count_tokens",
                                           json: #"{"model":"c","messages":[{"role":"user","content":"12345678"}]}"#)
            #expect(anthropic.json["input_tokens"] as? Int == 2)
            let gemini = try await send(fake.baseURL + "/v1beta/models/g:countTokens",
                                        json: #"{"contents":[{"parts":[{"text":"1234"}]}]}"#)
            #expect(gemini.json["totalTokens"] as? Int == 1)
        }
    }
}

@Suite("Fake upstream: pinned stream bytes")
struct FakePinnedStreamTests {
    @Test func anthropicStreamBytes() async throws {
        try await withFake { fake in
            let result = try await stream(fake.baseURL + "/v1/messages",
                                          json: #"{"model":"c","max_tokens":5,"stream":true,"messages":[{"role":"user","content":"Hi"}]}"#,
                                          headers: [("x-fake-chunks", "2")])
            let expected = """
            event: message_start
            data: {"type":"message_start","message":{"id":"msg_fake1","type":"message","role":"assistant","model":"c","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":1,"output_tokens":1,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}}}

            event: content_block_start
            data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

            event: ping
            data: {"type": "ping"}

            event: content_block_delta
            data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Echo"}}

            event: content_block_delta
            data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":": Hi"}}

            event: content_block_stop
            data: {"type":"content_block_stop","index":0}

            event: message_delta
            data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":2}}

            event: message_stop
            data: {"type":"message_stop"}


            """
            #expect(result.body == expected)
        }
    }

    @Test func geminiSSEBytes() async throws {
        try await withFake { fake in
            let result = try await stream(fake.baseURL + "/v1beta/models/g:streamGenerateContent?alt=sse",
                                          json: #"{"contents":[{"role":"user","parts":[{"text":"Hi"}]}]}"#,
                                          headers: [("x-fake-chunks", "2")])
            let tail = #""modelVersion": "g","responseId": "fake-1"}"# + "\r\n\r\n"
            let usage = #""usageMetadata": {"promptTokenCount": 1,"totalTokenCount": 1},"#
            let expected = #"data: {"candidates": [{"content": {"parts": [{"text": "Echo"}],"role": "model"},"index": 0}],"# + usage + tail
                + #"data: {"candidates": [{"content": {"parts": [{"text": ": Hi"}],"role": "model"},"index": 0}],"# + usage + tail
                + #"data: {"candidates": [{"content": {"parts": [{"text": ""}],"role": "model"},"finishReason": "STOP","index": 0}],"#
                + #""usageMetadata": {"promptTokenCount": 1,"candidatesTokenCount": 2,"totalTokenCount": 3},"# + tail
            #expect(Array(result.body.utf8) == Array(expected.utf8))
        }
    }
}
