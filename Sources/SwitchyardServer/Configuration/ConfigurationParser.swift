import Foundation
import SwitchyardCore
import SwitchyardProviders

/// The configuration file had errors; each is `path:line:column: error: message`.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public let diagnostics: [Diagnostic]
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

/// Parses `switchyard.yaml` text. Every problem is reported with its line and column: unknown
/// keys (with the likely intended one), wrong types, unset `${VAR}`s.
public enum ConfigurationParser {
    /// The paths of the `${file:...}` references in a configuration text.
    public static func secretFiles(in text: String) -> [String] {
        var paths: [String] = []
        var rest = Substring(text)
        while let start = rest.range(of: "${file:") {
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else { break }
            paths.append(String(rest[start.upperBound..<end]))
            rest = rest[rest.index(after: end)...]
        }
        return paths
    }

    public static func parse(_ text: String, path: String = "switchyard.yaml", environment: [String: String]) throws(ConfigurationError) -> GatewayConfiguration {
        var reader = Reader(path: path, environment: environment)
        var configuration = GatewayConfiguration()
        // The route files' reader: bounded depth and size, duplicate keys refused, scalars untyped.
        switch YAMLReader(maxDepth: 32).read(text) {
        case .success(let root): reader.read(root, into: &configuration)
        case .failure(.empty): break
        case .failure(let failure): throw ConfigurationError(diagnostics: [reader.syntaxDiagnostic(failure)])
        }
        if !reader.diagnostics.isEmpty { throw ConfigurationError(diagnostics: reader.diagnostics) }
        return configuration
    }
}

private struct Reader {
    let path: String
    let environment: [String: String]
    var diagnostics: [Diagnostic] = []

    init(path: String, environment: [String: String]) {
        self.path = path
        self.environment = environment
    }

    func location(_ node: YNode) -> SourceLocation {
        SourceLocation(path: path, line: node.position.line, column: node.position.column)
    }

    mutating func error(_ node: YNode, _ message: String, suggestion: String? = nil) {
        diagnostics.append(Diagnostic(.error, at: location(node), message, suggestion: suggestion))
    }

    func syntaxDiagnostic(_ failure: YAMLReader.Failure) -> Diagnostic {
        func at(_ p: SourcePosition) -> SourceLocation { SourceLocation(path: path, line: p.line, column: p.column) }
        switch failure {
        case .syntax(let p, let problem):
            return Diagnostic(.error, at: at(p), "invalid YAML: \(problem)")
        case .duplicateKey(let p, let key, let first):
            return Diagnostic(.error, at: at(p), "duplicate key '\(key)' (first written at line \(first.line))", suggestion: "remove one of them")
        case .tooDeep(let p):
            return Diagnostic(.error, at: at(p), "the document nests more than 32 levels deep")
        case .tooManyNodes:
            return Diagnostic(.error, at: at(.start), "the document expands to more than 200000 values (check its YAML aliases)")
        case .empty:
            return Diagnostic(.error, at: at(.start), "the file is empty")
        }
    }

    // MARK: Shapes

    /// The entries of a mapping, checking keys against `allowed` (nil = any key).
    mutating func mapping(_ node: YNode, at keyPath: String, allowed: [String]?) -> [(key: String, keyNode: YNode, value: YNode)] {
        guard case .mapping(let mapping) = node.value else {
            error(node, "'\(keyPath)' must be a mapping, found \(describe(node))")
            return []
        }
        var entries: [(String, YNode, YNode)] = []
        for pair in mapping {
            let (keyNode, value) = (pair.key, pair.value)
            guard let key = keyNode.scalar?.text else {
                error(keyNode, "keys in \(keyPath) must be strings")
                continue
            }
            if let allowed, !allowed.contains(key) {
                let place = keyPath.isEmpty ? "" : " in \(keyPath)"
                error(keyNode, "unknown key '\(key)'\(place)", suggestion: NameSuggestion.nearest(to: key, in: allowed).map { "did you mean '\($0)'?" })
                continue
            }
            entries.append((key, keyNode, value))
        }
        return entries
    }

