import SwitchyardCore
import Testing

@testable import SwitchyardProviders

@Suite struct StreamTranslatorTests {
    /// Splits `text` into fragments of 1...7 characters with a seeded generator.
    static func fragments(_ text: String, seed: UInt64) -> [String] {
        var state = seed
        var out: [String] = []
        var rest = Substring(text)
        while !rest.isEmpty {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let n = Int((state >> 33) % 7) + 1
            out.append(String(rest.prefix(n)))
            rest = rest.dropFirst(n)
        }
        return out
    }

    static func assembleToolCalls(_ payloads: [String]) throws -> [Int: (id: String, name: String, arguments: String)] {
        var calls: [Int: (id: String, name: String, arguments: String)] = [:]
        for p in payloads where p != "[DONE]" {
            for choice in try JSONValue.parse(p)["choices"]?.arrayValue ?? [] {
                for c in choice["delta"]?["tool_calls"]?.arrayValue ?? [] {
                    let i = Int(c["index"]?.numberValue ?? -1)
                    var entry = calls[i] ?? ("", "", "")
                    if let id = c["id"]?.stringValue {
                        #expect(entry.id.isEmpty, "the id arrives on the first delta only")
                        entry.id = id
                    }
                    if let name = c["function"]?["name"]?.stringValue { entry.name += name }
                    entry.arguments += c["function"]?["arguments"]?.stringValue ?? ""
                    calls[i] = entry
                }
            }
        }
        return calls
    }

