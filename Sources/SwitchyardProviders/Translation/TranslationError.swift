public import SwitchyardCore

/// A request the translation layer refuses: the provider cannot honour a parameter, or the
/// OpenAI request itself is malformed. Always client-side, so `status` is a 4xx (400 in practice).
public struct TranslationError: Error, Sendable, Hashable, CustomStringConvertible {
    public var status: Int
    public var message: String
    /// The OpenAI request field at fault, as OpenAI names it in `error.param` (e.g. `temperature`,
    /// `messages[2].content[1].image_url`).
    public var param: String?
    /// OpenAI-style error code: `unsupported_parameter`, `unsupported_value` or `invalid_value`.
    public var code: String

    public init(status: Int = 400, message: String, param: String?, code: String = "invalid_value") {
        self.status = status
        // Bounded like the gateway's own errors: a message naming a client's value never echoes it whole.
        self.message = GatewayError.shown(message, limit: GatewayError.maxMessageCharacters)
        self.param = param
        self.code = code
    }

    static func unsupported(_ param: String, provider: String, _ detail: String? = nil) -> TranslationError {
        let tail = detail.map { ": \($0)" } ?? ""
        return TranslationError(
            message: "Parameter '\(param)' is not supported by provider '\(provider)'\(tail).",
            param: param, code: "unsupported_parameter")
    }

    static func unsupportedValue(_ param: String, provider: String, _ detail: String) -> TranslationError {
        TranslationError(
            message: "Unsupported value for '\(param)' with provider '\(provider)': \(detail).",
            param: param, code: "unsupported_value")
    }

    static func invalid(_ param: String?, _ message: String) -> TranslationError {
        TranslationError(message: message, param: param, code: "invalid_value")
    }

    /// The OpenAI error body for this error.
    public var openAIBody: JSONValue {
        .object(["error": .object([
            "message": .string(message),
            "type": .string("invalid_request_error"),
            "param": param.map(JSONValue.string) ?? .null,
            "code": .string(code),
        ])])
    }

    public var description: String { "TranslationError(\(status), \(param ?? "-")): \(message)" }
}
