import Foundation
public import SwitchyardCore

/// OpenAI chat completions ⇄ Anthropic Messages, without I/O.
///
/// Decisions (see docs/translation.md): `max_tokens` defaults to ``defaultMaxTokens``;
/// `temperature` above 1 is rejected (not clamped); `response_format: json_object` is served by a forced
/// `json_tool_call` tool whose input is unwrapped back into `content`; `json_schema` uses native
/// `output_config.format`; usage counts `prompt_tokens = input + cache_creation + cache_read`.
public enum AnthropicTranslation {
    public static let provider = "anthropic"
    public static let defaultMaxTokens = 4096
    /// The tool that carries `response_format: json_object` output (LiteLLM's name for the same trick).
    public static let jsonToolName = "json_tool_call"
    /// `reasoning_effort` → `thinking.budget_tokens` (LiteLLM's defaults; Anthropic's minimum is 1024).
    public static let thinkingBudgets: [String: Int] = ["minimal": 1024, "low": 1024, "medium": 2048, "high": 4096]

    // MARK: Request

    public static func request(from openAI: JSONValue, model: String) throws(TranslationError) -> JSONValue {
        let req = try OpenAIChatRequest(openAI)
        try req.rejectUniversallyUnsupported(provider: provider)
        var out: [String: JSONValue] = ["model": .string(model)]

        if let n = req.n, n > 1 { throw .unsupportedValue("n", provider: provider, "only n=1 is supported") }
        if let t = req.temperature {
            if t > 1 { throw .unsupportedValue("temperature", provider: provider, "the range is 0 to 1; got \(OpenAIChatRequest.fmt(t))") }
            out["temperature"] = .number(t)
        }
        if let p = req.topP { out["top_p"] = .number(p) }
        if let p = req.presencePenalty, p != 0 { throw .unsupported("presence_penalty", provider: provider) }
        if let p = req.frequencyPenalty, p != 0 { throw .unsupported("frequency_penalty", provider: provider) }
        if req.logprobs { throw .unsupported("logprobs", provider: provider) }
        if let t = req.topLogprobs, t > 0 { throw .unsupported("top_logprobs", provider: provider) }
        if !req.stop.isEmpty {
            if let bad = req.stop.firstIndex(where: { $0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }) {
                throw .unsupportedValue("stop", provider: provider, "stop sequence \(bad) is whitespace only, which Anthropic rejects")
            }
            out["stop_sequences"] = .array(req.stop.map(JSONValue.string))
        }
        if let u = req.user, !u.isEmpty { out["metadata"] = .object(["user_id": .string(u)]) }
        if req.stream { out["stream"] = .bool(true) }

        // Thinking: OpenAI's max_completion_tokens includes reasoning, like Anthropic's max_tokens.
        var maxTokens = req.maxTokens
        if let effort = req.reasoningEffort, effort != "none" {
            guard let budget = thinkingBudgets[effort] else {
                throw .unsupportedValue("reasoning_effort", provider: provider, "expected none, minimal, low, medium or high; got '\(effort)'")
            }
            if let t = req.temperature, t != 1 {
                throw .unsupportedValue("temperature", provider: provider, "extended thinking (reasoning_effort) requires temperature 1 or unset")
            }
            let limit = maxTokens ?? (budget + defaultMaxTokens)
            guard limit > 1024 else {
                throw .unsupportedValue(req.maxTokensParam, provider: provider, "reasoning_effort needs more than 1024 tokens; got \(limit)")
            }
            maxTokens = limit
            out["thinking"] = .object(["type": .string("enabled"), "budget_tokens": .number(Double(min(budget, limit - 1)))])
        }
        out["max_tokens"] = .number(Double(maxTokens ?? defaultMaxTokens))

        // Messages.
        var system: [JSONValue] = []
        var turns: [(role: String, content: [JSONValue])] = []
        func append(_ role: String, _ blocks: [JSONValue]) {
            guard !blocks.isEmpty else { return }
            if let last = turns.last, last.role == role {
                turns[turns.count - 1].content += blocks
            } else {
                turns.append((role, blocks))
            }
        }
        for m in req.messages {
            switch m.role {
            case .system, .developer:
                for part in m.parts {
                    guard case .text(let t, let cc) = part else {
                        throw .invalid("\(m.param).content", "System and developer messages may contain only text.")
                    }
                    guard !t.isEmpty else { continue }
                    var b: [String: JSONValue] = ["type": .string("text"), "text": .string(t)]
                    if let cc { b["cache_control"] = cc }
                    system.append(.object(b))
                }
            case .user:
                var blocks: [JSONValue] = []
                for (j, p) in m.parts.enumerated() {
                    if let b = try block(p, param: m.contentWasString ? "\(m.param).content" : "\(m.param).content[\(j)]") { blocks.append(b) }
                }
                append("user", blocks)
            case .assistant:
                var blocks = m.thinkingBlocks
                for (j, p) in m.parts.enumerated() {
                    if let b = try block(p, param: "\(m.param).content[\(j)]") { blocks.append(b) }
                }
                for c in m.toolCalls {
                    blocks.append(.object([
                        "type": .string("tool_use"), "id": .string(c.id), "name": .string(c.name),
                        "input": try TranslationSupport.arguments(c.arguments, param: c.param),
                    ]))
                }
                append("assistant", blocks)
            case .tool:
                var result: [String: JSONValue] = ["type": .string("tool_result"), "tool_use_id": .string(m.toolCallID ?? "")]
                if m.contentWasString {
                    result["content"] = .string(m.text)
                } else {
                    var blocks: [JSONValue] = []
                    for (j, p) in m.parts.enumerated() {
                        if let b = try block(p, param: "\(m.param).content[\(j)]") { blocks.append(b) }
                    }
                    result["content"] = .array(blocks)
                }
                append("user", [.object(result)])
            }
        }
        // Anthropic rejects a final assistant (prefill) turn that ends in whitespace.
        if let last = turns.last, last.role == "assistant", case .object(var b)? = last.content.last,
           b["type"] == .string("text"), let t = b["text"]?.stringValue {
            let trimmed = String(t.reversed().drop(while: { $0.isWhitespace }).reversed())
            if trimmed.isEmpty {
                turns[turns.count - 1].content.removeLast()
                if turns[turns.count - 1].content.isEmpty { turns.removeLast() }
            } else {
                b["text"] = .string(trimmed)
                turns[turns.count - 1].content[last.content.count - 1] = .object(b)
            }
        }
        if turns.isEmpty { throw .invalid("messages", "At least one user or assistant message with content is required.") }
        if !system.isEmpty { out["system"] = .array(system) }
        out["messages"] = .array(turns.map { .object(["role": .string($0.role), "content": .array($0.content)]) })

        // Tools and structured output.
        if let i = req.tools.firstIndex(where: { $0.name == jsonToolName }) {
            throw .invalid("tools[\(i)].function.name", "The tool name '\(jsonToolName)' is reserved by the gateway for JSON mode.")
        }
        var tools: [JSONValue] = req.tools.map { t in
            var o: [String: JSONValue] = [
                "name": .string(t.name),
                "input_schema": t.parameters ?? .object(["type": .string("object"), "properties": .object([:])]),
            ]
            if let d = t.description { o["description"] = .string(d) }
            return .object(o)
        }
        var choice: [String: JSONValue]?
        switch req.toolChoice {
        case nil: choice = nil
        case .auto?: choice = ["type": .string("auto")]
        case .some(OpenAIChatRequest.ToolChoice.none): choice = ["type": .string("none")]
        case .required?: choice = ["type": .string("any")]
        case .function(let name)?: choice = ["type": .string("tool"), "name": .string(name)]
        }
        switch req.responseFormat {
        case .text: break
        case .jsonSchema(_, let schema, _):
            out["output_config"] = .object(["format": .object(["type": .string("json_schema"), "schema": schema])])
        case .jsonObject:
            guard req.tools.isEmpty else {
                throw .unsupportedValue("response_format", provider: provider,
                                        "json_object cannot be combined with tools; use json_schema")
            }
            tools = [.object([
                "name": .string(jsonToolName),
                "description": .string("Respond with a JSON object."),
                "input_schema": .object(["type": .string("object")]),
            ])]
            choice = ["type": .string("tool"), "name": .string(jsonToolName)]
        }
        if req.parallelToolCalls == false, !tools.isEmpty, choice?["type"] != .string("none") {
            var c = choice ?? ["type": .string("auto")]
            c["disable_parallel_tool_use"] = .bool(true)
            choice = c
        }
        if !tools.isEmpty { out["tools"] = .array(tools) }
        if let choice { out["tool_choice"] = .object(choice) }
        return .object(out)
    }

