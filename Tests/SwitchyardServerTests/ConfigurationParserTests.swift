import SwitchyardCore
import SwitchyardProviders
import Testing

@testable import SwitchyardServer

@Suite struct ConfigurationParserTests {
    func errors(_ text: String, environment: [String: String] = [:]) -> [String] {
        do {
            _ = try ConfigurationParser.parse(text, path: "switchyard.yaml", environment: environment)
            return []
        } catch {
            return error.diagnostics.map(\.description)
        }
    }

    @Test func unknownKeyNamesPlaceAndLikelyKey() {
        let text = """
            gateways:
              default:
                authentication: false
                colect_logs: true
            """
        #expect(errors(text) == ["switchyard.yaml:4:5: error: unknown key 'colect_logs' in gateways.default; did you mean 'collect_logs'?"])
    }

    /// The configuration is read by the route files' reader: a key written twice is an error (Yams'
    /// composer kept the last one silently), and an alias bomb stops at the node budget.
    @Test func duplicateKeysAndAliasBombsAreRefused() {
        #expect(errors("storage: memory\nstorage: sqlite:x.sqlite\n") == ["switchyard.yaml:2:1: error: duplicate key 'storage' (first written at line 1); remove one of them"])
        var bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        for (i, name) in ["b", "c", "d", "e", "f", "g"].enumerated() {
            let previous = i == 0 ? "a" : ["b", "c", "d", "e", "f", "g"][i - 1]
            bomb += "\(name): &\(name) [*\(previous), *\(previous), *\(previous), *\(previous), *\(previous), *\(previous), *\(previous), *\(previous), *\(previous), *\(previous)]\n"
        }
        #expect(errors(bomb).first?.contains("more than 200000 values") == true)
        #expect(errors("") == [] && errors("# nothing\n") == [] && errors("~\n") == [])
    }

    @Test func unknownTopLevelKey() {
        #expect(errors("listen: { host: 0.0.0.0 }\nprovders: {}\n") == ["switchyard.yaml:2:1: error: unknown key 'provders'; did you mean 'providers'?"])
    }

    @Test func wrongTypes() {
        let text = """
            listen:
              port: eighty
            gateways:
              default:
                authentication: maybe
                tokens: { a: b }
            """
        #expect(errors(text) == [
            "switchyard.yaml:2:9: error: 'listen.port' must be a whole number from 0 to 2147483647, found 'eighty'",
            "switchyard.yaml:5:21: error: 'gateways.default.authentication' must be true or false, found 'maybe'",
            "switchyard.yaml:6:13: error: 'gateways.default.tokens' must be a list of strings, found a mapping",
        ])
    }

    @Test func unsetVariableIsNamed() {
        let text = """
            providers:
              openai:
                keys: { default: "${OPENAI_API_KEY}", team-b: "${OPENAI_KEY_B}" }
            """
        #expect(errors(text, environment: ["OPENAI_API_KEY": "sk-a"]) == [
            "switchyard.yaml:3:51: error: environment variable 'OPENAI_KEY_B' is not set (used in providers.openai.keys.team-b)"
        ])
    }

    @Test func variablesAreSubstitutedEverywhere() throws {
        let text = """
            listen: { host: "${HOST}", port: "${PORT}" }
            gateways:
              default:
                authentication: true
                tokens: ["${SWITCHYARD_TOKEN}"]
            """
        let c = try ConfigurationParser.parse(text, environment: ["HOST": "0.0.0.0", "PORT": "9000", "SWITCHYARD_TOKEN": "tok"])
        #expect(c.listen == .init(host: "0.0.0.0", port: 9000))
        #expect(c.gateways["default"]?.tokens == ["tok"])
        #expect(c.gateways["default"]?.authentication == true)
    }

    @Test func everyKeyOfTheSpecExample() throws {
        let text = """
            listen: { host: 127.0.0.1, port: 8787 }
            routes: routes/
            storage: sqlite:switchyard.sqlite
            gateways:
              default:
                authentication: false
                tokens: ["${SWITCHYARD_TOKEN}"]
                collect_logs: true
                cache: { ttl: 0 }
                rate_limit: { limit: 1000, per: 1m, technique: sliding }
              team:
                cache: { ttl: 5m }
            providers:
              openai:
                base_url: https://api.openai.com/v1
                keys: { default: "${OPENAI_API_KEY}", team-b: "${OPENAI_KEY_B}" }
              anthropic:
                base_url: https://api.anthropic.com
                keys: { default: "${ANTHROPIC_API_KEY}" }
              my-vllm:
                kind: openai-compatible
                base_url: http://10.0.0.5:8000/v1
            pricing:
              openai/gpt-5.2: { input: 1.25, output: 10.0, cached_input: 0.125 }
            limits: { max_body_bytes: 1024, request_timeout: 30s, shutdown_grace: 5s }
            """
        let env = ["SWITCHYARD_TOKEN": "t", "OPENAI_API_KEY": "a", "OPENAI_KEY_B": "b", "ANTHROPIC_API_KEY": "c"]
        let c = try ConfigurationParser.parse(text, environment: env)
        #expect(c.routesDirectory == "routes/")
        #expect(c.gateways["default"]?.rateLimit == .init(limit: 1000, per: 60, technique: .sliding))
        #expect(c.gateways["team"]?.cacheTTL == 300)
        #expect(c.providers["openai"]?.keys == ["default": "a", "team-b": "b"])
        #expect(c.providers["my-vllm"] == ProviderSettings(kind: .openAICompatible, baseURL: "http://10.0.0.5:8000/v1"))
        #expect(c.pricing["openai/gpt-5.2"] == ModelPrice(input: 1.25, output: 10, cachedInput: 0.125))
        #expect(c.limits.maxBodyBytes == 1024)
        #expect(c.limits.requestTimeout == .seconds(30))
        #expect(c.limits.shutdownGrace == .seconds(5))
    }

    @Test func defaultsWithoutAFile() throws {
        let c = try ConfigurationParser.parse("", environment: [:])
        #expect(c.listen == .init(host: "127.0.0.1", port: 8787))
        #expect(c.gateways.keys.sorted() == ["default"])
        #expect(c.limits.maxBodyBytes == 10 << 20)
    }

    @Test func customProviderNeedsKind() {
        let text = """
            providers:
              opnai:
                base_url: http://localhost:1/v1
            """
        #expect(errors(text) == ["switchyard.yaml:2:3: error: unknown provider 'opnai'; a custom provider needs 'kind: openai-compatible' and a base_url; did you mean 'openai'?"])
    }

    @Test func badURLAndDuration() {
        let text = """
            providers:
              openai: { base_url: "not a url" }
            gateways:
              default: { rate_limit: { limit: 5, per: soon } }
            """
        #expect(errors(text) == [
            "switchyard.yaml:2:23: error: 'providers.openai.base_url' must be an http:// or https:// URL, found 'not a url'",
            "switchyard.yaml:4:43: error: 'gateways.default.rate_limit.per' must be a duration such as 250ms, 20s, 5m, 1h or 1d, found 'soon'",
            "switchyard.yaml:4:26: error: 'gateways.default.rate_limit' needs 'limit' and 'per'",
        ])
    }

    @Test func yamlSyntaxError() {
        #expect(errors("gateways: [\n").first?.hasPrefix("switchyard.yaml:") == true)
        #expect(errors("gateways: [\n").first?.contains("error: invalid YAML") == true)
    }
}
