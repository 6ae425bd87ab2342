public import SwitchyardCore

/// Anthropic Messages SSE events → OpenAI `chat.completion.chunk` data payloads, one event at a time.
///
/// Feed each SSE event (name + data) to ``translate(event:data:)`` and send every returned string as
/// `data: <string>\n\n`; call ``finish()`` when the upstream body ends. The last payload is `[DONE]`, or
/// an `{"error":{...}}` object (which the OpenAI SDKs raise as `APIError`) after which nothing follows.
public struct AnthropicStreamTranslator: Sendable {
    private var chunks: ChunkFactory
    private let fixedID: Bool
    private var started = false
    private var done = false
    private var finishSent = false
    private var toolIndex = -1
    /// Anthropic block index → what that block is being translated into.
    private var blocks: [Int: Block] = [:]
    private var inputUsage: JSONValue?
    private var outputUsage: JSONValue?
    public private(set) var usage = Usage()

    private enum Block: Sendable {
        case text
        case tool(index: Int, sentArguments: Bool)
        case jsonTool
        case thinking(text: String, signature: String)
        case other
    }

    public init(model: String, includeUsage: Bool, created: Int, id: String?) {
        chunks = ChunkFactory(id: id ?? "chatcmpl-anthropic", created: created, model: model, includeUsage: includeUsage)
        fixedID = id != nil
    }

    public var isFinished: Bool { done }

    public mutating func translate(event: String?, data: String) -> [String] {
        guard !done else { return [] }
        guard let json = try? JSONValue.parse(data) else {
            return fail("Malformed event from anthropic: the data is not JSON.", type: "api_error")
        }
        let type = json["type"]?.stringValue ?? event ?? ""
        var out: [String] = []
        if !started && type != "error" && type != "ping" && type != "message_start" {
            out.append(startChunk())
        }
        switch type {
        case "message_start":
            let message = json["message"]
            if !fixedID, let id = message?["id"]?.stringValue { chunks.id = id }
            inputUsage = message?["usage"]
            recomputeUsage()
            if !started { out.append(startChunk()) }
        case "content_block_start":
            let index = TranslationSupport.int(json["index"])
            let cb = json["content_block"]
            switch cb?["type"]?.stringValue {
            case "text"?:
                blocks[index] = .text
                if let t = cb?["text"]?.stringValue, !t.isEmpty { out.append(chunks.chunk(delta: ["content": .string(t)])) }
            case "tool_use"?:
                let name = cb?["name"]?.stringValue ?? ""
                if name == AnthropicTranslation.jsonToolName {
                    blocks[index] = .jsonTool
                } else {
                    toolIndex += 1
                    blocks[index] = .tool(index: toolIndex, sentArguments: false)
                    out.append(chunks.chunk(delta: ["tool_calls": .array([.object([
                        "index": .number(Double(toolIndex)), "id": .string(cb?["id"]?.stringValue ?? ""),
                        "type": .string("function"),
                        "function": .object(["name": .string(name), "arguments": .string("")]),
                    ])])]))
                }
            case "thinking"?:
                let t = cb?["thinking"]?.stringValue ?? ""
                blocks[index] = .thinking(text: t, signature: cb?["signature"]?.stringValue ?? "")
                if !t.isEmpty { out.append(chunks.chunk(delta: ["reasoning_content": .string(t)])) }
            case "redacted_thinking"?:
                blocks[index] = .other
                if let cb { out.append(chunks.chunk(delta: ["thinking_blocks": .array([cb])])) }
            default:
                blocks[index] = .other
            }
        case "content_block_delta":
            let index = TranslationSupport.int(json["index"])
            let d = json["delta"]
            switch (d?["type"]?.stringValue, blocks[index]) {
            case ("text_delta"?, _):
                if let t = d?["text"]?.stringValue, !t.isEmpty { out.append(chunks.chunk(delta: ["content": .string(t)])) }
            case ("input_json_delta"?, .tool(let ti, _)?):
                if let f = d?["partial_json"]?.stringValue, !f.isEmpty {
                    blocks[index] = .tool(index: ti, sentArguments: true)
                    out.append(chunks.chunk(delta: ["tool_calls": .array([.object([
                        "index": .number(Double(ti)), "function": .object(["arguments": .string(f)]),
                    ])])]))
                }
            case ("input_json_delta"?, .jsonTool?):
                if let f = d?["partial_json"]?.stringValue, !f.isEmpty { out.append(chunks.chunk(delta: ["content": .string(f)])) }
            case ("thinking_delta"?, .thinking(let text, let sig)?):
                let t = d?["thinking"]?.stringValue ?? ""
                blocks[index] = .thinking(text: text + t, signature: sig)
                if !t.isEmpty { out.append(chunks.chunk(delta: ["reasoning_content": .string(t)])) }
            case ("signature_delta"?, .thinking(let text, let sig)?):
                blocks[index] = .thinking(text: text, signature: sig + (d?["signature"]?.stringValue ?? ""))
            default: break
            }
        case "content_block_stop":
            let index = TranslationSupport.int(json["index"])
            switch blocks[index] {
            case .tool(let ti, false)?:
                out.append(chunks.chunk(delta: ["tool_calls": .array([.object([
                    "index": .number(Double(ti)), "function": .object(["arguments": .string("{}")]),
                ])])]))
            case .thinking(let text, let sig)?:
                // The whole block, so a client can echo it back (Anthropic requires it with tool use).
                out.append(chunks.chunk(delta: ["thinking_blocks": .array([.object([
                    "type": .string("thinking"), "thinking": .string(text), "signature": .string(sig),
                ])])]))
            default: break
            }
            blocks[index] = nil
        case "message_delta":
            if let u = json["usage"] { outputUsage = u }
            recomputeUsage()
            if !finishSent, let reason = json["delta"]?["stop_reason"]?.stringValue {
                var finish = AnthropicTranslation.finishReason(reason)
                if finish == "tool_calls" && toolIndex < 0 { finish = "stop" }
                finishSent = true
                out.append(chunks.chunk(delta: [:], finishReason: finish))
            }
        case "message_stop":
            out += end()
        case "error":
            let e = json["error"]
            return out + fail(e?["message"]?.stringValue ?? "Anthropic stream error.",
                              type: e?["type"]?.stringValue ?? "api_error")
        default:
            break  // ping and event types added after this was written
        }
        return out
    }

