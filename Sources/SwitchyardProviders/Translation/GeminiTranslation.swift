import Foundation
public import SwitchyardCore

/// A translated Gemini call: the body plus where to send it.
public struct GeminiRequest: Sendable, Hashable {
    public var body: JSONValue
    /// The bare model id (`gemini-2.5-flash`), without `models/`.
    public var model: String
    /// `generateContent`, `streamGenerateContent`, `embedContent` or `batchEmbedContents`.
    public var method: String
    public var stream: Bool
    /// Path below the API root, e.g. `v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse`.
    public var path: String
}

/// OpenAI chat completions and embeddings ⇄ Gemini `generateContent` / `embedContent`, without I/O.
///
/// Tool call ids: Gemini sends none, so ids are minted as `call_` + 16 hex digits of a 64-bit FNV-1a
/// hash of (response id, candidate index, call index, name, arguments): the same response always
/// yields the same ids. Thought signatures ride on the OpenAI tool call as
/// `extra_content.google.thought_signature` (the field Google's own OpenAI-compatible endpoint uses);
/// a follow-up request that echoes the tool call back gets the signature restored on its
/// `functionCall` part. `function.thought_signature` (Portkey's field) is accepted too.
public enum GeminiTranslation {
    public static let provider = "google-ai-studio"
    public static let apiVersion = "v1beta"
    /// `reasoning_effort` → `thinkingConfig.thinkingBudget`; `none` turns thinking off (budget 0).
    public static let thinkingBudgets: [String: Int] = ["none": 0, "minimal": 128, "low": 1024, "medium": 2048, "high": 4096]
    public static let maxStopSequences = 5

    static func bareModel(_ model: String) -> String {
        model.hasPrefix("models/") ? String(model.dropFirst(7)) : model
    }

    // MARK: Request

