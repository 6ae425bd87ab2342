import Foundation
public import SwitchyardCore

/// Workers AI native stream (`data: {"response":"tok"}` … `data: [DONE]`) → OpenAI chunks.
/// The native stream has no finish reason: `stop` (or `tool_calls`) is synthesised at `[DONE]`.
public struct WorkersAIStreamTranslator: Sendable {
    private var chunks: ChunkFactory
    private var started = false
    private var done = false
    private var toolCalls = 0
    public private(set) var usage = Usage()

    public init(model: String, includeUsage: Bool, created: Int, id: String?) {
        chunks = ChunkFactory(id: id ?? "chatcmpl-workers-ai", created: created, model: model, includeUsage: includeUsage)
    }

    public var isFinished: Bool { done }

    public mutating func translate(event: String?, data: String) -> [String] {
        guard !done else { return [] }
        if data.trimmingCharacters(in: .whitespaces) == "[DONE]" { return end() }
        guard let json = try? JSONValue.parse(data), case .object = json else {
            return fail("Malformed event from workers-ai: the data is not a JSON object.")
        }
        if json["errors"]?.arrayValue?.isEmpty == false || json["error"] != nil {
            let msg = json["errors"]?.arrayValue?.first?["message"]?.stringValue ?? json["error"]?.stringValue
                ?? json["error"]?["message"]?.stringValue ?? "Workers AI stream error."
            return fail(msg)
        }
        var out: [String] = []
        if !started {
            started = true
            out.append(chunks.chunk(delta: ["role": .string("assistant"), "content": .string("")]))
        }
        if json["usage"] != nil { usage = WorkersAITranslation.usage(json) }
        if let t = json["response"]?.stringValue, !t.isEmpty { out.append(chunks.chunk(delta: ["content": .string(t)])) }
        for c in json["tool_calls"]?.arrayValue ?? [] {
            guard case .object(var call) = WorkersAITranslation.toolCall(c, responseID: chunks.id, index: toolCalls) else { continue }
            call["index"] = .number(Double(toolCalls))
            toolCalls += 1
            out.append(chunks.chunk(delta: ["tool_calls": .array([.object(call)])]))
        }
        return out
    }

    /// Call at the end of the upstream body; a stream cut before `[DONE]` ends with an error payload.
    public mutating func finish() -> [String] {
        guard !done else { return [] }
        return fail("The workers-ai stream ended before [DONE].")
    }

    private mutating func end() -> [String] {
        done = true
        var out: [String] = []
        if !started { out.append(chunks.chunk(delta: ["role": .string("assistant"), "content": .string("")])) }
        out.append(chunks.chunk(delta: [:], finishReason: toolCalls > 0 ? "tool_calls" : "stop"))
        if chunks.includeUsage { out.append(chunks.usageChunk(OpenAIChat.usageJSON(usage))) }
        out.append("[DONE]")
        return out
    }

    private mutating func fail(_ message: String) -> [String] {
        done = true
        return [ChunkFactory.error(message: message, type: "api_error")]
    }
}
