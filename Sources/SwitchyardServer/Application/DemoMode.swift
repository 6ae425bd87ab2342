import ServiceLifecycle
import SwitchyardProviders

/// `serve --demo`: the built-in fake provider answers for every provider without a key.
public enum DemoMode {
    public static func start(configuration: inout GatewayConfiguration, environment: [String: String]) async throws -> any Service {
        throw GatewayError.invalidProvider("--demo needs the fake provider, which is not built yet")
    }
}
