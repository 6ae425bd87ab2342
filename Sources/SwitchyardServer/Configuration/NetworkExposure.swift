/// Whether a configuration may listen where other machines can reach it.
public enum NetworkExposure {
    /// `127.0.0.0/8`, `::1` and `localhost`: reachable from this machine only.
    public static func isLoopback(host: String) -> Bool {
        let h = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        return h == "localhost" || h == "::1" || h.hasPrefix("127.") || h == "0:0:0:0:0:0:0:1"
    }

    /// Why `serve` refuses to start, or nil. Listening on a non-loopback address with no gateway
    /// requiring a token and no admin token would let anyone who can reach the port spend the
    /// stored provider keys and (through `/admin`, were it open) read stored prompts and answers.
    /// `listen.allow_unauthenticated: true` (or `serve --allow-unauthenticated`) says that is meant.
    public static func refusal(_ configuration: GatewayConfiguration) -> String? {
        let host = configuration.listen.host
        guard !isLoopback(host: host), !configuration.listen.allowUnauthenticated else { return nil }
        let gatewayTokens = configuration.gateways.values.contains { $0.authentication && !$0.tokens.isEmpty }
        let adminToken = configuration.controls.adminToken != nil
        guard !gatewayTokens, !adminToken else { return nil }
        return """
            switchyard: refusing to listen on \(host): no gateway requires a token and no admin token is set, so anyone \
            who can reach this address could use the stored provider keys.
            Set, in switchyard.yaml:
              gateways: { default: { authentication: true, tokens: ["${SWITCHYARD_TOKEN}"] } }
              admin: { token: "${SWITCHYARD_ADMIN_TOKEN}" }
            or listen on 127.0.0.1 (the default), or pass --allow-unauthenticated (listen.allow_unauthenticated: true) \
            if this network is trusted.
            """
    }

    /// A warning for a configuration that starts but leaves something open to the network, or nil.
    public static func warning(_ configuration: GatewayConfiguration) -> String? {
        guard !isLoopback(host: configuration.listen.host) else { return nil }
        let open = configuration.gateways.filter { !$0.value.authentication }.map(\.key).sorted()
        var parts: [String] = []
        if !open.isEmpty { parts.append("gateways without authentication: \(open.joined(separator: ", "))") }
        if configuration.controls.adminToken == nil { parts.append("/admin answers loopback clients only (no admin.token)") }
        return parts.isEmpty ? nil : "switchyard: warning: listening on \(configuration.listen.host) with " + parts.joined(separator: "; ")
    }
}

import Foundation