    private static func block(_ part: OpenAIChatRequest.Part, param: String) throws(TranslationError) -> JSONValue? {
        switch part {
        case .text(let t, let cc):
            guard !t.isEmpty else { return nil }
            var b: [String: JSONValue] = ["type": .string("text"), "text": .string(t)]
            if let cc { b["cache_control"] = cc }
            return .object(b)
        case .refusal(let t):
            return t.isEmpty ? nil : .object(["type": .string("text"), "text": .string(t)])
        case .image(let url, let p):
            if let d = TranslationSupport.dataURL(url) {
                let kind = d.mediaType == "application/pdf" ? "document" : "image"
                return .object(["type": .string(kind), "source": .object([
                    "type": .string("base64"), "media_type": .string(d.mediaType), "data": .string(d.base64),
                ])])
            }
            guard TranslationSupport.isHTTP(url) else {
                throw .unsupportedValue(p, provider: provider, "image URLs must be https:// or data:<type>;base64,")
            }
            return .object(["type": .string("image"), "source": .object(["type": .string("url"), "url": .string(url)])])
        case .audio(_, _, let p):
            throw .unsupported(p, provider: provider)
        case .file(let data, let fileID, let filename, let p):
            if fileID != nil { throw .unsupportedValue("\(p).file_id", provider: provider, "uploaded file ids cannot be forwarded; send file_data") }
            guard let data else { throw .invalid(p, "File parts need 'file_data'.") }
            if let d = TranslationSupport.dataURL(data) {
                return .object(["type": .string("document"), "source": .object([
                    "type": .string("base64"), "media_type": .string(d.mediaType), "data": .string(d.base64),
                ])])
            }
            let media = filename.flatMap(TranslationSupport.mediaType(forPath:)) ?? "application/pdf"
            return .object(["type": .string("document"), "source": .object([
                "type": .string("base64"), "media_type": .string(media), "data": .string(data),
            ])])
        }
    }

