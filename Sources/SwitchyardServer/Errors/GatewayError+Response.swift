import Foundation
import Hummingbird
import SwitchyardCore
import SwitchyardProviders

extension GatewayError {
    /// Cloudflare's envelope with the real status:
    /// `{"success":false,"error":[{"code","message"}],"name":"AiGatewayError","httpCode","internalCode","message"}`.
    var envelope: ByteBuffer {
        let object: JSONValue = .object([
            "success": .bool(false),
            "result": .array([]),
            "messages": .array([]),
            "error": .array([.object(["code": .number(Double(code)), "message": .string(message)])]),
            "name": .string("AiGatewayError"),
            "httpCode": .number(Double(status)),
            "internalCode": .number(Double(code)),
            "message": .string(message),
        ])
        return ByteBuffer(string: object.canonicalJSON)
    }

    func response(headers extra: HTTPFields = [:], observation: RequestObservation? = nil) -> Response {
        var headers = extra
        headers[.contentType] = "application/json"
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        let body = envelope
        if let observation { return observation.bufferedResponse(status: .init(code: status), headers: headers, body: body) }
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: body))
    }
}
