import Foundation
public import SwitchyardCore

/// OpenAI chat completions ⇄ Workers AI native `/ai/run/@cf/...` (the Cloudflare envelope), without I/O.
/// Prefer Workers AI's OpenAI-compatible `/ai/v1/chat/completions`, which needs no translation.
public enum WorkersAITranslation {
    public static let provider = "workers-ai"

    public static func request(from openAI: JSONValue, model: String) throws(TranslationError) -> JSONValue {
        let req = try OpenAIChatRequest(openAI)
        try req.rejectUniversallyUnsupported(provider: provider)
        if let n = req.n, n > 1 { throw .unsupportedValue("n", provider: provider, "only n=1 is supported") }
        if !req.stop.isEmpty { throw .unsupported("stop", provider: provider) }
        if req.logprobs { throw .unsupported("logprobs", provider: provider) }
        if let t = req.topLogprobs, t > 0 { throw .unsupported("top_logprobs", provider: provider) }
        if req.reasoningEffort != nil { throw .unsupported("reasoning_effort", provider: provider) }
        switch req.toolChoice {
        case nil, .auto?: break
        default: throw .unsupportedValue("tool_choice", provider: provider, "only \"auto\" is supported")
        }

        var out: [String: JSONValue] = [:]
        var messages: [JSONValue] = []
        for m in req.messages {
            for p in m.parts {
                switch p {
                case .text, .refusal: continue
                case .image(_, let param), .audio(_, _, let param), .file(_, _, _, let param):
                    throw .unsupported(param, provider: provider, "the native endpoint takes text only")
                }
            }
            var o: [String: JSONValue] = ["content": .string(m.text)]
            switch m.role {
            case .system, .developer: o["role"] = .string("system")
            case .user: o["role"] = .string("user")
            case .assistant:
                o["role"] = .string("assistant")
                if !m.toolCalls.isEmpty {
                    o["tool_calls"] = .array(m.toolCalls.map { c in
                        OpenAIChat.toolCall(id: c.id, name: c.name, arguments: c.arguments)
                    })
                }
            case .tool:
                o["role"] = .string("tool")
                o["tool_call_id"] = .string(m.toolCallID ?? "")
            }
            messages.append(.object(o))
        }
        out["messages"] = .array(messages)
        if !req.tools.isEmpty {
            out["tools"] = .array(req.tools.map { t in
                var fn: [String: JSONValue] = ["name": .string(t.name)]
                if let d = t.description { fn["description"] = .string(d) }
                if let p = t.parameters { fn["parameters"] = p }
                return .object(["type": .string("function"), "function": .object(fn)])
            })
        }
        if let v = req.maxTokens { out["max_tokens"] = .number(Double(v)) }
        if let v = req.temperature { out["temperature"] = .number(v) }
        if let v = req.topP { out["top_p"] = .number(v) }
        if let v = req.seed { out["seed"] = .number(Double(v)) }
        if let v = req.presencePenalty { out["presence_penalty"] = .number(v) }
        if let v = req.frequencyPenalty { out["frequency_penalty"] = .number(v) }
        switch req.responseFormat {
        case .text: break
        case .jsonObject: out["response_format"] = .object(["type": .string("json_object")])
        case .jsonSchema(_, let schema, _):
            out["response_format"] = .object(["type": .string("json_schema"), "json_schema": schema])
        }
        if req.stream { out["stream"] = .bool(true) }
        return .object(out)
    }

    /// `/ai/run` path for a model: `ai/run/@cf/meta/llama-3.1-8b-instruct` (below `accounts/{id}/`).
    public static func path(model: String) -> String { "ai/run/" + model }

    public static func response(_ body: JSONValue, model: String, created: Int, id: String? = nil) -> JSONValue {
        let result = body["result"]
        let content: String?
        switch result?["response"] {
        case .string(let s)?: content = s
        case nil, .null?: content = nil
        case let other?: content = TranslationJSON.encodeSorted(other)  // JSON mode returns an object
        }
        let responseID = id ?? ("chatcmpl-" + TranslationSupport.hex(TranslationSupport.fnv1a(body.canonicalJSON)))
        let calls = (result?["tool_calls"]?.arrayValue ?? []).enumerated().map { (i, c) in
            toolCall(c, responseID: responseID, index: i)
        }
        return OpenAIChat.completion(
            id: responseID, created: created, model: model,
            choices: [OpenAIChat.choice(index: 0, message: OpenAIChat.message(content: content, toolCalls: calls),
                                        finishReason: calls.isEmpty ? "stop" : "tool_calls")],
            usage: OpenAIChat.usageJSON(usage(body)))
    }

    /// Native tool calls come as `{name, arguments}` (arguments an object) or in OpenAI shape.
    static func toolCall(_ c: JSONValue, responseID: String, index: Int) -> JSONValue {
        let name = c["function"]?["name"]?.stringValue ?? c["name"]?.stringValue ?? ""
        let rawArgs = c["function"]?["arguments"] ?? c["arguments"] ?? .object([:])
        let args = rawArgs.stringValue ?? TranslationJSON.encodeSorted(rawArgs)
        let id = c["id"]?.stringValue
            ?? "call_" + TranslationSupport.hex(TranslationSupport.fnv1a("\(responseID)\u{1F}\(index)\u{1F}\(name)\u{1F}\(args)"))
        return OpenAIChat.toolCall(id: id, name: name, arguments: args)
    }

    /// Usage from the envelope (`result.usage`) or a stream event (`usage`); zero when absent.
    public static func usage(_ body: JSONValue) -> Usage {
        let u = body["result"]?["usage"] ?? body["usage"]
        return Usage(promptTokens: TranslationSupport.tokens(u?["prompt_tokens"]),
                     completionTokens: TranslationSupport.tokens(u?["completion_tokens"]),
                     cachedPromptTokens: TranslationSupport.tokens(u?["prompt_tokens_details"]?["cached_tokens"]),
                     reasoningTokens: TranslationSupport.tokens(u?["completion_tokens_details"]?["reasoning_tokens"]))
    }

    /// `{"success":false,"errors":[{"code":7003,"message":"…"}]}` → OpenAI error, status kept,
    /// `code` = the Cloudflare error code as a string.
    public static func error(status: Int, body: JSONValue?) -> (status: Int, body: JSONValue) {
        let first = body?["errors"]?.arrayValue?.first
        let message = first?["message"]?.stringValue ?? body?["error"]?.stringValue ?? "Workers AI returned HTTP \(status)."
        let code: JSONValue = first?["code"]?.intValue.map { .string(String($0)) } ?? .null
        return (status, OpenAIChat.errorBody(message: message, type: OpenAIChat.errorType(status: status), code: code))
    }
}
