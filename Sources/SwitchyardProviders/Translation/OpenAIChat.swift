import Foundation
public import SwitchyardCore

/// Builders for the OpenAI objects every translator emits, so all providers produce the same shapes.
public enum OpenAIChat {
    /// `stream` and `stream_options.include_usage` of an OpenAI request, for choosing the stream path and
    /// building a stream translator. Malformed values read as false (request translation rejects them).
    public static func streamOptions(_ request: JSONValue) -> (stream: Bool, includeUsage: Bool) {
        (request["stream"]?.boolValue ?? false, request["stream_options"]?["include_usage"]?.boolValue ?? false)
    }

    /// `usage` as OpenAI reports it: prompt includes cached, completion includes reasoning.
    /// `cache_write_tokens` (a newer OpenAI detail) appears only when a provider reports cache writes.
    public static func usageJSON(_ u: Usage, cacheWriteTokens: Int = 0) -> JSONValue {
        var prompt: [String: JSONValue] = ["cached_tokens": .number(Double(u.cachedPromptTokens))]
        if cacheWriteTokens > 0 { prompt["cache_write_tokens"] = .number(Double(cacheWriteTokens)) }
        return .object([
            "prompt_tokens": .number(Double(u.promptTokens)),
            "completion_tokens": .number(Double(u.completionTokens)),
            "total_tokens": .number(Double(u.totalTokens)),
            "prompt_tokens_details": .object(prompt),
            "completion_tokens_details": .object(["reasoning_tokens": .number(Double(u.reasoningTokens))]),
        ])
    }

    static func completion(id: String, created: Int, model: String, choices: [JSONValue], usage: JSONValue) -> JSONValue {
        .object([
            "id": .string(id),
            "object": .string("chat.completion"),
            "created": .number(Double(created)),
            "model": .string(model),
            "choices": .array(choices),
            "usage": usage,
        ])
    }

    static func choice(index: Int, message: [String: JSONValue], finishReason: String) -> JSONValue {
        .object([
            "index": .number(Double(index)),
            "message": .object(message),
            "logprobs": .null,
            "finish_reason": .string(finishReason),
        ])
    }

    /// An assistant message; `content` is null when there is no text, as OpenAI sends it with tool calls.
    static func message(content: String?, toolCalls: [JSONValue], extra: [String: JSONValue] = [:]) -> [String: JSONValue] {
        var m: [String: JSONValue] = [
            "role": .string("assistant"),
            "content": content.map(JSONValue.string) ?? .null,
            "refusal": .null,
        ]
        if !toolCalls.isEmpty { m["tool_calls"] = .array(toolCalls) }
        for (k, v) in extra { m[k] = v }
        return m
    }

    static func toolCall(id: String, name: String, arguments: String, extra: [String: JSONValue] = [:]) -> JSONValue {
        var o: [String: JSONValue] = [
            "id": .string(id), "type": .string("function"),
            "function": .object(["name": .string(name), "arguments": .string(arguments)]),
        ]
        for (k, v) in extra { o[k] = v }
        return .object(o)
    }

    static func errorBody(message: String, type: String, param: String? = nil, code: JSONValue = .null) -> JSONValue {
        .object(["error": .object([
            "message": .string(message), "type": .string(type),
            "param": param.map(JSONValue.string) ?? .null, "code": code,
        ])])
    }

    /// The OpenAI-style `error.type` for an HTTP status, used when the provider body has none.
    static func errorType(status: Int) -> String {
        switch status {
        case 400, 404, 409, 413, 422: "invalid_request_error"
        case 401: "authentication_error"
        case 403: "permission_error"
        case 429: "rate_limit_error"
        default: status >= 500 ? "api_error" : "invalid_request_error"
        }
    }
}

/// Stream chunk framing shared by the stream translators: one id, created and model per stream.
struct ChunkFactory: Sendable {
    var id: String
    var created: Int
    var model: String
    var includeUsage: Bool