    public static func request(from openAI: JSONValue, model: String) throws(TranslationError) -> GeminiRequest {
        let req = try OpenAIChatRequest(openAI)
        try req.rejectUniversallyUnsupported(provider: provider)
        if req.logprobs { throw .unsupported("logprobs", provider: provider) }
        if let t = req.topLogprobs, t > 0 { throw .unsupported("top_logprobs", provider: provider) }

        var out: [String: JSONValue] = [:]
        var gen: [String: JSONValue] = [:]
        if let t = req.temperature { gen["temperature"] = .number(t) }
        if let p = req.topP { gen["topP"] = .number(p) }
        if let m = req.maxTokens { gen["maxOutputTokens"] = .number(Double(m)) }
        if !req.stop.isEmpty {
            guard req.stop.count <= maxStopSequences else {
                throw .unsupportedValue("stop", provider: provider, "at most \(maxStopSequences) stop sequences")
            }
            gen["stopSequences"] = .array(req.stop.map(JSONValue.string))
        }
        if let n = req.n, n != 1 { gen["candidateCount"] = .number(Double(n)) }
        if let s = req.seed { gen["seed"] = .number(Double(s)) }
        if let p = req.presencePenalty { gen["presencePenalty"] = .number(p) }
        if let p = req.frequencyPenalty { gen["frequencyPenalty"] = .number(p) }
        switch req.responseFormat {
        case .text: break
        case .jsonObject: gen["responseMimeType"] = .string("application/json")
        case .jsonSchema(_, let schema, _):
            gen["responseMimeType"] = .string("application/json")
            gen["responseJsonSchema"] = schema
        }
        if let effort = req.reasoningEffort {
            guard let budget = thinkingBudgets[effort] else {
                throw .unsupportedValue("reasoning_effort", provider: provider, "expected none, minimal, low, medium or high; got '\(effort)'")
            }
            var tc: [String: JSONValue] = ["thinkingBudget": .number(Double(budget))]
            if budget > 0 { tc["includeThoughts"] = .bool(true) }
            gen["thinkingConfig"] = .object(tc)
        }

        var system: [JSONValue] = []
        var contents: [(role: String, parts: [JSONValue])] = []
        func append(_ role: String, _ parts: [JSONValue]) {
            guard !parts.isEmpty else { return }
            if let last = contents.last, last.role == role {
                contents[contents.count - 1].parts += parts
            } else {
                contents.append((role, parts))
            }
        }
        for m in req.messages {
            switch m.role {
            case .system, .developer:
                for p in m.parts {
                    guard case .text(let t, _) = p else {
                        throw .invalid("\(m.param).content", "System and developer messages may contain only text.")
                    }
                    if !t.isEmpty { system.append(.object(["text": .string(t)])) }
                }
            case .user:
                var parts: [JSONValue] = []
                for (j, p) in m.parts.enumerated() {
                    if let gp = try part(p, param: m.contentWasString ? "\(m.param).content" : "\(m.param).content[\(j)]") { parts.append(gp) }
                }
                append("user", parts)
            case .assistant:
                var parts: [JSONValue] = []
                for (j, p) in m.parts.enumerated() {
                    if let gp = try part(p, param: "\(m.param).content[\(j)]") { parts.append(gp) }
                }
                for c in m.toolCalls {
                    var gp: [String: JSONValue] = ["functionCall": .object([
                        "name": .string(c.name), "args": try TranslationSupport.arguments(c.arguments, param: c.param),
                    ])]
                    if let sig = thoughtSignature(c.raw) { gp["thoughtSignature"] = .string(sig) }
                    parts.append(.object(gp))
                }
                append("model", parts)
            case .tool:
                let id = m.toolCallID ?? ""
                let name: String
                if let call = req.toolCall(id: id, before: m.index) {
                    name = call.name
                } else if req.raw["messages"]?.arrayValue?[m.index]["role"] == .string("function") {
                    name = id
                } else {
                    throw .invalid("\(m.param).tool_call_id",
                                   "No earlier assistant tool call has id '\(id)'; Gemini needs the function name.")
                }
                append("user", [.object(["functionResponse": .object([
                    "name": .string(name), "response": .object(["content": .string(m.text)]),
                ])])])
            }
        }
        if contents.isEmpty { throw .invalid("messages", "At least one user or assistant message with content is required.") }
        let bare = bareModel(model)
        if requiresThoughtSignatures(bare) {
            for i in contents.indices where contents[i].role == "model" {
                contents[i].parts = withSignatureSentinel(contents[i].parts)
            }
        }
        if !system.isEmpty { out["systemInstruction"] = .object(["parts": .array(system)]) }
        out["contents"] = .array(contents.map { .object(["role": .string($0.role), "parts": .array($0.parts)]) })

        if !req.tools.isEmpty {
            out["tools"] = .array([.object(["functionDeclarations": .array(req.tools.map { t in
                var d: [String: JSONValue] = ["name": .string(t.name)]
                if let desc = t.description { d["description"] = .string(desc) }
                if let p = t.parameters { d["parametersJsonSchema"] = p }
                return .object(d)
            })])])
        }
        switch req.toolChoice {
        case nil: break
        case .auto?: out["toolConfig"] = functionCalling("AUTO")
        case .some(OpenAIChatRequest.ToolChoice.none): out["toolConfig"] = functionCalling("NONE")
        case .required?: out["toolConfig"] = functionCalling("ANY")
        case .function(let name)?: out["toolConfig"] = functionCalling("ANY", allowed: [name])
        }
        if !gen.isEmpty { out["generationConfig"] = .object(gen) }

        let method = req.stream ? "streamGenerateContent" : "generateContent"
        return GeminiRequest(body: .object(out), model: bare, method: method, stream: req.stream,
                             path: "\(apiVersion)/models/\(bare):\(method)" + (req.stream ? "?alt=sse" : ""))
    }

    private static func functionCalling(_ mode: String, allowed: [String]? = nil) -> JSONValue {
        var c: [String: JSONValue] = ["mode": .string(mode)]
        if let allowed { c["allowedFunctionNames"] = .array(allowed.map(JSONValue.string)) }
        return .object(["functionCallingConfig": .object(c)])
    }

    /// Google's documented placeholder for a function call whose signature was lost (a client that
    /// dropped `extra_content`, or a conversation started on another model). Gemini 3 rejects a model turn
    /// whose function calls carry no signature; the placeholder makes it skip validation.
    public static let signatureSentinel = "skip_thought_signature_validator"

    static func requiresThoughtSignatures(_ model: String) -> Bool { model.hasPrefix("gemini-3") }

