import Foundation
import NIOCore
import SwitchyardCore

/// OpenAI and every provider speaking its chat-completions format (Groq, Mistral, xAI, DeepSeek,
/// Perplexity, Cerebras, OpenRouter, Workers AI's `/v1` path, custom providers): only `model`,
/// route overrides and `stream_options` are rewritten; the rest of the body goes out as it came.
public struct OpenAICompatibleAdapter: ProviderAdapter {
    public let chatPath: String
    public let embeddingsPath: String
    public let modelsPath: String?

    public init(chatPath: String, embeddingsPath: String, modelsPath: String?) {
        self.chatPath = chatPath
        self.embeddingsPath = embeddingsPath
        self.modelsPath = modelsPath
    }

    public func prepare(_ request: AdapterRequest, provider: UpstreamProvider) throws(GatewayError) -> PreparedRequest {
        var replacements: [(key: String, json: String)] = [("model", JSONValue.string(request.model).canonicalJSON)]
        for (key, value) in request.overrides.sorted(by: { $0.key < $1.key }) where key != "model" {
            replacements.append((key, value.canonicalJSON))
        }
        var strip = false
        if request.operation == .chatCompletions, request.stream {
            var options = request.body.value("stream_options")?.objectValue ?? [:]
            if options["include_usage"]?.boolValue != true {
                // Ask for usage anyway so that it can be logged and billed; the extra chunk is removed.
                strip = true
                options["include_usage"] = .bool(true)
                replacements.append(("stream_options", JSONValue.object(options).canonicalJSON))
            }
        }
        let path = request.operation == .chatCompletions ? chatPath : embeddingsPath
        return PreparedRequest(path: path, body: request.body.rewritten(setting: replacements), stripUsageChunk: strip)
    }

    public func translateResponse(_ body: ByteBuffer, request: AdapterRequest) -> ByteBuffer? { body }

    public func translateError(status: Int, body: ByteBuffer, provider: UpstreamProvider) -> (status: Int, body: ByteBuffer) {
        (status, OpenAIErrorBody.normalize(status: status, body: body))
    }

    public func makeStreamTranslator(request: AdapterRequest, prepared: PreparedRequest) -> any StreamTranslator {
        OpenAIStreamTranslator(stripUsageChunk: prepared.stripUsageChunk)
    }
}

/// Passes OpenAI chunks through, records usage, and drops the usage-only chunk the client did not ask for.
public struct OpenAIStreamTranslator: StreamTranslator {
    public let stripUsageChunk: Bool
    public private(set) var usage: Usage?
    private var sawDone = false

    public init(stripUsageChunk: Bool) { self.stripUsageChunk = stripUsageChunk }

    public mutating func translate(_ event: SSEEvent) -> [String] {
        if sawDone { return [] }
        if event.data == "[DONE]" {
            sawDone = true
            return ["[DONE]"]
        }
        // Only chunks that carry a usage object are decoded; the rest are copied as they came. With
        // include_usage every chunk says `"usage":null`, so the mention alone is not enough.
        guard Self.carriesUsageObject(event.data), let chunk = try? JSONValue.parse(event.data) else { return [event.data] }
        if let found = UsageParser.usage(in: chunk) { usage = found }
        if stripUsageChunk, chunk["usage"]?.objectValue != nil, chunk["choices"]?.arrayValue?.isEmpty ?? true {
            return []
        }
        return [event.data]
    }

    public mutating func finish() -> [String] {
        if sawDone { return [] }
        sawDone = true
        return ["[DONE]"]
    }

    /// `"usage"` followed by `:` and `{` (whitespace allowed between), or Groq's `x_groq` object.
    static func carriesUsageObject(_ data: String) -> Bool {
        let bytes = Array(data.utf8)
        let usage = Array(#""usage""#.utf8), groq = Array("x_groq".utf8)
        func matches(_ word: [UInt8], at i: Int) -> Bool {
            i + word.count <= bytes.count && bytes[i..<(i + word.count)].elementsEqual(word)
        }
        func skipSpace(_ i: inout Int) { while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 } }
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "x"), matches(groq, at: i) { return true }
            if bytes[i] == UInt8(ascii: "\""), matches(usage, at: i) {
                var j = i + usage.count
                skipSpace(&j)
                if j < bytes.count, bytes[j] == UInt8(ascii: ":") {
                    j += 1
                    skipSpace(&j)
                    if j < bytes.count, bytes[j] == UInt8(ascii: "{") { return true }
                }
            }
            i += 1
        }
        return false
    }
}

