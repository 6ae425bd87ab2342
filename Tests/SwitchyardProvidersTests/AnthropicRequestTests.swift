import SwitchyardCore
import Testing

@testable import SwitchyardProviders

func json(_ text: String) -> JSONValue {
    do { return try JSONValue.parse(text) } catch { fatalError("bad test JSON: \(text)") }
}

/// Runs `body` expecting a TranslationError and returns it.
func translationError(_ body: () throws(TranslationError) -> Void) -> TranslationError? {
    do { try body() } catch { return error }
    return nil
}

@Suite struct AnthropicRequestTests {
    func translate(_ text: String) throws -> JSONValue {
        try AnthropicTranslation.request(from: json(text), model: "claude-sonnet-4-5")
    }

    @Test func minimalRequestGetsDefaultMaxTokens() throws {
        let out = try translate(#"{"model":"anthropic/claude-sonnet-4-5","messages":[{"role":"user","content":"Hi"}]}"#)
        #expect(out == json(#"{"model":"claude-sonnet-4-5","max_tokens":4096,"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]}"#))
    }

    @Test func systemAndDeveloperBecomeTopLevelSystem() throws {
        let out = try translate(#"""
        {"messages":[{"role":"system","content":"You are terse."},{"role":"developer","content":[{"type":"text","text":"Cite sources.","cache_control":{"type":"ephemeral"}}]},
          {"role":"user","content":"Hi"}]}
        """#)
        #expect(out["system"] == json(#"[{"type":"text","text":"You are terse."},{"type":"text","text":"Cite sources.","cache_control":{"type":"ephemeral"}}]"#))
        #expect(out["messages"]?.arrayValue?.count == 1)
    }

    @Test func multiPartContentWithImages() throws {
        let out = try translate(#"""
        {"messages":[{"role":"user","content":[{"type":"text","text":"What is this?"},
          {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}},
          {"type":"image_url","image_url":{"url":"https://example.com/cat.png","detail":"high"}},
          {"type":"image_url","image_url":{"url":"data:application/pdf;base64,JVBERi0="}},
          {"type":"file","file":{"file_data":"data:application/pdf;base64,JVBERi0x","filename":"a.pdf"}}]}]}
        """#)
        #expect(out["messages"] == json(#"""
        [{"role":"user","content":[{"type":"text","text":"What is this?"},
          {"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}},
          {"type":"image","source":{"type":"url","url":"https://example.com/cat.png"}},
          {"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0="}},
          {"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0x"}}]}]
        """#))
    }

    @Test func toolLoopWithMergedToolResults() throws {
        let out = try translate(#"""
        {"messages":[{"role":"user","content":"Weather in Paris and Tokyo?"},
          {"role":"assistant","content":"Let me check.","tool_calls":[
            {"id":"toolu_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
            {"id":"toolu_2","type":"function","function":{"name":"get_weather","arguments":""}}]},
          {"role":"tool","tool_call_id":"toolu_1","content":"{\"temp_c\":18}"},
          {"role":"tool","tool_call_id":"toolu_2","content":[{"type":"text","text":"22C"}]},
          {"role":"user","content":"Thanks, and?"}],
         "tools":[{"type":"function","function":{"name":"get_weather","description":"Current weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]},"strict":true}}],
         "tool_choice":"auto"}
        """#)
        #expect(out["messages"] == json(#"""
        [{"role":"user","content":[{"type":"text","text":"Weather in Paris and Tokyo?"}]},
         {"role":"assistant","content":[{"type":"text","text":"Let me check."},
           {"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}},
           {"type":"tool_use","id":"toolu_2","name":"get_weather","input":{}}]},
         {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"{\"temp_c\":18}"},
           {"type":"tool_result","tool_use_id":"toolu_2","content":[{"type":"text","text":"22C"}]},
           {"type":"text","text":"Thanks, and?"}]}]
        """#))
        #expect(out["tools"] == json(#"[{"name":"get_weather","description":"Current weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}]"#))
        #expect(out["tool_choice"] == json(#"{"type":"auto"}"#))
    }

    @Test(arguments: [
        (#""auto""#, #"{"type":"auto"}"#),
        (#""none""#, #"{"type":"none"}"#),
        (#""required""#, #"{"type":"any"}"#),
        (#"{"type":"function","function":{"name":"get_weather"}}"#, #"{"type":"tool","name":"get_weather"}"#),
    ])
    func toolChoice(openAI: String, anthropic: String) throws {
        let out = try translate(#"{"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"get_weather"}}],"tool_choice":\#(openAI)}"#)
        #expect(out["tool_choice"] == json(anthropic))
        #expect(out["tools"] == json(#"[{"name":"get_weather","input_schema":{"type":"object","properties":{}}}]"#))
    }

    @Test func parallelToolCallsFalseDisablesParallelUse() throws {
        let out = try translate(#"{"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f"}}],"parallel_tool_calls":false}"#)
        #expect(out["tool_choice"] == json(#"{"type":"auto","disable_parallel_tool_use":true}"#))
    }

    @Test func consecutiveSameRoleMessagesMerge() throws {
        let out = try translate(#"{"messages":[{"role":"user","content":"a"},{"role":"user","content":"b"},{"role":"assistant","content":"c"},{"role":"assistant","content":"d "}]}"#)
        #expect(out["messages"] == json(#"[{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},{"role":"assistant","content":[{"type":"text","text":"c"},{"type":"text","text":"d"}]}]"#))
    }

    @Test func samplingAndLimits() throws {
        let out = try translate(#"""
        {"messages":[{"role":"user","content":"x"}],"temperature":0.2,"top_p":0.9,"max_tokens":100,"max_completion_tokens":512,
         "stop":["\n\nEND","STOP"],"seed":7,"user":"user-123","n":1,"stream":true,"stream_options":{"include_usage":true},
         "metadata":{"k":"v"},"store":false,"presence_penalty":0,"service_tier":"auto"}
        """#)
        #expect(out == json(#"""
        {"model":"claude-sonnet-4-5","max_tokens":512,"temperature":0.2,"top_p":0.9,"stop_sequences":["\n\nEND","STOP"],
         "metadata":{"user_id":"user-123"},"stream":true,"messages":[{"role":"user","content":[{"type":"text","text":"x"}]}]}
        """#))
        let single = try translate(#"{"messages":[{"role":"user","content":"x"}],"stop":"END","max_tokens":64}"#)
        #expect(single["stop_sequences"] == json(#"["END"]"#))
        #expect(single["max_tokens"] == .number(64))
    }

    @Test func responseFormats() throws {
        let schema = try translate(#"{"messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"name":"p","schema":{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false},"strict":true}}}"#)
        #expect(schema["output_config"] == json(#"{"format":{"type":"json_schema","schema":{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false}}}"#))
        let object = try translate(#"{"messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_object"}}"#)
        #expect(object["tools"] == json(#"[{"name":"json_tool_call","description":"Respond with a JSON object.","input_schema":{"type":"object"}}]"#))
        #expect(object["tool_choice"] == json(#"{"type":"tool","name":"json_tool_call"}"#))
        let text = try translate(#"{"messages":[{"role":"user","content":"x"}],"response_format":{"type":"text"}}"#)
        #expect(text["output_config"] == nil && text["tools"] == nil)
    }

    @Test func reasoningEffortBecomesThinkingBudget() throws {
        let out = try translate(#"{"messages":[{"role":"user","content":"x"}],"reasoning_effort":"medium"}"#)
        #expect(out["thinking"] == json(#"{"type":"enabled","budget_tokens":2048}"#))
        #expect(out["max_tokens"] == .number(2048 + 4096))
        let capped = try translate(#"{"messages":[{"role":"user","content":"x"}],"reasoning_effort":"high","max_completion_tokens":3000}"#)
        #expect(capped["thinking"] == json(#"{"type":"enabled","budget_tokens":2999}"#))
        let none = try translate(#"{"messages":[{"role":"user","content":"x"}],"reasoning_effort":"none"}"#)
        #expect(none["thinking"] == nil)
    }

    @Test func thinkingBlocksAreEchoedFirst() throws {
        let out = try translate(#"""
        {"messages":[{"role":"user","content":"x"},{"role":"assistant","content":null,
          "thinking_blocks":[{"type":"thinking","thinking":"hmm","signature":"sig"}],
          "tool_calls":[{"id":"toolu_1","type":"function","function":{"name":"f","arguments":"{}"}}]},
          {"role":"tool","tool_call_id":"toolu_1","content":"ok"}]}
        """#)
        #expect(out["messages"]?.arrayValue?[1] == json(#"{"role":"assistant","content":[{"type":"thinking","thinking":"hmm","signature":"sig"},{"type":"tool_use","id":"toolu_1","name":"f","input":{}}]}"#))
    }

    @Test(arguments: [
        (#""n":2"#, "n"),
        (#""temperature":1.5"#, "temperature"),
        (#""temperature":2.5"#, "temperature"),
        (#""presence_penalty":0.5"#, "presence_penalty"),
        (#""frequency_penalty":-1"#, "frequency_penalty"),
        (#""logprobs":true"#, "logprobs"),
        (#""top_logprobs":3"#, "top_logprobs"),
        (#""logit_bias":{"50256":-100}"#, "logit_bias"),
        (#""stop":["\n"]"#, "stop"),
        (#""reasoning_effort":"ultra""#, "reasoning_effort"),
        (#""reasoning_effort":"low","temperature":0.5"#, "temperature"),
        (#""reasoning_effort":"low","max_tokens":500"#, "max_tokens"),
        (#""audio":{"voice":"alloy","format":"wav"}"#, "audio"),
        (#""modalities":["text","audio"]"#, "modalities"),
        (#""functions":[{"name":"f"}]"#, "functions"),
        (#""web_search_options":{}"#, "web_search_options"),
        (#""max_tokens":0"#, "max_tokens"),
        (#""tool_choice":{"type":"allowed_tools"}"#, "tool_choice"),
        (#""tools":[{"type":"custom","custom":{"name":"x"}}]"#, "tools[0].type"),
        (#""tools":[{"type":"function","function":{"name":"f"}},{"type":"function","function":{"name":"json_tool_call"}}]"#, "tools[1].function.name"),
        (#""response_format":{"type":"json_object"},"tools":[{"type":"function","function":{"name":"f"}}]"#, "response_format"),
    ])
    func rejectedParameters(fields: String, param: String) throws {
        let err = translationError { () throws(TranslationError) in
            _ = try AnthropicTranslation.request(from: json(#"{"messages":[{"role":"user","content":"x"}],\#(fields)}"#), model: "m")
        }
        #expect(err?.status == 400)
        #expect(err?.param == param, "\(fields) → \(String(describing: err))")
        #expect(err?.message.isEmpty == false)
    }

    @Test func rejectedContent() {
        let cases: [(String, String)] = [
            (#"{"messages":"hi"}"#, "messages"),
            (#"{"messages":[]}"#, "messages"),
            (#"{"messages":[{"role":"wizard","content":"x"}]}"#, "messages[0].role"),
            (#"{"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AAA=","format":"wav"}}]}]}"#, "messages[0].content[0].input_audio"),
            (#"{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"ftp://x/y.png"}}]}]}"#, "messages[0].content[0].image_url"),
            (#"{"messages":[{"role":"user","content":[{"type":"file","file":{"file_id":"file-abc"}}]}]}"#, "messages[0].content[0].file.file_id"),
            (#"{"messages":[{"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{not json"}}]}]}"#, "messages[0].tool_calls[0].function.arguments"),
            (#"{"messages":[{"role":"tool","content":"x"}]}"#, "messages[0].tool_call_id"),
        ]
        for (body, param) in cases {
            let err = translationError { () throws(TranslationError) in _ = try AnthropicTranslation.request(from: json(body), model: "m") }
            #expect(err?.param == param, "\(body) → \(String(describing: err))")
            #expect(err?.openAIBody["error"]?["type"] == .string("invalid_request_error"))
        }
    }

    @Test func translationErrorBodyNamesParameterAndProvider() {
        let err = translationError { () throws(TranslationError) in
            _ = try AnthropicTranslation.request(from: json(#"{"messages":[{"role":"user","content":"x"}],"n":3}"#), model: "m")
        }
        #expect(err?.message.contains("anthropic") == true)
        #expect(err?.message.contains("'n'") == true)
        #expect(err?.openAIBody == json(#"{"error":{"message":"Unsupported value for 'n' with provider 'anthropic': only n=1 is supported.","type":"invalid_request_error","param":"n","code":"unsupported_value"}}"#))
    }
}