    /// Gives the first `functionCall` part the sentinel when no function call in the turn has a signature.
    static func withSignatureSentinel(_ parts: [JSONValue]) -> [JSONValue] {
        let calls = parts.indices.filter { parts[$0]["functionCall"] != nil }
        guard let first = calls.first, !calls.contains(where: { parts[$0]["thoughtSignature"] != nil }),
              case .object(var part) = parts[first] else { return parts }
        part["thoughtSignature"] = .string(signatureSentinel)
        var out = parts
        out[first] = .object(part)
        return out
    }

    static func thoughtSignature(_ toolCall: [String: JSONValue]) -> String? {
        toolCall["extra_content"]?["google"]?["thought_signature"]?.stringValue
            ?? toolCall["function"]?["thought_signature"]?.stringValue
    }

    /// URIs Gemini fetches itself: Files API uploads, Cloud Storage and YouTube. Any other http(s)
    /// image is refused rather than forwarded, since AI Studio does not fetch arbitrary URLs.
    static func isFetchableURI(_ url: String) -> Bool {
        let l = url.lowercased()
        return l.hasPrefix("gs://") || l.hasPrefix("https://generativelanguage.googleapis.com/")
            || l.hasPrefix("https://www.youtube.com/") || l.hasPrefix("https://youtube.com/") || l.hasPrefix("https://youtu.be/")
    }

    private static func part(_ part: OpenAIChatRequest.Part, param: String) throws(TranslationError) -> JSONValue? {
        switch part {
        case .text(let t, _), .refusal(let t):
            return t.isEmpty ? nil : .object(["text": .string(t)])
        case .image(let url, let p):
            if let d = TranslationSupport.dataURL(url) {
                return .object(["inlineData": .object(["mimeType": .string(d.mediaType), "data": .string(d.base64)])])
            }
            guard isFetchableURI(url) else {
                throw .unsupportedValue(p, provider: provider,
                                        "only data: URLs and Files API, gs:// or YouTube URIs can be sent; inline the image as data:<type>;base64,")
            }
            var fd: [String: JSONValue] = ["fileUri": .string(url)]
            if let mt = TranslationSupport.mediaType(forPath: url) { fd["mimeType"] = .string(mt) }
            return .object(["fileData": .object(fd)])
        case .audio(let data, let format, _):
            return .object(["inlineData": .object(["mimeType": .string("audio/\(format)"), "data": .string(data)])])
        case .file(let data, let fileID, let filename, let p):
            if let fileID {
                guard isFetchableURI(fileID) else {
                    throw .unsupportedValue("\(p).file_id", provider: provider, "OpenAI file ids cannot be forwarded; send file_data")
                }
                var fd: [String: JSONValue] = ["fileUri": .string(fileID)]
                if let mt = filename.flatMap(TranslationSupport.mediaType(forPath:)) { fd["mimeType"] = .string(mt) }
                return .object(["fileData": .object(fd)])
            }
            guard let data else { throw .invalid(p, "File parts need 'file_data'.") }
            if let d = TranslationSupport.dataURL(data) {
                return .object(["inlineData": .object(["mimeType": .string(d.mediaType), "data": .string(d.base64)])])
            }
            let mt = filename.flatMap(TranslationSupport.mediaType(forPath:)) ?? "application/pdf"
            return .object(["inlineData": .object(["mimeType": .string(mt), "data": .string(data)])])
        }
    }

    // MARK: Response

    public static func finishReason(_ reason: String?, hasToolCalls: Bool) -> String {
        switch reason {
        case nil, "STOP"?, "FINISH_REASON_UNSPECIFIED"?:
            return hasToolCalls ? "tool_calls" : "stop"
        case "MAX_TOKENS"?:
            return "length"
        case "SAFETY"?, "RECITATION"?, "LANGUAGE"?, "OTHER"?, "BLOCKLIST"?, "PROHIBITED_CONTENT"?, "SPII"?, "IMAGE_SAFETY"?,
             "IMAGE_PROHIBITED_CONTENT"?, "NO_IMAGE"?, "IMAGE_RECITATION"?, "IMAGE_OTHER"?, "ESCALATION"?:
            return "content_filter"
        default:
            return "stop"
        }
    }

