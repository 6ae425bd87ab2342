import ServiceLifecycle
import SwitchyardCore
import SwitchyardFakeUpstream
import SwitchyardProviders
import SwitchyardServer

/// `serve --demo`: the built-in fake provider answers for every provider without a key, with
/// answers marked "[simulated]".
enum DemoMode {
    struct Started: Sendable {
        let service: any Service
        /// What to print at startup.
        let banner: String
        let openAIBaseURL: String
        let baseURL: String

        /// Points every provider without a key at the fake (again, for a reloaded configuration).
        @discardableResult
        func overlay(_ configuration: inout GatewayConfiguration, environment: [String: String]) -> [String] {
            let table = ProviderTable(settings: configuration.providers, environment: environment)
            var simulated: [String] = []
            for provider in table.providers where provider.keys.isEmpty && !provider.isCustom {
                var settings = configuration.providers[provider.slug] ?? ProviderSettings()
                switch provider.family {
                case .openAICompatible, .azureOpenAI: settings.baseURL = openAIBaseURL
                case .anthropic, .gemini, .workersAI: settings.baseURL = baseURL
                }
                settings.keys = ["default": "demo-key"]
                configuration.providers[provider.slug] = settings
                simulated.append(provider.slug)
            }
            return simulated
        }
    }

    static func start(configuration: inout GatewayConfiguration, environment: [String: String]) async throws -> Started {
        let fake = try await FakeUpstream.start(FakeUpstreamConfiguration(host: "127.0.0.1", port: 0, simulatedMarker: true))
        var started = Started(service: FakeUpstreamService(upstream: fake), banner: "", openAIBaseURL: fake.openAIBaseURL, baseURL: fake.baseURL)
        let simulated = started.overlay(&configuration, environment: environment)
        let banner = simulated.isEmpty
            ? "switchyard --demo: every provider has a key; the simulated provider at \(fake.baseURL) is unused"
            : "switchyard --demo: SIMULATED answers (prefixed \"[simulated]\") from the built-in fake provider at \(fake.baseURL) for: \(simulated.joined(separator: ", "))"
        started = Started(service: started.service, banner: banner, openAIBaseURL: fake.openAIBaseURL, baseURL: fake.baseURL)
        return started
    }
}

/// Stops the demo's fake provider with the gateway.
struct FakeUpstreamService: Service {
    let upstream: FakeUpstream

    func run() async throws {
        try? await gracefulShutdown()
        try await upstream.shutdown()
    }
}
