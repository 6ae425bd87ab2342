/// Cloudflare Workers AI native `/ai/run/{model}` (wire-format reference §4.4).
enum WorkersAIFormat {
    static func runPlan(
        body: JSONValue, model: String, context: AnswerContext, answer makeAnswer: (ChatDigest) -> ChatAnswer
    ) -> ResponsePlan? {
        if body["messages"] == nil, body["prompt"] == nil, let text = body["text"] {
            let inputs = text.array?.compactMap(\.string) ?? text.string.map { [$0] } ?? []
            guard !inputs.isEmpty, FakeEmbedding.fits(repeatElement(8, count: inputs.count)) else { return nil }
            let vectors: [JSONText] = inputs.map { .array(FakeEmbedding.vector(for: $0, dimensions: 8)) }
            return envelope(.object([("shape", .array([.int(inputs.count), .int(8)])), ("data", .array(vectors))]), context)
        }
        let digest: ChatDigest
        if let prompt = body["prompt"]?.string {
            digest = ChatDigest(
                model: model, stream: body["stream"]?.bool ?? false, promptText: prompt, lastUserText: prompt,
                lastIsToolResult: false, tools: [], toolChoice: .none
            )
        } else {
            guard var openAIStyle = body.object else { return nil }
            openAIStyle["model"] = .string(model)
            guard var parsed = OpenAIFormat.digest(.object(openAIStyle)) else { return nil }
            parsed.tools = []
            digest = parsed
        }
        let answer = makeAnswer(digest)
        guard case .text(let text) = answer.content else { return nil }
        let usage: JSONText = .object([
            ("prompt_tokens", .int(answer.promptTokens)), ("completion_tokens", .int(answer.completionTokens)),
            ("total_tokens", .int(answer.totalTokens)),
        ])
        guard digest.stream else {
            var result: [(String, JSONText)] = [("response", .string(text))]
            if context.usage { result.append(("usage", usage)) }
            return envelope(.object(result), context)
        }
        var events = text.fakeChunks(context.chunks).enumerated().map { index, piece in
            var members: [(String, JSONText)] = [("response", .string(piece))]
            if index == 0 { members.append(("p", .string("abcd"))) }
            return SSEEvent(data: JSONText.object(members).rendered())
        }
        if context.usage {
            events.append(SSEEvent(data: JSONText.object([("response", .string("")), ("usage", usage)]).rendered()))
        }
        events.append(SSEEvent(data: "[DONE]"))
        return .sse(events, malformedIndex: context.behavior.malformed ? 0 : nil, contentType: "text/event-stream")
    }

    private static func envelope(_ result: JSONText, _ context: AnswerContext) -> ResponsePlan {
        var text = JSONText.object([
            ("result", result), ("success", .bool(true)), ("errors", .array([])), ("messages", .array([])),
        ]).rendered()
        if context.behavior.malformed { text = String(text.prefix(text.count / 2)) }
        return .json(text)
    }

    static func errorBody(status: Int, message: String?) -> String {
        let (code, defaultMessage): (Int, String) = switch status {
        case 400: (5006, "Bad input")
        case 401, 403: (10000, "Authentication error")
        case 404: (7000, "No route for that URI")
        case 429: (3040, "Capacity temporarily exceeded, please try again.")
        default: (7003, "Internal server error (simulated status \(status)).")
        }
        return JSONText.object([
            ("success", .bool(false)),
            ("errors", .array([.object([("code", .int(code)), ("message", .string(message ?? defaultMessage))])])),
            ("messages", .array([])), ("result", .null),
        ]).rendered()
    }
}
