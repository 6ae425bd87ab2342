/// Which headers cross the gateway. Decided once per name; names are compared lowercased.
public enum HeaderPolicy {
    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "transfer-encoding", "te", "trailer", "trailers", "upgrade",
        "proxy-authorization", "proxy-authenticate", "proxy-connection", "host", "content-length",
    ]
    static let gatewayOnly: Set<String> = ["cf-cache-ttl", "cf-skip-cache"]

    /// A client header that may be forwarded upstream (credentials are decided separately).
    /// `connectionListed` are the names the request's `Connection` header declares hop-by-hop.
    public static func forwardsRequestHeader(_ lowercasedName: String, connectionListed: Set<String> = []) -> Bool {
        !hopByHop.contains(lowercasedName) && !lowercasedName.hasPrefix("proxy-") && !lowercasedName.hasPrefix("cf-aig-")
            && !gatewayOnly.contains(lowercasedName) && !connectionListed.contains(lowercasedName)
    }

    /// An upstream response header that may be returned to the client. The gateway sets its own
    /// framing (`content-length` or chunked), so the upstream's is dropped.
    public static func forwardsResponseHeader(_ lowercasedName: String) -> Bool {
        !hopByHop.contains(lowercasedName) && !lowercasedName.hasPrefix("proxy-") && !lowercasedName.hasPrefix("cf-aig-")
    }

    /// The tokens of a `Connection` header value.
    public static func connectionTokens(_ value: String?) -> Set<String> {
        guard let value else { return [] }
        return Set(value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty })
    }
}


import Foundation
