import Foundation
import Synchronization
import SwitchyardCore
import SwitchyardProviders

/// What the request path reads of the configuration, built whole from one configuration and
/// swapped atomically on reload: gateways and their tokens, providers and their keys, prices, the
/// admin and metrics tokens, and the secrets to redact.
final class GatewaySettings: Sendable {
    struct Gateway: Sendable {
        let settings: GatewayConfiguration.Gateway
        let tokens: TokenSet
    }

    let configuration: GatewayConfiguration
    let gateways: [String: Gateway]
    /// Every gateway's tokens and the admin token: never forwarded upstream, from any endpoint.
    let credentials: GatewayCredentials
    let providers: ProviderTable
    let prices: PriceTable
    /// Every configured secret (stored keys, gateway, admin and metrics tokens), plus those of
    /// earlier versions: a key rotated out may still appear in an answer to a request begun before.
    let redactor: SecretRedactor
    let adminTokens: TokenSet
    let metricsTokens: TokenSet
    /// The label values metrics keep as they are (configured gateways, providers, priced models).
    let metricLabels: GatewayMetrics.LabelSets
    /// 1 for the configuration the process started with, +1 per applied reload.
    let version: Int
    let loadedAt: Date

    /// Secrets of earlier versions kept for redaction, at most this many.
    static let retainedSecrets = 1000

    init(configuration: GatewayConfiguration, environment: [String: String], version: Int = 1, previous: GatewaySettings? = nil, loadedAt: Date = Date()) {
        self.configuration = configuration
        self.version = version
        self.loadedAt = loadedAt
        var gateways: [String: Gateway] = [:]
        for (name, settings) in configuration.gateways {
            gateways[name] = Gateway(settings: settings, tokens: TokenSet(settings.tokens))
        }
        if gateways["default"] == nil {
            gateways["default"] = Gateway(settings: .init(), tokens: TokenSet([]))
        }
        self.gateways = gateways
        credentials = GatewayCredentials(gateways: configuration.gateways.values, adminToken: configuration.controls.adminToken)
        providers = ProviderTable(settings: configuration.providers, environment: environment)
        prices = PriceTable(overrides: configuration.pricing)
        metricLabels = GatewayMetrics.LabelSets(configuration: configuration, providers: providers)
        let controls = configuration.controls
        var secrets: [String] = []
        for provider in providers.providers { secrets += provider.keys.values }
        for gateway in configuration.gateways.values { secrets += gateway.tokens }
        if let admin = controls.adminToken { secrets.append(admin) }
        if let token = controls.metricsToken { secrets.append(token) }
        if let previous {
            let current = Set(secrets)
            secrets += previous.redactor.secrets.filter { !current.contains($0) }.prefix(Self.retainedSecrets)
        }
        redactor = SecretRedactor(secrets)
        adminTokens = TokenSet(controls.adminToken.map { [$0] } ?? [])
        metricsTokens = TokenSet(controls.metricsToken.map { [$0] } ?? [])
    }
}

/// The current `GatewaySettings`, and the ones a request started with.
///
/// A request pins the settings current when it arrives (`pin`), so that it finishes on them
/// whatever reloads happen meanwhile: its retries use the keys it started with, its log record
/// the prices it was quoted. New requests read the latest settings.
final class SettingsStore: Sendable {
    struct Pin: Sendable {
        let store: ObjectIdentifier
        let settings: GatewaySettings
    }

    @TaskLocal static var pinned: Pin?

    private let live: Mutex<GatewaySettings>

    init(_ settings: GatewaySettings) {
        live = Mutex(settings)
    }

    /// The settings this request started with, else the latest.
    var current: GatewaySettings {
        if let pin = Self.pinned, pin.store == ObjectIdentifier(self) { return pin.settings }
        return live.withLock { $0 }
    }

    /// The latest settings, whatever the calling request pinned.
    var latest: GatewaySettings { live.withLock { $0 } }

    func replace(_ settings: GatewaySettings) {
        live.withLock { $0 = settings }
    }

    /// Runs `body` with the latest settings pinned.
    func pin<T>(_ body: () async throws -> T) async rethrows -> T {
        try await Self.$pinned.withValue(Pin(store: ObjectIdentifier(self), settings: latest)) { try await body() }
    }
}
