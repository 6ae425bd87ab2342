/// Gemini generateContent, streamGenerateContent, embedContent (wire-format reference §3).
/// Gemini's bytes use `": "` after keys, and its SSE events end in CRLF with no `[DONE]`.
enum GeminiFormat {
    static func digest(_ body: JSONValue, model: String, stream: Bool) -> ChatDigest? {
        guard let contents = body["contents"]?.array else { return nil }
        var promptParts = [partsText(body["systemInstruction", "system_instruction"]?["parts"])]
        var lastUserText = ""
        var lastIsToolResult = false
        for content in contents {
            let parts = content["parts"]?.array ?? []
            let text = partsText(.array(parts))
            promptParts.append(text)
            let role = content["role"]?.string ?? "user"
            let responses = parts.compactMap { $0["functionResponse", "function_response"] }
            if role != "model" {
                lastUserText = responses.isEmpty ? text : responses.compactMap { $0["name"]?.string }.joined(separator: " ") + " result"
            }
            lastIsToolResult = !responses.isEmpty
        }
        let declarations = (body["tools"]?.array ?? []).flatMap { $0["functionDeclarations", "function_declarations"]?.array ?? [] }
        let tools: [ChatDigest.Tool] = declarations.compactMap { declaration in
            guard let name = declaration["name"]?.string else { return nil }
            return ChatDigest.Tool(
                name: name,
                parameters: declaration["parameters", "parametersJsonSchema", "parameters_json_schema"]
            )
        }
        let config = body["toolConfig", "tool_config"]?["functionCallingConfig", "function_calling_config"]
        let allowed = config?["allowedFunctionNames", "allowed_function_names"]?.array?.first?.string
        let choice: ChatDigest.ToolChoice = switch config?["mode"]?.string?.uppercased() {
        case "NONE": .none
        case "ANY": allowed.map(ChatDigest.ToolChoice.named) ?? .required
        default: .auto
        }
        return ChatDigest(
            model: model, stream: stream, promptText: promptParts.filter { !$0.isEmpty }.joined(separator: "\n"),
            lastUserText: lastUserText, lastIsToolResult: lastIsToolResult, tools: tools, toolChoice: choice
        )
    }

    private static func partsText(_ parts: JSONValue?) -> String {
        (parts?.array ?? []).compactMap { $0["text"]?.string }.joined(separator: "\n")
    }

    static func responseID(_ context: AnswerContext) -> String { "fake-\(context.serial)" }

    static func generatePlan(digest: ChatDigest, answer: ChatAnswer, context: AnswerContext, sse: Bool) -> ResponsePlan {
        guard digest.stream else {
            var body = final(parts: parts(answer), answer: answer, context: context, detailed: true).rendered(.gemini)
            if context.behavior.malformed { body = String(body.prefix(body.count / 2)) }
            return .json(body, contentType: "application/json; charset=UTF-8")
        }
        var chunks: [String] = []
        switch answer.content {
        case .text(let text):
            for piece in text.fakeChunks(context.chunks) {
                chunks.append(JSONText.object([
                    ("candidates", .array([.object([
                        ("content", .object([("parts", .array([.object([("text", .string(piece))])])), ("role", .string("model"))])),
                        ("index", .int(0)),
                    ])])),
                ] + usage(answer: answer, context: context, final: false) + trailer(context)).rendered(.gemini))
            }
            chunks.append(final(parts: [.object([("text", .string(""))])], answer: answer, context: context, detailed: false)
                .rendered(.gemini))
        case .toolCall:
            chunks.append(final(parts: parts(answer), answer: answer, context: context, detailed: false).rendered(.gemini))
        }
        if context.behavior.malformed { chunks[0] = String(chunks[0].prefix(chunks[0].count / 2)) }
        if sse {
            return .sse(chunks.map { SSEEvent(data: $0) }, lineEnding: "\r\n", malformedIndex: nil, contentType: "text/event-stream")
        }
        // Without alt=sse Gemini streams one JSON array, element by element.
        let pieces = chunks.enumerated().map { index, chunk in (index == 0 ? "[" : "\r\n,\r\n") + chunk } + ["]"]
        return ResponsePlan(
            status: 200, headers: [("content-type", "application/json; charset=UTF-8")],
            body: .stream(pieces.map { Array($0.utf8) })
        )
    }