    /// A deterministic tool call id (see the type's documentation).
    public static func toolCallID(responseID: String, candidate: Int, call: Int, name: String, arguments: String) -> String {
        let h = TranslationSupport.fnv1a("\(responseID)\u{1F}\(candidate)\u{1F}\(call)\u{1F}\(name)\u{1F}\(arguments)")
        return "call_" + TranslationSupport.hex(h)
    }

    /// The OpenAI tool call for a Gemini `functionCall` part.
    static func toolCall(part: JSONValue, responseID: String, candidate: Int, call: Int) -> JSONValue {
        let fc = part["functionCall"]
        let name = fc?["name"]?.stringValue ?? ""
        let args = TranslationJSON.encodeSorted(fc?["args"] ?? .object([:]))
        var extra: [String: JSONValue] = [:]
        if let sig = part["thoughtSignature"]?.stringValue {
            extra["extra_content"] = .object(["google": .object(["thought_signature": .string(sig)])])
        }
        return OpenAIChat.toolCall(id: toolCallID(responseID: responseID, candidate: candidate, call: call, name: name, arguments: args),
                                   name: name, arguments: args, extra: extra)
    }

    static func responseID(_ body: JSONValue) -> String {
        body["responseId"]?.stringValue ?? ("chatcmpl-" + TranslationSupport.hex(TranslationSupport.fnv1a(body.canonicalJSON)))
    }

    public static func response(_ body: JSONValue, model: String, created: Int) -> JSONValue {
        let id = responseID(body)
        var choices: [JSONValue] = []
        for (position, cand) in (body["candidates"]?.arrayValue ?? []).enumerated() {
            let index = cand["index"].map { TranslationSupport.int($0) } ?? position
            var text: String?
            var reasoning: String?
            var calls: [JSONValue] = []
            for part in cand["content"]?["parts"]?.arrayValue ?? [] {
                if part["functionCall"] != nil {
                    calls.append(toolCall(part: part, responseID: id, candidate: index, call: calls.count))
                } else if let t = part["text"]?.stringValue {
                    if part["thought"]?.boolValue == true { reasoning = (reasoning ?? "") + t } else { text = (text ?? "") + t }
                }
            }
            let extra: [String: JSONValue] = reasoning.map { ["reasoning_content": .string($0)] } ?? [:]
            choices.append(OpenAIChat.choice(
                index: index, message: OpenAIChat.message(content: text, toolCalls: calls, extra: extra),
                finishReason: finishReason(cand["finishReason"]?.stringValue, hasToolCalls: !calls.isEmpty)))
        }
        if choices.isEmpty {
            // A blocked prompt: no candidates, `promptFeedback.blockReason` set.
            choices.append(OpenAIChat.choice(index: 0, message: OpenAIChat.message(content: nil, toolCalls: []),
                                             finishReason: "content_filter"))
        }
        return OpenAIChat.completion(id: id, created: created, model: model, choices: choices,
                                     usage: OpenAIChat.usageJSON(usage(body)))
    }

    /// Usage from a `GenerateContentResponse` (or a stream chunk) in OpenAI counting: completion includes
    /// thoughts; prompt includes cached content and tool-use prompt tokens.
    public static func usage(_ body: JSONValue) -> Usage {
        let u = body["usageMetadata"]
        let thoughts = TranslationSupport.tokens(u?["thoughtsTokenCount"])
        return Usage(promptTokens: TranslationSupport.tokens(u?["promptTokenCount"]) + TranslationSupport.tokens(u?["toolUsePromptTokenCount"]),
                     completionTokens: TranslationSupport.tokens(u?["candidatesTokenCount"]) + thoughts,
                     cachedPromptTokens: TranslationSupport.tokens(u?["cachedContentTokenCount"]),
                     reasoningTokens: thoughts)
    }

    // MARK: Errors

    /// A Google error (`{"error":{"code","message","status","details"}}`, possibly wrapped in an array)
    /// as an OpenAI error: status kept, `type` = the gRPC status name (`RESOURCE_EXHAUSTED`),
    /// `code` = the `ErrorInfo.reason` when present (`API_KEY_INVALID`).
    public static func error(status: Int, body: JSONValue?) -> (status: Int, body: JSONValue) {
        let e = body?["error"] ?? body?.arrayValue?.first?["error"]
        let type = e?["status"]?.stringValue ?? OpenAIChat.errorType(status: status)
        let message = e?["message"]?.stringValue ?? "Google AI Studio returned HTTP \(status)."
        let reason = e?["details"]?.arrayValue?.lazy.compactMap { $0["reason"]?.stringValue }.first
        var finalStatus = status
        if status < 400, let c = e?["code"]?.intValue, (400...599).contains(c) { finalStatus = c }
        return (finalStatus, OpenAIChat.errorBody(message: message, type: type, code: reason.map(JSONValue.string) ?? .null))
    }