    func describe(_ node: YNode) -> String {
        switch node.value {
        case .scalar(let s): s.text.isEmpty ? "an empty value" : "'\(s.text)'"
        case .mapping: "a mapping"
        case .sequence: "a list"
        }
    }

    /// A scalar with `${VAR}` replaced.
    mutating func string(_ node: YNode, at keyPath: String) -> String? {
        guard case .scalar(let scalar) = node.value else {
            error(node, "'\(keyPath)' must be a string, found \(describe(node))")
            return nil
        }
        return substitute(scalar.text, node: node, keyPath: keyPath)
    }

    mutating func substitute(_ text: String, node: YNode, keyPath: String) -> String? {
        guard text.contains("${") else { return text }
        var out = ""
        var rest = Substring(text)
        var ok = true
        while let start = rest.range(of: "${") {
            out += rest[..<start.lowerBound]
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else {
                error(node, "unterminated '${' in '\(keyPath)'")
                return nil
            }
            let name = String(rest[start.upperBound..<end])
            if name.hasPrefix("file:") {
                // A secret mounted as a file (Docker/Kubernetes secrets): its contents, less the final newline.
                let file = String(name.dropFirst("file:".count))
                if let contents = try? String(contentsOfFile: file, encoding: .utf8) {
                    var value = Substring(contents)
                    while let last = value.last, last == "\n" || last == "\r" { value = value.dropLast() }
                    out += value
                } else {
                    error(node, "cannot read secret file '\(file)' (used in \(keyPath))")
                    ok = false
                }
            } else if let value = environment[name] {
                out += value
            } else {
                error(node, "environment variable '\(name)' is not set (used in \(keyPath))")
                ok = false
            }
            rest = rest[rest.index(after: end)...]
        }
        out += rest
        return ok ? out : nil
    }

    mutating func bool(_ node: YNode, at keyPath: String) -> Bool? {
        guard let s = string(node, at: keyPath) else { return nil }
        guard let b = BooleanText.parse(s) else {
            error(node, "'\(keyPath)' must be true or false, found '\(s)'")
            return nil
        }
        return b
    }

    mutating func int(_ node: YNode, at keyPath: String, minimum: Int = 0, maximum: Int = Int(Int32.max)) -> Int? {
        guard let s = string(node, at: keyPath) else { return nil }
        guard let v = Int(s.replacingOccurrences(of: "_", with: "")), v >= minimum, v <= maximum else {
            error(node, "'\(keyPath)' must be a whole number from \(minimum) to \(maximum), found '\(s)'")
            return nil
        }
        return v
    }

    /// A duration from 1 ms (0 with `allowZero`) to 7 days, as a `Duration`.
    mutating func boundedDuration(_ node: YNode, at keyPath: String, allowZero: Bool = false) -> Duration? {
        guard let d = duration(node, at: keyPath, allowZero: allowZero) else { return nil }
        guard d <= 7 * 86400, allowZero || d >= 0.001 else {
            error(node, "'\(keyPath)' must be from \(allowZero ? "0" : "1ms") to 7d")
            return nil
        }
        return .milliseconds(Int64((d * 1000).rounded()))
    }

    mutating func double(_ node: YNode, at keyPath: String) -> Double? {
        guard let s = string(node, at: keyPath) else { return nil }
        guard let v = Double(s), v >= 0, v.isFinite else {
            error(node, "'\(keyPath)' must be a non-negative number, found '\(s)'")
            return nil
        }
        return v
    }

    /// Seconds as a number or a duration (`5m`); `allowZero` accepts `0`.
    mutating func duration(_ node: YNode, at keyPath: String, allowZero: Bool) -> Seconds? {
        guard let s = string(node, at: keyPath) else { return nil }
        if let n = Double(s), n >= 0, n <= DurationText.maxSeconds, allowZero || n > 0 { return n }
        if let d = DurationText.parse(s), d <= DurationText.maxSeconds { return d }
        error(node, "'\(keyPath)' must be a duration such as 250ms, 20s, 5m, 1h or 1d, found '\(s)'")
        return nil
    }

