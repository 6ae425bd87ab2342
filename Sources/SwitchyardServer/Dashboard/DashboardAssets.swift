import Hummingbird
import NIOCore
import SwitchyardCore
import SwitchyardProviders

/// The web dashboard at `/dashboard` (docs/dashboard.md): static files from `dashboard/`, compiled
/// into the binary (`scripts/embed-dashboard.py`). The files hold no data: every number the page
/// shows it reads from the JSON admin API with the admin token the user types in. Served under the
/// admin API's network rule: without `admin.token`, to loopback peers only.
enum DashboardAssets {
    struct Asset: Sendable {
        let contentType: String
        let text: String
    }

    /// `asset` is the path after `/dashboard/` (empty for the page itself).
    static func respond(_ request: Request, asset: String, controls: GatewayControls, peerIsLocal: Bool) throws(GatewayError) -> Response {
        guard request.method == .get || request.method == .head else {
            throw GatewayError.methodNotAllowed(request.method.rawValue, path: request.uri.path, allowed: ["GET"])
        }
        guard !controls.adminTokens.isEmpty || peerIsLocal else {
            throw GatewayError(.unauthorized, status: 403, message: "Forbidden: /dashboard answers loopback clients only while no admin token is set; set admin.token in switchyard.yaml")
        }
        guard let file = files[asset.isEmpty ? "index.html" : asset] else { throw GatewayError.notFound(request.uri.path) }
        var headers: HTTPFields = [
            .contentType: file.contentType,
            .cacheControl: "no-cache",
            .contentSecurityPolicy: "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            .xContentTypeOptions: "nosniff",
        ]
        headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        let body = request.method == .head ? ByteBuffer() : ByteBuffer(string: file.text)
        if request.method == .head { headers[.contentLength] = String(file.text.utf8.count) }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: body))
    }
}