    // MARK: Embeddings

    /// OpenAI `/v1/embeddings` → `embedContent` (one string) or `batchEmbedContents` (an array).
    public static func embeddingsRequest(from openAI: JSONValue, model: String) throws(TranslationError) -> GeminiRequest {
        guard case .object(let o) = openAI else { throw .invalid(nil, "The request body must be a JSON object.") }
        let bare = bareModel(model)
        if let f = o["encoding_format"], f != .null, f != .string("float"), f != .string("base64") {
            throw .invalid("encoding_format", "'encoding_format' must be float or base64.")
        }
        var dims: Int?
        switch o["dimensions"] {
        case nil, .null?: break
        case .number(let n)? where n.rounded() == n && n >= 1 && n < 1e9: dims = Int(n)
        default: throw .invalid("dimensions", "'dimensions' must be a positive integer.")
        }
        func content(_ text: String) -> JSONValue { .object(["parts": .array([.object(["text": .string(text)])])]) }
        switch o["input"] {
        case .string(let s)?:
            var body: [String: JSONValue] = ["content": content(s)]
            if let dims { body["outputDimensionality"] = .number(Double(dims)) }
            return GeminiRequest(body: .object(body), model: bare, method: "embedContent", stream: false,
                                 path: "\(apiVersion)/models/\(bare):embedContent")
        case .array(let items)? where !items.isEmpty:
            let requests = try items.enumerated().map { (i, v) throws(TranslationError) -> JSONValue in
                guard case .string(let s) = v else {
                    throw .unsupportedValue("input[\(i)]", provider: provider, "only text input is supported, not token arrays")
                }
                var r: [String: JSONValue] = ["model": .string("models/\(bare)"), "content": content(s)]
                if let dims { r["outputDimensionality"] = .number(Double(dims)) }
                return .object(r)
            }
            return GeminiRequest(body: .object(["requests": .array(requests)]), model: bare, method: "batchEmbedContents",
                                 stream: false, path: "\(apiVersion)/models/\(bare):batchEmbedContents")
        default:
            throw .invalid("input", "'input' must be a string or a non-empty array of strings.")
        }
    }

    /// `embedContent` / `batchEmbedContents` response → OpenAI embeddings list. `base64` packs each vector
    /// as little-endian float32, as OpenAI does (and the OpenAI Python SDK requests by default).
    public static func embeddingsResponse(_ body: JSONValue, model: String, encodingFormat: String = "float") -> JSONValue {
        let vectors: [JSONValue]
        if let one = body["embedding"] { vectors = [one] } else { vectors = body["embeddings"]?.arrayValue ?? [] }
        let data: [JSONValue] = vectors.enumerated().map { (i, v) in
            let values = v["values"]?.arrayValue ?? []
            let embedding: JSONValue
            if encodingFormat == "base64" {
                var bytes = [UInt8]()
                bytes.reserveCapacity(values.count * 4)
                for x in values {
                    let bits = Float(x.numberValue ?? 0).bitPattern.littleEndian
                    withUnsafeBytes(of: bits) { bytes.append(contentsOf: $0) }
                }
                embedding = .string(Data(bytes).base64EncodedString())
            } else {
                embedding = .array(values)
            }
            return .object(["object": .string("embedding"), "index": .number(Double(i)), "embedding": embedding])
        }
        let tokens = Double(embeddingsUsage(body).promptTokens)
        return .object([
            "object": .string("list"), "data": .array(data), "model": .string(model),
            "usage": .object(["prompt_tokens": .number(tokens), "total_tokens": .number(tokens)]),
        ])
    }

    /// Gemini's embedding responses usually carry no usage; then this is zero.
    public static func embeddingsUsage(_ body: JSONValue) -> Usage {
        Usage(promptTokens: TranslationSupport.tokens(body["usageMetadata"]?["promptTokenCount"]))
    }
}
