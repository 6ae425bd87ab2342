import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
@testable import SwitchyardFakeUpstream

struct FakeResponse {
    var status: Int
    var headers: HTTPHeaders
    var body: String

    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:]
    }
}

/// Starts a fake, runs `body`, always shuts the fake down.
func withFake<T>(
    _ configuration: FakeUpstreamConfiguration = FakeUpstreamConfiguration(clock: { 1_700_000_000 }),
    _ body: (FakeUpstream) async throws -> T
) async throws -> T {
    let fake = try await FakeUpstream.start(configuration)
    do {
        let result = try await body(fake)
        try await fake.shutdown()
        return result
    } catch {
        try await fake.shutdown()
        throw error
    }
}

func send(
    _ url: String, method: HTTPMethod = .POST, json: String? = nil, headers: [(String, String)] = []
) async throws -> FakeResponse {
    var request = HTTPClientRequest(url: url)
    request.method = method
    request.headers.add(contentsOf: headers)
    if let json {
        request.headers.add(name: "content-type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: json))
    }
    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
    let body = try await response.body.collect(upTo: 1 << 22)
    return FakeResponse(status: Int(response.status.code), headers: response.headers, body: String(buffer: body))
}

/// Reads a streaming response piece by piece; returns what arrived and the error that ended it, if any.
func stream(
    _ url: String, json: String, headers: [(String, String)] = []
) async throws -> (status: Int, headers: HTTPHeaders, body: String, error: (any Error)?) {
    var request = HTTPClientRequest(url: url)
    request.method = .POST
    request.headers.add(contentsOf: headers)
    request.headers.add(name: "content-type", value: "application/json")
    request.body = .bytes(ByteBuffer(string: json))
    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
    var received = ""
    do {
        for try await buffer in response.body { received += String(buffer: buffer) }
        return (Int(response.status.code), response.headers, received, nil)
    } catch {
        return (Int(response.status.code), response.headers, received, error)
    }
}

/// `data:` payloads of an SSE body (any line ending).
func sseData(_ body: String) -> [String] {
    body.replacingOccurrences(of: "\r\n", with: "\n")
        .components(separatedBy: "\n")
        .filter { $0.hasPrefix("data: ") }
        .map { String($0.dropFirst(6)) }
}

func parseObject(_ text: String) -> [String: Any]? {
    (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
}

let weatherTool = """
{"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}
"""