    @Test(arguments: [UInt64(1), 2, 3, 42])
    func anthropicFragmentedArgumentsAssembleToTheOriginalJSON(seed: UInt64) throws {
        let originals = [
            #"{"city": "Paris", "unit": "celsius", "days": [1, 2, 3], "opts": {"a": null, "b": true, "q": "say \"hi\"\n"}}"#,
            #"{"query": "naïve café ☕", "limit": 10}"#,
        ]
        var t = AnthropicStreamTranslator(model: "m", includeUsage: false, created: 1, id: "chatcmpl-x")
        var out = t.translate(event: "message_start", data: #"{"type":"message_start","message":{"id":"msg_1","usage":{"input_tokens":5,"output_tokens":1}}}"#)
        for (b, original) in originals.enumerated() {
            out += t.translate(event: nil, data: #"{"type":"content_block_start","index":\#(b),"content_block":{"type":"tool_use","id":"toolu_\#(b)","name":"fn\#(b)","input":{}}}"#)
            for f in Self.fragments(original, seed: seed &+ UInt64(b)) {
                let delta = TranslationJSON.encode(.object(["type": .string("input_json_delta"), "partial_json": .string(f)]))
                out += t.translate(event: nil, data: #"{"type":"content_block_delta","index":\#(b),"delta":\#(delta)}"#)
            }
            out += t.translate(event: nil, data: #"{"type":"content_block_stop","index":\#(b)}"#)
        }
        out += t.translate(event: nil, data: #"{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":30}}"#)
        out += t.translate(event: nil, data: #"{"type":"message_stop"}"#)
        #expect(out.last == "[DONE]")
        let calls = try Self.assembleToolCalls(out)
        #expect(calls.count == 2)
        for (i, original) in originals.enumerated() {
            #expect(calls[i]?.id == "toolu_\(i)")
            #expect(calls[i]?.name == "fn\(i)")
            #expect(try JSONValue.parse(calls[i]?.arguments ?? "") == JSONValue.parse(original))
        }
        #expect(t.usage == Usage(promptTokens: 5, completionTokens: 30))
        #expect(out.contains { $0.contains(#""finish_reason":"tool_calls""#) })
    }

    @Test func geminiFunctionCallsAssembleAndIDsAreStable() throws {
        let data = #"{"candidates":[{"content":{"parts":[{"functionCall":{"name":"a","args":{"x":[1,{"y":"z"}]}}},{"functionCall":{"name":"b","args":{}}}],"role":"model"},"finishReason":"STOP","index":0}],"responseId":"resp-1"}"#
        func run() -> [String] {
            var t = GeminiStreamTranslator(model: "m", includeUsage: false, created: 1, id: nil)
            return t.translate(event: nil, data: data) + t.finish()
        }
        let first = run()
        #expect(first == run())
        let calls = try Self.assembleToolCalls(first)
        #expect(calls[0]?.name == "a" && calls[1]?.name == "b")
        #expect(try JSONValue.parse(calls[0]?.arguments ?? "") == json(#"{"x":[1,{"y":"z"}]}"#))
        #expect(calls[0]?.id != calls[1]?.id)
        #expect(calls[0]?.id.hasPrefix("call_") == true && calls[0]?.id.count == 21)
        // The non-stream translation of the same body mints the same ids.
        let body = GeminiTranslation.response(json(data), model: "m", created: 1)
        #expect(body["choices"]?.arrayValue?[0]["message"]?["tool_calls"]?.arrayValue?[0]["id"]?.stringValue == calls[0]?.id)
    }

    @Test func usageOnlyWhenRequested() {
        let events = [
            #"{"type":"message_start","message":{"id":"msg_1","usage":{"input_tokens":5,"output_tokens":1}}}"#,
            #"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":2}}"#,
            #"{"type":"message_stop"}"#,
        ]
        for include in [false, true] {
            var t = AnthropicStreamTranslator(model: "m", includeUsage: include, created: 1, id: nil)
            let out = events.flatMap { t.translate(event: nil, data: $0) }
            #expect(out.contains { $0.contains(#""choices":[]"#) } == include)
            #expect(out.allSatisfy { !$0.contains(#""usage":null"#) } == !include)
            #expect(out.last == "[DONE]")
            #expect(t.translate(event: nil, data: events[0]).isEmpty, "nothing after the end")
        }
    }

    @Test func streamOptionsAndFixedIDs() {
        #expect(OpenAIChat.streamOptions(json(#"{"stream":true,"stream_options":{"include_usage":true}}"#)) == (true, true))
        #expect(OpenAIChat.streamOptions(json(#"{"messages":[]}"#)) == (false, false))
        var t = AnthropicStreamTranslator(model: "m", includeUsage: false, created: 5, id: "chatcmpl-gw")
        let out = t.translate(event: "message_start", data: #"{"type":"message_start","message":{"id":"msg_9","usage":{"input_tokens":1,"output_tokens":0}}}"#)
        #expect(out == [#"{"id":"chatcmpl-gw","object":"chat.completion.chunk","created":5,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}"#])
    }

    @Test func malformedDataEndsWithAnError() throws {
        var t = GeminiStreamTranslator(model: "m", includeUsage: true, created: 1, id: "x")
        let out = t.translate(event: nil, data: "{not json")
        #expect(out.count == 1)
        #expect(try JSONValue.parse(out[0])["error"]?["type"] == .string("api_error"))
        #expect(t.finish().isEmpty)
        #expect(t.isFinished)
    }

    @Test func sseDecoderHandlesEveryLineEndingAndSplit() {
        let text = "event: a\r\ndata: 1\r\n\r\n: comment\ndata:2\ndata: 3\n\nevent: c\rdata: 4\r\r"
        let expected = [SSEEvent(event: "a", data: "1"), SSEEvent(event: nil, data: "2\n3"), SSEEvent(event: "c", data: "4")]
        let bytes = Array(text.utf8)
        for split in 0...bytes.count {
            var d = SSEEventDecoder()
            let events = d.feed(bytes[..<split]) + d.feed(bytes[split...]) + d.finish()
            #expect(events == expected, "split at \(split)")
        }
        var d = SSEEventDecoder()
        #expect(d.feed(Array("data: tail".utf8)).isEmpty)
        #expect(d.finish() == [SSEEvent(event: nil, data: "tail")])
    }
}

@Suite struct WorkersAIRequestTests {
    @Test func nativeBody() throws {
        let out = try WorkersAITranslation.request(from: json(#"""
        {"messages":[{"role":"developer","content":"Be brief."},{"role":"user","content":[{"type":"text","text":"Hi"}]},
          {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},
          {"role":"tool","tool_call_id":"c1","content":"ok"}],
         "max_tokens":256,"temperature":0.5,"top_p":0.9,"seed":3,"stream":true,"user":"u",
         "tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],"tool_choice":"auto",
         "response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object"}}}}
        """#), model: "@cf/meta/llama-3.1-8b-instruct")
        #expect(out == json(#"""
        {"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"},
          {"role":"assistant","content":"","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},
          {"role":"tool","content":"ok","tool_call_id":"c1"}],
         "max_tokens":256,"temperature":0.5,"top_p":0.9,"seed":3,"stream":true,
         "tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],
         "response_format":{"type":"json_schema","json_schema":{"type":"object"}}}
        """#))
        #expect(WorkersAITranslation.path(model: "@cf/meta/llama-3.1-8b-instruct") == "ai/run/@cf/meta/llama-3.1-8b-instruct")
    }

    @Test(arguments: [
        (#""n":2"#, "n"), (#""stop":"x""#, "stop"), (#""tool_choice":"required""#, "tool_choice"),
        (#""reasoning_effort":"low""#, "reasoning_effort"), (#""logprobs":true"#, "logprobs"),
    ])
    func rejectedParameters(fields: String, param: String) {
        let err = translationError { () throws(TranslationError) in
            _ = try WorkersAITranslation.request(from: json(#"{"messages":[{"role":"user","content":"x"}],\#(fields)}"#), model: "m")
        }
        #expect(err?.param == param)
    }

    @Test func imagesAreRejected() {
        let err = translationError { () throws(TranslationError) in
            _ = try WorkersAITranslation.request(from: json(#"{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,AA=="}}]}]}"#), model: "m")
        }
        #expect(err?.param == "messages[0].content[0].image_url")
    }
}
