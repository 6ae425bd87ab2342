import Foundation

/// Request log ids: lowercase UUIDv7 (time-ordered), as Cloudflare issues them.
enum LogID {
    private static let hex = Array("0123456789abcdef".utf8)

    static func make(now: Date = Date()) -> String {
        var rng = SystemRandomNumberGenerator()
        return make(milliseconds: UInt64(now.timeIntervalSince1970 * 1000), random: (rng.next(), rng.next()))
    }

    static func make(milliseconds ms: UInt64, random: (UInt64, UInt64)) -> String {
        var bytes = [UInt8](repeating: 0, count: 16)
        for i in 0..<6 { bytes[i] = UInt8(truncatingIfNeeded: ms >> (8 * (5 - UInt64(i)))) }
        for i in 0..<8 { bytes[6 + i] = UInt8(truncatingIfNeeded: random.0 >> (8 * UInt64(i))) }
        bytes[14] = UInt8(truncatingIfNeeded: random.1)
        bytes[15] = UInt8(truncatingIfNeeded: random.1 >> 8)
        bytes[6] = 0x70 | (bytes[6] & 0x0F)
        bytes[8] = 0x80 | (bytes[8] & 0x3F)
        var out = [UInt8]()
        out.reserveCapacity(36)
        for (i, b) in bytes.enumerated() {
            if i == 4 || i == 6 || i == 8 || i == 10 { out.append(UInt8(ascii: "-")) }
            out.append(hex[Int(b >> 4)])
            out.append(hex[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
