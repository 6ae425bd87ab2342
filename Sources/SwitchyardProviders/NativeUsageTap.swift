import Foundation
import NIOCore
import SwitchyardCore

/// Reads usage out of a provider-native (passthrough) response while its bytes are forwarded: a
/// stream is parsed event by event through the provider's stream translator (its output is
/// discarded), a JSON body is copied aside up to `maxJSONBytes` and read when it ends.
public struct NativeUsageTap: Sendable {
    public static let maxJSONBytes = 8 << 20

    private enum Mode: Sendable {
        case events(SSEEventDecoder, any StreamTranslator)
        case json([UInt8])
        case off
    }

    private let family: ProviderInfo.Family
    private var mode: Mode

    /// `path` is the upstream path (after the base URL); `contentType` the response's.
    public init(family: ProviderInfo.Family, path: String, contentType: String, status: Int) {
        self.family = family
        let type = contentType.lowercased()
        if !(200..<300).contains(status) {
            mode = .off
        } else if type.hasPrefix("text/event-stream") {
            let translator: any StreamTranslator = switch family {
            case .anthropic: TranslatingStream(inner: AnthropicStreamTranslator(model: "", includeUsage: false, created: 0, id: "tap"))
            case .gemini: TranslatingStream(inner: GeminiStreamTranslator(model: "", includeUsage: false, created: 0, id: "tap"))
            case .workersAI where path.contains("/run/"):
                TranslatingStream(inner: WorkersAIStreamTranslator(model: "", includeUsage: false, created: 0, id: "tap"))
            default: OpenAIStreamTranslator(stripUsageChunk: false)
            }
            mode = .events(SSEEventDecoder(), translator)
        } else if type.contains("json") {
            mode = .json([])
        } else {
            mode = .off
        }
    }

    public mutating func observe(_ chunk: ByteBuffer) {
        switch mode {
        case .events(var parser, var translator):
            mode = .off
            for event in parser.feed(chunk.readableBytesView) { _ = translator.translate(event) }
            mode = .events(parser, translator)
        case .json(var bytes):
            mode = .off
            if bytes.count + chunk.readableBytes <= Self.maxJSONBytes {
                bytes.append(contentsOf: chunk.readableBytesView)
                mode = .json(bytes)
            }
        case .off:
            break
        }
    }

    /// The body ended; the usage it reported, if any.
    public mutating func finish() -> Usage? {
        let found: Usage?
        switch mode {
        case .events(var parser, var translator):
            for last in parser.finish() { _ = translator.translate(last) }
            found = translator.usage
        case .json(let bytes):
            found = (try? JSONValue.parse(bytes: bytes)).flatMap(usage(inBody:))
        case .off:
            found = nil
        }
        mode = .off
        guard let found, found.totalTokens > 0 else { return nil }
        return found
    }

    private func usage(inBody json: JSONValue) -> Usage? {
        switch family {
        case .anthropic:
            return json["usage"] == nil ? nil : AnthropicTranslation.usage(json)
        case .gemini:
            // `streamGenerateContent` without `alt=sse` answers a JSON array of responses.
            let last = json.arrayValue?.last(where: { $0["usageMetadata"] != nil }) ?? json
            return last["usageMetadata"] == nil ? nil : GeminiTranslation.usage(last)
        case .workersAI:
            return WorkersAITranslation.usage(json)
        case .openAICompatible, .azureOpenAI:
            return UsageParser.usage(in: json)
        }
    }
}