    // MARK: Response

    public static func finishReason(_ stopReason: String?) -> String {
        switch stopReason {
        case "tool_use"?: "tool_calls"
        case "max_tokens"?, "model_context_window_exceeded"?: "length"
        case "refusal"?: "content_filter"
        default: "stop"
        }
    }

    public static func response(_ body: JSONValue, model: String, created: Int) -> JSONValue {
        var text = ""
        var sawText = false
        var reasoning = ""
        var thinkingBlocks: [JSONValue] = []
        var toolCalls: [JSONValue] = []
        var jsonMode = false
        for block in body["content"]?.arrayValue ?? [] {
            switch block["type"]?.stringValue {
            case "text":
                text += block["text"]?.stringValue ?? ""
                sawText = true
            case "thinking":
                reasoning += block["thinking"]?.stringValue ?? ""
                thinkingBlocks.append(block)
            case "redacted_thinking":
                thinkingBlocks.append(block)
            case "tool_use":
                let name = block["name"]?.stringValue ?? ""
                let args = TranslationJSON.encodeSorted(block["input"] ?? .object([:]))
                if name == jsonToolName {
                    jsonMode = true
                    text += args
                    sawText = true
                } else {
                    toolCalls.append(OpenAIChat.toolCall(id: block["id"]?.stringValue ?? "", name: name, arguments: args))
                }
            default: break
            }
        }
        var extra: [String: JSONValue] = [:]
        if !thinkingBlocks.isEmpty {
            extra["reasoning_content"] = .string(reasoning)
            extra["thinking_blocks"] = .array(thinkingBlocks)
        }
        var finish = finishReason(body["stop_reason"]?.stringValue)
        if jsonMode && toolCalls.isEmpty && finish == "tool_calls" { finish = "stop" }
        let message = OpenAIChat.message(content: sawText ? text : nil, toolCalls: toolCalls, extra: extra)
        let u = usage(body)
        return OpenAIChat.completion(
            id: body["id"]?.stringValue ?? "chatcmpl-anthropic", created: created, model: model,
            choices: [OpenAIChat.choice(index: 0, message: message, finishReason: finish)],
            usage: OpenAIChat.usageJSON(u, cacheWriteTokens: cacheWriteTokens(body["usage"])))
    }

    /// Usage from a Messages response (or a `message_start.message`), in OpenAI counting.
    public static func usage(_ body: JSONValue) -> Usage {
        usage(fromUsageObject: body["usage"])
    }

    static func usage(fromUsageObject u: JSONValue?) -> Usage {
        let input = TranslationSupport.tokens(u?["input_tokens"])
        let write = TranslationSupport.tokens(u?["cache_creation_input_tokens"])
        let read = TranslationSupport.tokens(u?["cache_read_input_tokens"])
        return Usage(promptTokens: input + write + read,
                     completionTokens: TranslationSupport.tokens(u?["output_tokens"]),
                     cachedPromptTokens: read,
                     reasoningTokens: TranslationSupport.tokens(u?["output_tokens_details"]?["reasoning_tokens"]))
    }

    static func cacheWriteTokens(_ u: JSONValue?) -> Int { TranslationSupport.tokens(u?["cache_creation_input_tokens"]) }

    // MARK: Errors

    /// An Anthropic error (`{"type":"error","error":{"type","message"}}`) as an OpenAI error with the
    /// same status: 529 `overloaded_error` stays 529 (OpenAI SDKs retry every status ≥ 500).
    public static func error(status: Int, body: JSONValue?) -> (status: Int, body: JSONValue) {
        let e = body?["error"]
        let type = e?["type"]?.stringValue ?? OpenAIChat.errorType(status: status)
        let message = e?["message"]?.stringValue ?? "Anthropic returned HTTP \(status)."
        let code: JSONValue = e?["details"]?["error_code"]?.stringValue.map(JSONValue.string) ?? .null
        return (status, OpenAIChat.errorBody(message: message, type: type, code: code))
    }
}
