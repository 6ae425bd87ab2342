/// Where a request path points, decided from the raw path before any body is read.
enum GatewayPath: Equatable {
    enum CompatEndpoint: String {
        case chatCompletions = "chat/completions"
        case embeddings
        case models
    }

    case healthz
    case metrics
    /// `/admin/{rest}`.
    case admin(rest: String)
    /// `/dashboard` and `/dashboard/{asset}` (`asset` empty for the page).
    case dashboard(asset: String)
    case compat(account: String?, gateway: String, endpoint: CompatEndpoint)
    /// `POST /v1/{account}/{gateway}`: Cloudflare's universal endpoint.
    case universal(account: String, gateway: String)
    /// `rest` is the raw (still percent-encoded) path after the provider segment, with a leading `/` unless empty.
    case passthrough(account: String?, gateway: String, provider: String, rest: String)
    case notFound

    /// `path` is the raw path without the query.
    init(path: String) {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map(String.init)
        var segments = parts
        if segments.last == "" { segments.removeLast() }
        if segments == ["healthz"] {
            self = .healthz
            return
        }
        if segments == ["metrics"] {
            self = .metrics
            return
        }
        if segments.first == "dashboard" {
            self = .dashboard(asset: segments.dropFirst().joined(separator: "/"))
            return
        }
        if segments.first == "admin" {
            self = .admin(rest: segments.dropFirst().joined(separator: "/"))
            return
        }
        var account: String?
        var gateway = "default"
        var tail = ArraySlice(segments)
        if segments.first == "v1", segments.count >= 3 {
            account = segments[1]
            gateway = segments[2]
            tail = segments.dropFirst(3)
        }
        guard let head = tail.first, !head.isEmpty else {
            if let account, segments.count == 3 {
                self = .universal(account: account, gateway: gateway)
            } else {
                self = .notFound
            }
            return
        }
        if head == "compat" {
            let endpoint = tail.dropFirst().joined(separator: "/")
            if let e = CompatEndpoint(rawValue: endpoint) {
                self = .compat(account: account, gateway: gateway, endpoint: e)
            } else {
                self = .notFound
            }
            return
        }
        let restParts = parts.dropFirst(parts.count - tail.count + 1)
        let rest = restParts.isEmpty ? "" : "/" + restParts.joined(separator: "/")
        self = .passthrough(account: account, gateway: gateway, provider: head, rest: rest)
    }

    var gateway: String? {
        switch self {
        case .compat(_, let g, _), .passthrough(_, let g, _, _), .universal(_, let g): g
        case .healthz, .metrics, .admin, .dashboard, .notFound: nil
        }
    }

    var account: String? {
        switch self {
        case .compat(let a, _, _), .passthrough(let a, _, _, _): a
        case .universal(let a, _): a
        case .healthz, .metrics, .admin, .dashboard, .notFound: nil
        }
    }

    /// The `endpoint` label of metrics.
    var endpointLabel: String {
        switch self {
        case .healthz: "healthz"
        case .metrics: "metrics"
        case .compat(_, _, let e): "compat/" + e.rawValue
        case .passthrough: "passthrough"
        case .universal: "universal"
        case .admin: "admin"
        case .dashboard: "dashboard"
        case .notFound: "unknown"
        }
    }
}