    private static func parts(_ answer: ChatAnswer) -> [JSONText] {
        switch answer.content {
        case .text(let text): [.object([("text", .string(text))])]
        case .toolCall(let name, let arguments):
            [.object([("functionCall", .object([("name", .string(name)), ("args", arguments)]))])]
        }
    }

    private static func final(parts: [JSONText], answer: ChatAnswer, context: AnswerContext, detailed: Bool) -> JSONText {
        .object([
            ("candidates", .array([.object([
                ("content", .object([("parts", .array(parts)), ("role", .string("model"))])),
                ("finishReason", .string("STOP")),
                ("index", .int(0)),
            ])])),
        ] + usage(answer: answer, context: context, final: true, detailed: detailed) + trailer(context))
    }

    private static func usage(answer: ChatAnswer, context: AnswerContext, final: Bool, detailed: Bool = false) -> [(String, JSONText)] {
        guard context.usage else { return [] }
        var members: [(String, JSONText)] = [("promptTokenCount", .int(answer.promptTokens))]
        if final { members.append(("candidatesTokenCount", .int(answer.completionTokens))) }
        members.append(("totalTokenCount", .int(final ? answer.totalTokens : answer.promptTokens)))
        if detailed {
            members.append(("promptTokensDetails", .array([.object([("modality", .string("TEXT")), ("tokenCount", .int(answer.promptTokens))])])))
        }
        return [("usageMetadata", .object(members))]
    }

    private static func trailer(_ context: AnswerContext) -> [(String, JSONText)] {
        [("modelVersion", .string(context.model)), ("responseId", .string(responseID(context)))]
    }

    static func embedPlan(body: JSONValue, batch: Bool, context: AnswerContext) -> ResponsePlan? {
        func dimensions(_ request: JSONValue) -> Int { request["outputDimensionality", "output_dimensionality"]?.int ?? 8 }
        func values(_ request: JSONValue) -> JSONText? {
            guard let content = request["content"] else { return nil }
            let dimensions = dimensions(request)
            return .object([("values", .array(FakeEmbedding.vector(for: partsText(content["parts"]), dimensions: dimensions)))])
        }
        let result: JSONText
        if batch {
            guard let requests = body["requests"]?.array, !requests.isEmpty, FakeEmbedding.fits(requests.lazy.map(dimensions)) else { return nil }
            let embeddings = requests.compactMap(values)
            guard embeddings.count == requests.count else { return nil }
            result = .object([("embeddings", .array(embeddings))])
        } else {
            guard let embedding = values(body) else { return nil }
            result = .object([("embedding", embedding)])
        }
        var text = result.rendered(.gemini)
        if context.behavior.malformed { text = String(text.prefix(text.count / 2)) }
        return .json(text, contentType: "application/json; charset=UTF-8")
    }

    static func modelsPlan(models: [String]) -> ResponsePlan {
        let list: [JSONText] = models.map { id in
            .object([
                ("name", .string("models/" + id)), ("displayName", .string(id)),
                ("supportedGenerationMethods", .array([.string("generateContent"), .string("countTokens")])),
            ])
        }
        return .json(JSONText.object([("models", .array(list))]).rendered(.gemini), contentType: "application/json; charset=UTF-8")
    }

    static func errorBody(status: Int, message: String?) -> String {
        let (code, defaultMessage): (String, String) = switch status {
        case 400: ("INVALID_ARGUMENT", "Request contains an invalid argument.")
        case 401: ("UNAUTHENTICATED", "API key not valid. Please pass a valid API key.")
        case 403: ("PERMISSION_DENIED", "The caller does not have permission.")
        case 404: ("NOT_FOUND", "Requested entity was not found.")
        case 429: ("RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).")
        case 499: ("CANCELLED", "The operation was cancelled.")
        case 503: ("UNAVAILABLE", "The model is overloaded. Please try again later.")
        case 504: ("DEADLINE_EXCEEDED", "Deadline exceeded.")
        case 400..<500: ("FAILED_PRECONDITION", "Precondition failed (simulated status \(status)).")
        default: ("INTERNAL", "An internal error has occurred.")
        }
        return JSONText.object([("error", .object([
            ("code", .int(status)), ("message", .string(message ?? defaultMessage)), ("status", .string(code)),
        ]))]).rendered(.gemini)
    }
}