    func chunk(index: Int = 0, delta: [String: JSONValue], finishReason: String? = nil) -> String {
        var o: [String: JSONValue] = [
            "id": .string(id), "object": .string("chat.completion.chunk"),
            "created": .number(Double(created)), "model": .string(model),
            "choices": .array([.object([
                "index": .number(Double(index)), "delta": .object(delta), "logprobs": .null,
                "finish_reason": finishReason.map(JSONValue.string) ?? .null,
            ])]),
        ]
        if includeUsage { o["usage"] = .null }
        return TranslationJSON.encode(.object(o))
    }

    func usageChunk(_ usage: JSONValue) -> String {
        TranslationJSON.encode(.object([
            "id": .string(id), "object": .string("chat.completion.chunk"),
            "created": .number(Double(created)), "model": .string(model),
            "choices": .array([]), "usage": usage,
        ]))
    }

    static func error(message: String, type: String, code: JSONValue = .null) -> String {
        TranslationJSON.encode(OpenAIChat.errorBody(message: message, type: type, code: code))
    }
}

/// Small pure helpers shared by the request translators.
enum TranslationSupport {
    struct DataURL { var mediaType: String; var base64: String }

    /// `data:<media type>;base64,<data>`; nil for anything else (including non-base64 data URLs).
    static func dataURL(_ url: String) -> DataURL? {
        guard url.hasPrefix("data:"), let comma = url.firstIndex(of: ",") else { return nil }
        let header = url[url.index(url.startIndex, offsetBy: 5)..<comma]
        guard header.hasSuffix(";base64") else { return nil }
        let media = header.dropLast(7).split(separator: ";").first.map(String.init) ?? ""
        return DataURL(mediaType: media.isEmpty ? "application/octet-stream" : media,
                       base64: String(url[url.index(after: comma)...]))
    }

    static func isHTTP(_ url: String) -> Bool {
        let l = url.lowercased()
        return l.hasPrefix("https://") || l.hasPrefix("http://")
    }

    /// A media type guessed from a URL's or file name's extension.
    static func mediaType(forPath path: String) -> String? {
        let clean = path.split(separator: "?").first.map(String.init) ?? path
        guard let dot = clean.lastIndex(of: ".") else { return nil }
        switch clean[clean.index(after: dot)...].lowercased() {
        case "png": return "image/png"
        case "jpg", "jpeg": return "image/jpeg"
        case "gif": return "image/gif"
        case "webp": return "image/webp"
        case "heic": return "image/heic"
        case "pdf": return "application/pdf"
        case "txt": return "text/plain"
        case "wav": return "audio/wav"
        case "mp3": return "audio/mp3"
        case "mp4": return "video/mp4"
        default: return nil
        }
    }

    /// Tool arguments as a JSON object; the empty string is `{}` as every gateway treats it.
    static func arguments(_ text: String, param: String) throws(TranslationError) -> JSONValue {
        if text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return .object([:]) }
        guard let v = try? JSONValue.parse(text), case .object = v else {
            throw .invalid("\(param).function.arguments", "Tool call arguments must be a JSON object encoded as a string.")
        }
        return v
    }

    /// 64-bit FNV-1a, for ids that must be stable across runs (Swift's `Hasher` is seeded per process).
    static func fnv1a(_ text: String, seed: UInt64 = 0xcbf2_9ce4_8422_2325) -> UInt64 {
        var h = seed
        for b in text.utf8 {
            h ^= UInt64(b)
            h = h &* 0x0000_0100_0000_01b3
        }
        return h
    }

    static func hex(_ v: UInt64) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }

    static func int(_ v: JSONValue?) -> Int { v?.intValue ?? 0 }

    /// A token count from an upstream answer, clamped (`JSONValue.tokenCount`).
    static func tokens(_ v: JSONValue?) -> Int { v?.tokenCount ?? 0 }
}
