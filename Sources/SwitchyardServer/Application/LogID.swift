import Foundation

/// Request log ids: lowercase UUIDv7 (time-ordered), as Cloudflare issues them.
enum LogID {
    static func make() -> String {
        var bytes = [UInt8](repeating: 0, count: 16)
        let ms = UInt64(Date().timeIntervalSince1970 * 1000)
        for i in 0..<6 { bytes[i] = UInt8(truncatingIfNeeded: ms >> (8 * (5 - UInt64(i)))) }
        var rng = SystemRandomNumberGenerator()
        let random = rng.next() as UInt64
        let random2 = rng.next() as UInt64
        for i in 0..<8 { bytes[6 + i] = UInt8(truncatingIfNeeded: random >> (8 * UInt64(i))) }
        bytes[14] = UInt8(truncatingIfNeeded: random2)
        bytes[15] = UInt8(truncatingIfNeeded: random2 >> 8)
        bytes[6] = 0x70 | (bytes[6] & 0x0F)
        bytes[8] = 0x80 | (bytes[8] & 0x3F)
        let hex = bytes.map { String(format: "%02x", $0) }.joined()
        let h = Array(hex)
        return String(h[0..<8]) + "-" + String(h[8..<12]) + "-" + String(h[12..<16]) + "-" + String(h[16..<20]) + "-" + String(h[20..<32])
    }
}