    mutating func stringList(_ node: YNode, at keyPath: String) -> [String]? {
        if case .scalar = node.value, let one = string(node, at: keyPath) { return [one] }
        guard case .sequence(let seq) = node.value else {
            error(node, "'\(keyPath)' must be a list of strings, found \(describe(node))")
            return nil
        }
        var out: [String] = []
        for (i, item) in seq.enumerated() {
            if let s = string(item, at: "\(keyPath)[\(i)]") { out.append(s) }
        }
        return out
    }

    // MARK: Sections

    mutating func read(_ root: YNode, into c: inout GatewayConfiguration) {
        if let s = root.scalar, s.isNull { return }
        for (key, _, value) in mapping(root, at: "", allowed: ["listen", "routes", "storage", "gateways", "providers", "pricing", "limits", "admin", "logs", "cache", "metrics", "cluster", "telemetry"]) {
            switch key {
            case "listen":
                for (k, _, v) in mapping(value, at: "listen", allowed: ["host", "port", "allow_unauthenticated"]) {
                    if k == "host", let s = string(v, at: "listen.host") { c.listen.host = s }
                    if k == "allow_unauthenticated", let b = bool(v, at: "listen.allow_unauthenticated") { c.listen.allowUnauthenticated = b }
                    if k == "port", let p = int(v, at: "listen.port") {
                        if p > 65535 { error(v, "'listen.port' must be at most 65535, found '\(p)'") } else { c.listen.port = p }
                    }
                }
            case "routes":
                if let s = string(value, at: "routes") { c.routesDirectory = s }
            case "storage":
                if let s = string(value, at: "storage") {
                    if s.hasPrefix("sqlite:") || s.hasPrefix("postgres://") || s.hasPrefix("postgresql://") || s == "memory" {
                        c.storage = s
                    } else {
                        error(value, "'storage' must be sqlite:<file>, postgres://... or memory, found '\(s)'")
                    }
                }
            case "gateways":
                for (name, _, v) in mapping(value, at: "gateways", allowed: nil) {
                    c.gateways[name] = gateway(v, at: "gateways.\(name)")
                }
            case "providers":
                for (slug, keyNode, v) in mapping(value, at: "providers", allowed: nil) {
                    if let p = provider(slug, keyNode: keyNode, v) { c.providers[slug] = p }
                }
            case "pricing":
                for (model, keyNode, v) in mapping(value, at: "pricing", allowed: nil) {
                    guard ModelTarget(model) != nil else {
                        error(keyNode, "pricing key '\(model)' must be provider/model")
                        continue
                    }
                    var input: Double?, output: Double?, cached: Double?
                    for (k, _, n) in mapping(v, at: "pricing.\(model)", allowed: ["input", "output", "cached_input"]) {
                        let d = double(n, at: "pricing.\(model).\(k)")
                        switch k { case "input": input = d; case "output": output = d; default: cached = d }
                    }
                    if case .mapping = v.value {
                        guard let input, let output else {
                            error(v, "pricing.\(model) needs both 'input' and 'output' (USD per million tokens)")
                            continue
                        }
                        c.pricing[model] = ModelPrice(input: input, output: output, cachedInput: cached)
                    }
                }
            case "limits":
                let keys = [
                    "max_body_bytes", "request_timeout", "shutdown_grace", "upstream_connections_per_host", "header_read_timeout", "body_read_timeout",
                    "idle_timeout", "max_connections", "max_universal_steps", "passthrough_methods", "max_limit_keys", "upstream_read_timeout",
                ]
                for (k, _, v) in mapping(value, at: "limits", allowed: keys) {
                    let at = "limits.\(k)"
                    switch k {
                    case "max_body_bytes": if let n = int(v, at: at, minimum: 1, maximum: 1 << 30) { c.limits.maxBodyBytes = n }
                    case "upstream_connections_per_host": if let n = int(v, at: at, minimum: 1, maximum: 1 << 20) { c.limits.upstreamConnectionsPerHost = n }
                    case "max_connections": if let n = int(v, at: at, minimum: 1, maximum: 1 << 20) { c.limits.maxConnections = n }
                    case "max_universal_steps": if let n = int(v, at: at, minimum: 1, maximum: 100) { c.limits.maxUniversalSteps = n }
                    case "max_limit_keys": if let n = int(v, at: at, minimum: 1, maximum: 100_000_000) { c.limits.maxLimitKeys = n }
                    case "request_timeout": if let d = boundedDuration(v, at: at) { c.limits.requestTimeout = d }
                    case "header_read_timeout": if let d = boundedDuration(v, at: at) { c.limits.headerReadTimeout = d }
                    case "body_read_timeout": if let d = boundedDuration(v, at: at) { c.limits.bodyReadTimeout = d }
                    case "idle_timeout": if let d = boundedDuration(v, at: at) { c.limits.idleTimeout = d }
                    case "upstream_read_timeout": if let d = boundedDuration(v, at: at) { c.limits.upstreamReadTimeout = d }
                    case "shutdown_grace": if let d = boundedDuration(v, at: at, allowZero: true) { c.limits.shutdownGrace = d }
                    default:
                        if let list = stringList(v, at: at) {
                            let allowed = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
                            var methods: Set<String> = []
                            for m in list {
                                if allowed.contains(m.uppercased()) { methods.insert(m.uppercased()) } else {
                                    error(v, "'\(at)' takes methods from \(allowed.joined(separator: ", ")), found '\(m)'")
                                }
                            }
                            c.limits.passthroughMethods = methods
                        }
                    }
                }
            case "cluster":
                for (k, _, v) in mapping(value, at: "cluster", allowed: ["lease_fraction", "min_lease", "lease_ttl", "report_interval", "on_database_down", "spool_directory", "spool_max_bytes"]) {
                    let at = "cluster.\(k)"
                    switch k {
                    case "lease_fraction":
                        if let d = double(v, at: at) {
                            if d > 0, d <= 1 { c.cluster.leaseFraction = d } else { error(v, "'\(at)' must be greater than 0 and at most 1, found '\(d)'") }
                        }
                    case "min_lease": if let n = int(v, at: at, minimum: 1, maximum: 1_000_000) { c.cluster.minimumLease = n }
                    case "lease_ttl":
                        if let d = duration(v, at: at, allowZero: false) {
                            if (1...3600).contains(d) { c.cluster.leaseTTL = d } else { error(v, "'\(at)' must be from 1s to 1h") }
                        }
                    case "report_interval":
                        if let d = duration(v, at: at, allowZero: false) {
                            if d >= 0.01, d <= 600 { c.cluster.reportInterval = d } else { error(v, "'\(at)' must be from 10ms to 10m") }
                        }
                    case "spool_directory": if let s = string(v, at: at) { c.cluster.spoolDirectory = s }
                    case "spool_max_bytes": if let n = int(v, at: at, minimum: 1 << 16, maximum: 1 << 40) { c.cluster.spoolMaxBytes = n }
                    default:
                        if let s = string(v, at: at) {
                            if s == "open" || s == "closed" { c.cluster.onDatabaseDown = s } else { error(v, "'\(at)' must be open or closed, found '\(s)'") }
                        }
                    }
                }
                if c.cluster.reportInterval * 3 > c.cluster.leaseTTL {
                    error(value, "'cluster.report_interval' must be at most a third of 'cluster.lease_ttl' (leases are renewed by the reports)")
                }
            case "admin", "logs", "cache", "metrics":
                controls(key, value, into: &c.controls)
            case "telemetry":
                telemetry(value, into: &c.telemetry)
            default:
                break
            }
        }
    }