    /// Call when the upstream body ends. A stream cut before `message_stop` ends with an error
    /// payload unless the finish reason was already delivered.
    public mutating func finish() -> [String] {
        guard !done else { return [] }
        if finishSent { return end() }
        return fail("The anthropic stream ended before message_stop.", type: "api_error")
    }

    private mutating func startChunk() -> String {
        started = true
        return chunks.chunk(delta: ["role": .string("assistant"), "content": .string("")])
    }

    private mutating func end() -> [String] {
        done = true
        var out: [String] = []
        if !finishSent {
            finishSent = true
            out.append(chunks.chunk(delta: [:], finishReason: "stop"))
        }
        if chunks.includeUsage {
            out.append(chunks.usageChunk(OpenAIChat.usageJSON(usage, cacheWriteTokens: cacheWrite)))
        }
        out.append("[DONE]")
        return out
    }

    private mutating func fail(_ message: String, type: String) -> [String] {
        done = true
        return [ChunkFactory.error(message: message, type: type)]
    }

    private var cacheWrite: Int {
        AnthropicTranslation.cacheWriteTokens(outputUsage?["cache_creation_input_tokens"] != nil ? outputUsage : inputUsage)
    }

    /// `message_delta.usage` is cumulative and may repeat the input counts; it wins where present.
    private mutating func recomputeUsage() {
        var merged = inputUsage?.objectValue ?? [:]
        for (k, v) in outputUsage?.objectValue ?? [:] where v != .null { merged[k] = v }
        usage = AnthropicTranslation.usage(fromUsageObject: .object(merged))
    }
}