public enum UsageParser {
    /// OpenAI `usage`, or Groq's `x_groq.usage`.
    public static func usage(in object: JSONValue) -> Usage? {
        guard let u = object["usage"]?.objectValue ?? object["x_groq"]?["usage"]?.objectValue else { return nil }
        return usage(fromUsageObject: .object(u))
    }

    public static func usage(fromUsageObject u: JSONValue) -> Usage? {
        guard u.objectValue != nil else { return nil }
        func int(_ v: JSONValue?) -> Int { v?.tokenCount ?? 0 }
        return Usage(
            promptTokens: int(u["prompt_tokens"]),
            completionTokens: int(u["completion_tokens"]),
            cachedPromptTokens: int(u["prompt_tokens_details"]?["cached_tokens"]),
            reasoningTokens: int(u["completion_tokens_details"]?["reasoning_tokens"])
        )
    }
}

/// OpenAI's error shape, `{"error":{"message","type","param","code"}}`, from whatever a provider sent.
public enum OpenAIErrorBody {
    public static func make(message: String, type: String, param: String? = nil, code: JSONValue = .null) -> ByteBuffer {
        let error: [String: JSONValue] = [
            "message": .string(message), "type": .string(type), "param": param.map(JSONValue.string) ?? .null, "code": code,
        ]
        return ByteBuffer(string: JSONValue.object(["error": .object(error)]).canonicalJSON)
    }

    public static func defaultType(status: Int) -> String {
        switch status {
        case 401: "authentication_error"
        case 403: "permission_error"
        case 404: "not_found_error"
        case 429: "rate_limit_error"
        case 500...: "server_error"
        default: "invalid_request_error"
        }
    }

    public static func normalize(status: Int, body: ByteBuffer) -> ByteBuffer {
        let text = String(buffer: body)
        let parsed = try? JSONValue.parse(text)
        var message: String?
        var type: JSONValue?
        var param: JSONValue = .null
        var code: JSONValue = .null
        if let e = parsed?["error"], e.objectValue != nil {
            // OpenAI, Anthropic (`{"type":"error","error":{"type","message"}}`), Gemini (`{"error":{"code","message","status"}}`).
            message = e["message"]?.stringValue
            type = e["type"] ?? e["status"]
            param = e["param"] ?? .null
            code = e["code"] ?? .null
        } else if let e = parsed?["error"]?.stringValue {
            message = e
        } else if let p = parsed, let m = p["message"]?.stringValue {
            // vLLM, Mistral, DeepSeek: a top-level `{object:"error", message, type, param, code}`.
            message = m
            type = p["type"]
            param = p["param"] ?? .null
            code = p["code"] ?? .null
        } else if let errors = parsed?["errors"]?.arrayValue, let first = errors.first {
            // Cloudflare: `{"errors":[{"code":7003,"message":"..."}]}`.
            message = first["message"]?.stringValue
            code = first["code"] ?? .null
        }
        if let parsed, parsed["error"]?.objectValue != nil, let e = parsed["error"],
           e["message"]?.stringValue != nil, e["type"] != nil, e["param"] != nil, e["code"] != nil {
            return body
        }
        let finalMessage = message ?? (text.isEmpty ? "upstream returned HTTP \(status)" : String(text.prefix(2000)))
        let finalType: JSONValue = (type?.stringValue).map(JSONValue.string) ?? .string(defaultType(status: status))
        let object: [String: JSONValue] = ["message": .string(finalMessage), "type": finalType, "param": param, "code": code]
        return ByteBuffer(string: JSONValue.object(["error": .object(object)]).canonicalJSON)
    }
}
