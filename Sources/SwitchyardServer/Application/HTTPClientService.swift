import AsyncHTTPClient
import ServiceLifecycle

/// Owns the shared upstream client: shut down after the server has drained.
struct HTTPClientService: Service {
    let client: HTTPClient

    func run() async throws {
        try? await gracefulShutdown()
        try await client.shutdown()
    }
}
