/// The sample request `switchyard explain` evaluates a route for.
public enum SampleRequest {
    public static let defaultBody: JSONValue = .object([
        "messages": .array([.object(["role": .string("user"), "content": .string("Hello! Can you help me with my order?")])]),
    ])

    /// `k=v` split at the first `=`; nil without one or with an empty key.
    public static func assignment(_ text: String) -> (key: String, value: String)? {
        guard let eq = text.firstIndex(of: "="), eq != text.startIndex else { return nil }
        return (String(text[..<eq]), String(text[text.index(after: eq)...]))
    }

    /// A metadata value: JSON when it parses as JSON (`3`, `true`, `"x"`, `[1]`), else the text itself.
    public static func value(_ text: String) -> JSONValue {
        (try? JSONValue.parse(text)) ?? .string(text)
    }

    public static func facts(route: String, metadata: [String: JSONValue], headers: [String: String], body: JSONValue, model: String?) -> RequestFacts {
        RequestFacts(
            metadata: metadata, headers: headers, body: body, model: model ?? "dynamic/\(route)", gateway: "default",
            estimatedInputTokens: RequestFacts.estimatedInputTokens(bodyBytes: body.canonicalJSON.utf8.count),
            estimatedOutputTokens: RequestFacts.estimatedOutputTokens(maxCompletionTokens: body["max_completion_tokens"], maxTokens: body["max_tokens"]))
    }
}