    /// `admin: { token }`, `logs: { retention: { max_rows, max_age }, flush_interval, queue_capacity, max_payload_bytes }`, `cache: { max_bytes }`.
    mutating func controls(_ section: String, _ node: YNode, into c: inout ControlsConfiguration) {
        switch section {
        case "admin":
            for (k, _, v) in mapping(node, at: "admin", allowed: ["token"]) where k == "token" {
                if let s = string(v, at: "admin.token"), !s.isEmpty { c.adminToken = s }
            }
        case "metrics":
            for (k, _, v) in mapping(node, at: "metrics", allowed: ["token"]) where k == "token" {
                if let s = string(v, at: "metrics.token"), !s.isEmpty { c.metricsToken = s }
            }
        case "logs":
            for (k, _, v) in mapping(node, at: "logs", allowed: ["retention", "flush_interval", "queue_capacity", "queue_max_bytes", "max_payload_bytes"]) {
                switch k {
                case "retention":
                    for (rk, _, rv) in mapping(v, at: "logs.retention", allowed: ["max_rows", "max_age"]) {
                        if rk == "max_rows", let n = int(rv, at: "logs.retention.max_rows") { c.logMaxRows = n == 0 ? nil : n }
                        if rk == "max_age", let d = duration(rv, at: "logs.retention.max_age", allowZero: true) { c.logMaxAge = d == 0 ? nil : d }
                    }
                case "flush_interval": if let d = duration(v, at: "logs.flush_interval", allowZero: false) { c.logFlushInterval = d }
                case "queue_capacity": if let n = int(v, at: "logs.queue_capacity", minimum: 1) { c.logQueueCapacity = n }
                case "queue_max_bytes": if let n = int(v, at: "logs.queue_max_bytes", minimum: 1) { c.logQueueMaxBytes = n }
                default: if let n = int(v, at: "logs.max_payload_bytes") { c.logMaxPayloadBytes = n }
                }
            }
        default:
            for (k, _, v) in mapping(node, at: "cache", allowed: ["max_bytes"]) where k == "max_bytes" {
                if let n = int(v, at: "cache.max_bytes") { c.cacheMaxBytes = n }
            }
        }
    }

