import AsyncHTTPClient
import Hummingbird
import Foundation
import NIOCore

// The framework floor for the benchmark: Hummingbird in front of one shared AsyncHTTPClient,
// forwarding a POST body to a fixed upstream URL and returning the answer, and nothing else (no
// routing, JSON, auth, logs or metrics). What Switchyard costs beyond this is Switchyard's own.
//   baseline-proxy PORT UPSTREAM_URL
let arguments = CommandLine.arguments
guard arguments.count == 3, let port = Int(arguments[1]) else {
    print("usage: baseline-proxy PORT UPSTREAM_URL")
    exit(2)
}
let upstream = arguments[2]
var configuration = HTTPClient.Configuration()
configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 1024)
configuration.tracing.tracer = nil
let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)

let router = Router()
router.post("/**") { request, _ -> Response in
    var upstreamRequest = HTTPClientRequest(url: upstream)
    upstreamRequest.method = .POST
    upstreamRequest.headers.add(name: "content-type", value: "application/json")
    upstreamRequest.body = .bytes(try await request.body.collect(upTo: 1 << 20))
    let response = try await client.execute(upstreamRequest, timeout: .seconds(30))
    let body = try await response.body.collect(upTo: 1 << 20)
    return Response(status: .init(code: Int(response.status.code)), headers: [.contentType: "application/json"], body: .init(byteBuffer: body))
}
let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)), onServerRunning: { channel in
    print("baseline-proxy listening on http://127.0.0.1:\(channel.localAddress?.port ?? port)")
})
try await app.runService()
try await client.shutdown()
