public import SwitchyardCore

/// Gemini `streamGenerateContent?alt=sse` events → OpenAI `chat.completion.chunk` data payloads.
///
/// Each event's data is a whole `GenerateContentResponse` holding incremental parts. Function calls
/// arrive whole and become one tool-call delta carrying the complete `arguments`. Gemini sends no
/// `[DONE]`: ``finish()`` (at end of body) emits the usage chunk (when requested) and `[DONE]`.
public struct GeminiStreamTranslator: Sendable {
    private var chunks: ChunkFactory
    private var idFixed: Bool
    private var responseID: String?
    private var candidates: [Int: Candidate] = [:]
    private var done = false
    private var sawData = false
    public private(set) var usage = Usage()

    private struct Candidate: Sendable {
        var toolCalls = 0
        var finished = false
    }

    public init(model: String, includeUsage: Bool, created: Int, id: String?) {
        chunks = ChunkFactory(id: id ?? "chatcmpl-gemini", created: created, model: model, includeUsage: includeUsage)
        idFixed = id != nil
    }

    public var isFinished: Bool { done }

    public mutating func translate(event: String?, data: String) -> [String] {
        guard !done else { return [] }
        guard let json = try? JSONValue.parse(data), case .object = json else {
            return fail("Malformed event from google-ai-studio: the data is not a JSON object.", type: "api_error")
        }
        if let e = json["error"] {
            return fail(e["message"]?.stringValue ?? "Google AI Studio stream error.",
                        type: e["status"]?.stringValue ?? "api_error")
        }
        if responseID == nil {
            responseID = json["responseId"]?.stringValue ?? chunks.id
            if !idFixed, let r = json["responseId"]?.stringValue { chunks.id = r }
            idFixed = true
        }
        sawData = true
        if json["usageMetadata"] != nil { usage = GeminiTranslation.usage(json) }

        var out: [String] = []
        let list = json["candidates"]?.arrayValue ?? []
        if list.isEmpty, json["promptFeedback"]?["blockReason"] != nil, candidates[0]?.finished != true {
            if candidates[0] == nil { out.append(start(0)) }
            candidates[0, default: Candidate()].finished = true
            out.append(chunks.chunk(delta: [:], finishReason: "content_filter"))
        }
        for (position, cand) in list.enumerated() {
            let index = cand["index"].map { TranslationSupport.int($0) } ?? position
            if candidates[index] == nil { out.append(start(index)) }
            guard candidates[index]?.finished != true else { continue }
            for part in cand["content"]?["parts"]?.arrayValue ?? [] {
                if part["functionCall"] != nil {
                    let n = candidates[index]!.toolCalls
                    candidates[index]!.toolCalls += 1
                    guard case .object(var call) = GeminiTranslation.toolCall(
                        part: part, responseID: responseID ?? "", candidate: index, call: n) else { continue }
                    call["index"] = .number(Double(n))
                    out.append(chunks.chunk(index: index, delta: ["tool_calls": .array([.object(call)])]))
                } else if let t = part["text"]?.stringValue, !t.isEmpty {
                    let key = part["thought"]?.boolValue == true ? "reasoning_content" : "content"
                    out.append(chunks.chunk(index: index, delta: [key: .string(t)]))
                }
            }
            if let reason = cand["finishReason"]?.stringValue {
                candidates[index]!.finished = true
                let finish = GeminiTranslation.finishReason(reason, hasToolCalls: candidates[index]!.toolCalls > 0)
                out.append(chunks.chunk(index: index, delta: [:], finishReason: finish))
            }
        }
        return out
    }

    /// Call at the end of the upstream body. A stream whose candidates never reported a
    /// `finishReason` was cut short and ends with an error payload instead of `[DONE]`.
    public mutating func finish() -> [String] {
        guard !done else { return [] }
        guard sawData, !candidates.isEmpty, candidates.values.allSatisfy(\.finished) else {
            return fail("The google-ai-studio stream ended before a finishReason.", type: "api_error")
        }
        done = true
        var out: [String] = []
        if chunks.includeUsage { out.append(chunks.usageChunk(OpenAIChat.usageJSON(usage))) }
        out.append("[DONE]")
        return out
    }

    private mutating func start(_ index: Int) -> String {
        candidates[index] = Candidate()
        return chunks.chunk(index: index, delta: ["role": .string("assistant"), "content": .string("")])
    }

    private mutating func fail(_ message: String, type: String) -> [String] {
        done = true
        return [ChunkFactory.error(message: message, type: type)]
    }
}
