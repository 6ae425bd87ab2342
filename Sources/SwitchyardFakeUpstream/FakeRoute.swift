import Foundation

/// Which provider endpoint a request addresses; decides the wire format and the error body shape.
enum FakeRoute: Equatable {
    enum Provider { case openAI, anthropic, gemini, workersAI }

    case openAIChat
    case openAIEmbeddings
    case openAIModels
    case anthropicMessages
    case anthropicModels
    case anthropicCountTokens
    case geminiGenerate(model: String, stream: Bool, sse: Bool)
    case geminiEmbed(model: String, batch: Bool)
    case geminiModels
    case geminiCountTokens(model: String)
    case workersAIRun(model: String)
    case notFound(Provider)

    init(method: String, path: String, query: String?, anthropicVersion: Bool) {
        let isPost = method == "POST"
        if isPost, let range = path.range(of: "/ai/run/") {
            self = .workersAIRun(model: String(path[range.upperBound...]))
        } else if path == "/v1/messages/count_tokens" {
            self = isPost ? .anthropicCountTokens : .notFound(.anthropic)
        } else if path == "/v1/messages" {
            self = isPost ? .anthropicMessages : .notFound(.anthropic)
        } else if path.hasSuffix("/chat/completions") {
            self = isPost ? .openAIChat : .notFound(.openAI)
        } else if path.hasSuffix("/embeddings") {
            self = isPost ? .openAIEmbeddings : .notFound(.openAI)
        } else if path == "/v1beta/models" {
            self = .geminiModels
        } else if path.hasSuffix("/models") {
            self = method == "GET" ? (anthropicVersion ? .anthropicModels : .openAIModels) : .notFound(.openAI)
        } else if isPost, let range = path.range(of: "/models/"), path.hasPrefix("/v1") {
            let rest = path[range.upperBound...]
            guard let colon = rest.lastIndex(of: ":") else {
                self = .notFound(.gemini)
                return
            }
            let model = String(rest[..<colon])
            let sse = (query ?? "").split(separator: "&").contains("alt=sse")
            switch rest[rest.index(after: colon)...] {
            case "generateContent": self = .geminiGenerate(model: model, stream: false, sse: false)
            case "streamGenerateContent": self = .geminiGenerate(model: model, stream: true, sse: sse)
            case "embedContent": self = .geminiEmbed(model: model, batch: false)
            case "batchEmbedContents": self = .geminiEmbed(model: model, batch: true)
            case "countTokens": self = .geminiCountTokens(model: model)
            default: self = .notFound(.gemini)
            }
        } else {
            self = .notFound(path.hasPrefix("/v1beta") ? .gemini : .openAI)
        }
    }

    var provider: Provider {
        switch self {
        case .openAIChat, .openAIEmbeddings, .openAIModels: .openAI
        case .anthropicMessages, .anthropicModels, .anthropicCountTokens: .anthropic
        case .geminiGenerate, .geminiEmbed, .geminiModels, .geminiCountTokens: .gemini
        case .workersAIRun: .workersAI
        case .notFound(let provider): provider
        }
    }

    /// Model named by the path (Gemini, Workers AI); others carry it in the body.
    var pathModel: String? {
        switch self {
        case .geminiGenerate(let model, _, _), .geminiEmbed(let model, _), .geminiCountTokens(let model), .workersAIRun(let model):
            model.removingPercentEncoding ?? model
        default: nil
        }
    }
}