    /// `telemetry: { otlp: { endpoint, headers, encoding, timeout }, sampling_ratio, service_name, capture_content, max_queue_size, max_export_batch_size, schedule_delay }`.
    mutating func telemetry(_ node: YNode, into t: inout GatewayConfiguration.Telemetry) {
        if let s = node.scalar, s.isNull { return }
        let keys = ["otlp", "sampling_ratio", "service_name", "capture_content", "max_queue_size", "max_export_batch_size", "schedule_delay"]
        for (k, _, v) in mapping(node, at: "telemetry", allowed: keys) {
            let at = "telemetry.\(k)"
            switch k {
            case "otlp":
                for (ok, _, ov) in mapping(v, at: at, allowed: ["endpoint", "headers", "encoding", "timeout"]) {
                    let oat = "telemetry.otlp.\(ok)"
                    switch ok {
                    case "endpoint":
                        guard let s = string(ov, at: oat) else { continue }
                        let lower = s.lowercased()
                        if s.isEmpty { continue }
                        guard (lower.hasPrefix("http://") || lower.hasPrefix("https://")), s.utf8.count <= 2048, URL(string: s)?.host?.isEmpty == false else {
                            error(ov, "'\(oat)' must be an http:// or https:// URL such as http://localhost:4318/v1/traces, found '\(s.prefix(200))'")
                            continue
                        }
                        t.endpoint = s
                    case "headers":
                        for (name, keyNode, hv) in mapping(ov, at: oat, allowed: nil) {
                            guard !name.isEmpty, name.utf8.count <= 256, name.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ":") }) else {
                                error(keyNode, "'\(oat)' names must be HTTP header names, found '\(name.prefix(64))'")
                                continue
                            }
                            guard let value = string(hv, at: "\(oat).\(name)") else { continue }
                            guard value.utf8.count <= 8192, !value.utf8.contains(where: { $0 == 0x0A || $0 == 0x0D || $0 == 0 }) else {
                                // The value may be a secret: never echoed.
                                error(hv, "'\(oat).\(name)' must be one line of at most 8192 bytes")
                                continue
                            }
                            t.headers[name.lowercased()] = value
                        }
                    case "encoding":
                        guard let s = string(ov, at: oat) else { continue }
                        switch s.lowercased() {
                        case "protobuf", "http/protobuf": t.encoding = .protobuf
                        case "json", "http/json": t.encoding = .json
                        default: error(ov, "'\(oat)' must be protobuf or json, found '\(s.prefix(64))'")
                        }
                    default:
                        if let d = boundedDuration(ov, at: oat) { t.exportTimeout = d }
                    }
                }
            case "sampling_ratio":
                if let d = double(v, at: at) {
                    if d > 1 { error(v, "'\(at)' must be from 0 to 1, found '\(d)'") } else { t.samplingRatio = d }
                }
            case "service_name":
                if let s = string(v, at: at) {
                    if s.isEmpty || s.utf8.count > 256 { error(v, "'\(at)' must be 1 to 256 characters") } else { t.serviceName = s }
                }
            case "capture_content": if let b = bool(v, at: at) { t.captureContent = b }
            case "max_queue_size": if let n = int(v, at: at, minimum: 1, maximum: 1 << 20) { t.maxQueueSize = n }
            case "max_export_batch_size": if let n = int(v, at: at, minimum: 1, maximum: 1 << 16) { t.maxExportBatchSize = n }
            default: if let d = boundedDuration(v, at: at) { t.scheduleDelay = d }
            }
        }
        if t.maxExportBatchSize > t.maxQueueSize { t.maxExportBatchSize = t.maxQueueSize }
    }

    mutating func gateway(_ node: YNode, at keyPath: String) -> GatewayConfiguration.Gateway {
        var g = GatewayConfiguration.Gateway()
        if let s = node.scalar, s.isNull { return g }
        for (k, _, v) in mapping(node, at: keyPath, allowed: ["authentication", "tokens", "collect_logs", "cache", "rate_limit", "on_database_down"]) {
            switch k {
            case "on_database_down":
                if let s = string(v, at: "\(keyPath).on_database_down") {
                    if s == "open" || s == "closed" { g.onDatabaseDown = s } else { error(v, "'\(keyPath).on_database_down' must be open or closed, found '\(s)'") }
                }
            case "authentication": if let b = bool(v, at: "\(keyPath).authentication") { g.authentication = b }
            case "tokens": if let t = stringList(v, at: "\(keyPath).tokens") { g.tokens = t.filter { !$0.isEmpty } }
            case "collect_logs": if let b = bool(v, at: "\(keyPath).collect_logs") { g.collectLogs = b }
            case "cache":
                for (ck, _, cv) in mapping(v, at: "\(keyPath).cache", allowed: ["ttl"]) where ck == "ttl" {
                    if let d = duration(cv, at: "\(keyPath).cache.ttl", allowZero: true) { g.cacheTTL = d }
                }
            case "rate_limit":
                var limit: Int?, per: Seconds?, technique = GatewayConfiguration.RateLimit.Technique.sliding
                for (rk, _, rv) in mapping(v, at: "\(keyPath).rate_limit", allowed: ["limit", "per", "technique"]) {
                    switch rk {
                    case "limit": limit = int(rv, at: "\(keyPath).rate_limit.limit", minimum: 1)
                    case "per": per = duration(rv, at: "\(keyPath).rate_limit.per", allowZero: false)
                    default:
                        if let s = string(rv, at: "\(keyPath).rate_limit.technique") {
                            if let t = GatewayConfiguration.RateLimit.Technique(rawValue: s) { technique = t } else {
                                error(rv, "'\(keyPath).rate_limit.technique' must be sliding or fixed, found '\(s)'")
                            }
                        }
                    }
                }
                if case .mapping = v.value {
                    if let limit, let per {
                        g.rateLimit = .init(limit: limit, per: per, technique: technique)
                    } else {
                        error(v, "'\(keyPath).rate_limit' needs 'limit' and 'per'")
                    }
                }
            default: break
            }
        }
        if g.authentication && g.tokens.isEmpty {
            error(node, "gateway '\(keyPath.dropFirst("gateways.".count))' requires authentication but has no tokens")
        }
        return g
    }

    mutating func provider(_ slug: String, keyNode: YNode, _ node: YNode) -> ProviderSettings? {
        let keyPath = "providers.\(slug)"
        var s = ProviderSettings()
        var kindNode: YNode?
        let azureKeys = slug == "azure-openai" ? ["resource", "deployment", "api_version"] : []
        for (k, _, v) in mapping(node, at: keyPath, allowed: ["kind", "base_url", "keys"] + azureKeys) {
            switch k {
            case "kind":
                kindNode = v
                if let text = string(v, at: "\(keyPath).kind") {
                    if let family = ProviderInfo.Family(rawValue: text) { s.kind = family } else {
                        let kinds = ["openai-compatible", "anthropic", "gemini", "workers-ai", "azure-openai"]
                        error(v, "unknown provider kind '\(text)' in \(keyPath)", suggestion: NameSuggestion.nearest(to: text, in: kinds).map { "did you mean '\($0)'?" })
                    }
                }
            case "base_url":
                if let url = string(v, at: "\(keyPath).base_url") {
                    if let parsed = URL(string: url), let scheme = parsed.scheme, ["http", "https"].contains(scheme), parsed.host != nil {
                        s.baseURL = url
                    } else {
                        error(v, "'\(keyPath).base_url' must be an http:// or https:// URL, found '\(url)'")
                    }
                }
            case "keys":
                var keys: [String: String] = [:]
                if case .scalar = v.value, let one = string(v, at: "\(keyPath).keys") {
                    keys["default"] = one
                } else {
                    for (alias, _, kv) in mapping(v, at: "\(keyPath).keys", allowed: nil) {
                        if let key = string(kv, at: "\(keyPath).keys.\(alias)"), !key.isEmpty { keys[alias] = key }
                    }
                }
                s.keys = keys
            case "resource", "deployment":
                if let name = string(v, at: "\(keyPath).\(k)") {
                    if AzureOpenAIAdapter.isName(Substring(name)) {
                        if k == "resource" { s.resource = name } else { s.deployment = name }
                    } else {
                        error(v, "'\(keyPath).\(k)' must be an Azure name (letters, digits, '-', '_', '.'), found '\(name)'")
                    }
                }
            case "api_version":
                if let version = string(v, at: "\(keyPath).api_version") {
                    if !version.isEmpty, version.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) {
                        s.apiVersion = version
                    } else {
                        error(v, "'\(keyPath).api_version' must look like 2024-10-21 or v1, found '\(version)'")
                    }
                }
            default: break
            }
        }
        if ProviderCatalog.provider(slug: slug) == nil {
            if kindNode == nil {
                error(keyNode, "unknown provider '\(slug)'; a custom provider needs 'kind: openai-compatible' and a base_url",
                      suggestion: NameSuggestion.nearest(to: slug, in: ProviderCatalog.slugs).map { "did you mean '\($0)'?" })
                return nil
            }
            if s.kind != nil, s.kind != .openAICompatible {
                error(kindNode!, "custom provider '\(slug)' must have kind openai-compatible")
            }
            if s.baseURL == nil, case .mapping = node.value {
                error(keyNode, "custom provider '\(slug)' needs a base_url")
            }
        }
        return s
    }
}

/// The words a setting takes for true and false, in the configuration file and in `cf-aig-*` headers alike.
enum BooleanText {
    static func parse(_ text: String) -> Bool? {
        switch text.trimmingCharacters(in: .whitespaces).lowercased() {
        case "true", "yes", "on", "1": true
        case "false", "no", "off", "0": false
        default: nil
        }
    }
}
