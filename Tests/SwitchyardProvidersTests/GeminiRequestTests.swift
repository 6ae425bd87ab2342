import SwitchyardCore
import Testing

@testable import SwitchyardProviders

@Suite struct GeminiRequestTests {
    func translate(_ text: String, model: String = "gemini-2.5-flash") throws -> GeminiRequest {
        try GeminiTranslation.request(from: json(text), model: model)
    }

    @Test func pathAndStreaming() throws {
        let plain = try translate(#"{"messages":[{"role":"user","content":"Hi"}]}"#, model: "models/gemini-2.5-flash")
        #expect(plain.model == "gemini-2.5-flash")
        #expect(plain.path == "v1beta/models/gemini-2.5-flash:generateContent")
        #expect(plain.stream == false)
        #expect(plain.body == json(#"{"contents":[{"role":"user","parts":[{"text":"Hi"}]}]}"#))
        let streamed = try translate(#"{"messages":[{"role":"user","content":"Hi"}],"stream":true,"stream_options":{"include_usage":true}}"#)
        #expect(streamed.path == "v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse")
        #expect(streamed.method == "streamGenerateContent")
        #expect(streamed.stream)
    }

    @Test func systemRolesContentAndImages() throws {
        let out = try translate(#"""
        {"messages":[{"role":"system","content":"You are a weather bot."},{"role":"developer","content":"Be brief."},
          {"role":"user","content":[{"type":"text","text":"What is this?"},{"type":"image_url","image_url":{"url":"data:image/jpeg;base64,/9j/4AAQ"}},
            {"type":"image_url","image_url":{"url":"https://generativelanguage.googleapis.com/v1beta/files/abc.png"}},
            {"type":"input_audio","input_audio":{"data":"UklGRg==","format":"wav"}},
            {"type":"file","file":{"file_data":"data:application/pdf;base64,JVBERi0=","filename":"a.pdf"}}]},
          {"role":"assistant","content":"A cat."},{"role":"user","content":"Sure?"}]}
        """#).body
        #expect(out == json(#"""
        {"systemInstruction":{"parts":[{"text":"You are a weather bot."},{"text":"Be brief."}]},
         "contents":[{"role":"user","parts":[{"text":"What is this?"},{"inlineData":{"mimeType":"image/jpeg","data":"/9j/4AAQ"}},
            {"fileData":{"fileUri":"https://generativelanguage.googleapis.com/v1beta/files/abc.png","mimeType":"image/png"}},
            {"inlineData":{"mimeType":"audio/wav","data":"UklGRg=="}},{"inlineData":{"mimeType":"application/pdf","data":"JVBERi0="}}]},
          {"role":"model","parts":[{"text":"A cat."}]},{"role":"user","parts":[{"text":"Sure?"}]}]}
        """#))
    }

    @Test func toolLoopLooksUpFunctionNamesAndRestoresSignatures() throws {
        let out = try translate(#"""
        {"messages":[{"role":"user","content":"Weather?"},
          {"role":"assistant","content":null,"tool_calls":[
            {"id":"call_a","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"},"extra_content":{"google":{"thought_signature":"CiQBsig"}}},
            {"id":"call_b","type":"function","function":{"name":"get_time","arguments":"","thought_signature":"portkeySig"}}]},
          {"role":"tool","tool_call_id":"call_b","content":"12:00"},
          {"role":"tool","tool_call_id":"call_a","content":"{\"temp_c\":18}"}],
         "tools":[{"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"additionalProperties":false}}},
                  {"type":"function","function":{"name":"get_time"}}]}
        """#).body
        #expect(out["contents"] == json(#"""
        [{"role":"user","parts":[{"text":"Weather?"}]},
         {"role":"model","parts":[{"functionCall":{"name":"get_weather","args":{"city":"Paris"}},"thoughtSignature":"CiQBsig"},
                                  {"functionCall":{"name":"get_time","args":{}},"thoughtSignature":"portkeySig"}]},
         {"role":"user","parts":[{"functionResponse":{"name":"get_time","response":{"content":"12:00"}}},
                                 {"functionResponse":{"name":"get_weather","response":{"content":"{\"temp_c\":18}"}}}]}]
        """#))
        #expect(out["tools"] == json(#"""
        [{"functionDeclarations":[{"name":"get_weather","description":"Weather","parametersJsonSchema":{"type":"object","properties":{"city":{"type":"string"}},"additionalProperties":false}},
                                  {"name":"get_time"}]}]
        """#))
    }

    @Test func responseToolCallIDsRoundTripIntoTheNextRequest() throws {
        let response = GeminiTranslation.response(json(#"""
        {"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"name":"get_weather","args":{"city":"Paris"}},"thoughtSignature":"SIG1"}]},"finishReason":"STOP","index":0}],"responseId":"r1"}
        """#), model: "m", created: 1)
        let message = try #require(response["choices"]?.arrayValue?.first?["message"])
        let call = try #require(message["tool_calls"]?.arrayValue?.first)
        let id = try #require(call["id"]?.stringValue)
        let next = JSONValue.object(["messages": .array([
            json(#"{"role":"user","content":"Weather?"}"#), message,
            .object(["role": .string("tool"), "tool_call_id": .string(id), "content": .string("sunny")]),
        ])])
        let body = try GeminiTranslation.request(from: next, model: "gemini-3-pro").body
        #expect(body["contents"]?.arrayValue?[1] == json(#"{"role":"model","parts":[{"functionCall":{"name":"get_weather","args":{"city":"Paris"}},"thoughtSignature":"SIG1"}]}"#))
        #expect(body["contents"]?.arrayValue?[2] == json(#"{"role":"user","parts":[{"functionResponse":{"name":"get_weather","response":{"content":"sunny"}}}]}"#))
    }

    @Test func gemini3GetsTheSignatureSentinelOnlyWhenTheSignatureIsLost() throws {
        let body = #"""
        {"messages":[{"role":"user","content":"x"},
          {"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}},
                                            {"id":"c2","type":"function","function":{"name":"g","arguments":"{}"}}]},
          {"role":"tool","tool_call_id":"c1","content":"1"},{"role":"tool","tool_call_id":"c2","content":"2"},
          {"role":"assistant","tool_calls":[{"id":"c3","type":"function","function":{"name":"f","arguments":"{}"},"extra_content":{"google":{"thought_signature":"REAL"}}}]},
          {"role":"tool","tool_call_id":"c3","content":"3"}]}
        """#
        let g3 = try translate(body, model: "gemini-3-pro-preview").body["contents"]?.arrayValue ?? []
        #expect(g3[1] == json(#"{"role":"model","parts":[{"functionCall":{"name":"f","args":{}},"thoughtSignature":"skip_thought_signature_validator"},{"functionCall":{"name":"g","args":{}}}]}"#))
        #expect(g3[3] == json(#"{"role":"model","parts":[{"functionCall":{"name":"f","args":{}},"thoughtSignature":"REAL"}]}"#))
        let g25 = try translate(body, model: "gemini-2.5-flash").body["contents"]?.arrayValue ?? []
        #expect(g25[1] == json(#"{"role":"model","parts":[{"functionCall":{"name":"f","args":{}}},{"functionCall":{"name":"g","args":{}}}]}"#))
    }

    @Test(arguments: [
        (#""auto""#, #"{"functionCallingConfig":{"mode":"AUTO"}}"#),
        (#""none""#, #"{"functionCallingConfig":{"mode":"NONE"}}"#),
        (#""required""#, #"{"functionCallingConfig":{"mode":"ANY"}}"#),
        (#"{"type":"function","function":{"name":"f"}}"#, #"{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["f"]}}"#),
    ])
    func toolChoice(openAI: String, gemini: String) throws {
        let out = try translate(#"{"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":\#(openAI)}"#).body
        #expect(out["toolConfig"] == json(gemini))
    }

    @Test func generationConfig() throws {
        let out = try translate(#"""
        {"messages":[{"role":"user","content":"x"}],"temperature":1.5,"top_p":0.9,"max_completion_tokens":512,"stop":["END","STOP"],
         "n":2,"seed":7,"presence_penalty":0.5,"frequency_penalty":-0.5,"user":"u-1","parallel_tool_calls":false,
         "response_format":{"type":"json_schema","json_schema":{"name":"city","schema":{"type":"object","properties":{"city":{"type":"string"}}}}},
         "reasoning_effort":"low","metadata":{"a":"b"}}
        """#).body
        #expect(out["generationConfig"] == json(#"""
        {"temperature":1.5,"topP":0.9,"maxOutputTokens":512,"stopSequences":["END","STOP"],"candidateCount":2,"seed":7,
         "presencePenalty":0.5,"frequencyPenalty":-0.5,"responseMimeType":"application/json",
         "responseJsonSchema":{"type":"object","properties":{"city":{"type":"string"}}},
         "thinkingConfig":{"thinkingBudget":1024,"includeThoughts":true}}
        """#))
        let jsonMode = try translate(#"{"messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_object"},"max_tokens":10,"reasoning_effort":"none","stop":"X"}"#).body
        #expect(jsonMode["generationConfig"] == json(#"{"responseMimeType":"application/json","maxOutputTokens":10,"thinkingConfig":{"thinkingBudget":0},"stopSequences":["X"]}"#))
    }

    @Test(arguments: [
        (#""logprobs":true"#, "logprobs"),
        (#""top_logprobs":2"#, "top_logprobs"),
        (#""stop":["a","b","c","d","e","f"]"#, "stop"),
        (#""reasoning_effort":"max""#, "reasoning_effort"),
        (#""logit_bias":{"1":1}"#, "logit_bias"),
        (#""audio":{"voice":"x"}"#, "audio"),
        (#""temperature":3"#, "temperature"),
        (#""top_p":1.5"#, "top_p"),
        (#""seed":"x""#, "seed"),
    ])
    func rejectedParameters(fields: String, param: String) {
        let err = translationError { () throws(TranslationError) in
            _ = try GeminiTranslation.request(from: json(#"{"messages":[{"role":"user","content":"x"}],\#(fields)}"#), model: "m")
        }
        #expect(err?.status == 400)
        #expect(err?.param == param, "\(fields) → \(String(describing: err))")
    }

    @Test func rejectedContent() {
        let cases: [(String, String)] = [
            (#"{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://example.com/cat.png"}}]}]}"#, "messages[0].content[0].image_url"),
            (#"{"messages":[{"role":"tool","tool_call_id":"call_missing","content":"x"}]}"#, "messages[0].tool_call_id"),
            (#"{"messages":[{"role":"user","content":[{"type":"file","file":{"file_id":"file-abc"}}]}]}"#, "messages[0].content[0].file.file_id"),
        ]
        for (body, param) in cases {
            let err = translationError { () throws(TranslationError) in _ = try GeminiTranslation.request(from: json(body), model: "m") }
            #expect(err?.param == param, "\(body) → \(String(describing: err))")
        }
    }

    @Test func embeddingsRequests() throws {
        let one = try GeminiTranslation.embeddingsRequest(from: json(#"{"model":"x","input":"hello","dimensions":768,"encoding_format":"float"}"#), model: "gemini-embedding-001")
        #expect(one.method == "embedContent")
        #expect(one.path == "v1beta/models/gemini-embedding-001:embedContent")
        #expect(one.body == json(#"{"content":{"parts":[{"text":"hello"}]},"outputDimensionality":768}"#))
        let batch = try GeminiTranslation.embeddingsRequest(from: json(#"{"input":["a","b"]}"#), model: "gemini-embedding-001")
        #expect(batch.method == "batchEmbedContents")
        #expect(batch.body == json(#"{"requests":[{"model":"models/gemini-embedding-001","content":{"parts":[{"text":"a"}]}},{"model":"models/gemini-embedding-001","content":{"parts":[{"text":"b"}]}}]}"#))
        let err = translationError { () throws(TranslationError) in
            _ = try GeminiTranslation.embeddingsRequest(from: json(#"{"input":[[1,2,3]]}"#), model: "m")
        }
        #expect(err?.param == "input[0]")
    }

    @Test func embeddingsResponses() throws {
        let single = GeminiTranslation.embeddingsResponse(json(#"{"embedding":{"values":[0.5,-0.25]}}"#), model: "gemini-embedding-001")
        #expect(single == json(#"{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.5,-0.25]}],"model":"gemini-embedding-001","usage":{"prompt_tokens":0,"total_tokens":0}}"#))
        let batch = GeminiTranslation.embeddingsResponse(json(#"{"embeddings":[{"values":[1]},{"values":[0.5,-2]}]}"#), model: "e", encodingFormat: "base64")
        // float32 little-endian: 1.0 = 00 00 80 3F; 0.5 = 00 00 00 3F; -2 = 00 00 00 C0
        #expect(batch["data"]?.arrayValue?[0]["embedding"] == .string("AACAPw=="))
        #expect(batch["data"]?.arrayValue?[1]["embedding"] == .string("AAAAPwAAAMA="))
        #expect(batch["data"]?.arrayValue?[1]["index"] == .number(1))
    }
}

/// Out-of-range numbers in upstream bodies are read as absent, never converted with a trap.
@Suite struct HugeNumberTests {
    @Test func usageWithNumbersBeyondIntIsReadAsZero() throws {
        let usage = try #require(UsageParser.usage(fromUsageObject: try JSONValue.parse(#"{"prompt_tokens":1e20,"completion_tokens":7}"#)))
        #expect(usage.promptTokens == 0)
        #expect(usage.completionTokens == 7)
    }
}

@Suite struct OpenAIStreamUsageTests {
    @Test func onlyChunksWithAUsageObjectAreDecoded() {
        #expect(OpenAIStreamTranslator.carriesUsageObject(#"{"choices":[],"usage":{"prompt_tokens":1}}"#))
        #expect(OpenAIStreamTranslator.carriesUsageObject(#"{"choices":[],"usage" : {"prompt_tokens":1}}"#))
        #expect(OpenAIStreamTranslator.carriesUsageObject(#"{"x_groq":{"usage":{"prompt_tokens":1}}}"#))
        #expect(!OpenAIStreamTranslator.carriesUsageObject(#"{"choices":[{"delta":{"content":"hi"}}],"usage":null}"#))
        #expect(!OpenAIStreamTranslator.carriesUsageObject(#"{"choices":[{"delta":{"content":"the \"usage\" of words"}}]}"#))
    }

    @Test func usageIsRecordedAndTheUsageChunkStrippedWhenNotAskedFor() {
        var translator = OpenAIStreamTranslator(stripUsageChunk: true)
        #expect(translator.translate(SSEEvent(event: nil, data: #"{"choices":[{"delta":{"content":"hi"}}],"usage":null}"#)).count == 1)
        #expect(translator.translate(SSEEvent(event: nil, data: #"{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}"#)).isEmpty)
        #expect(translator.usage?.promptTokens == 3 && translator.usage?.completionTokens == 4)
    }
}
