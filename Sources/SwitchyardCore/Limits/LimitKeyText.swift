import Crypto

/// Limit and sticky key values come from the request (`key: body.user`), so their length is the
/// client's choice. Every value that names a counter or a sticky bucket goes through `bounded`,
/// and every message that shows one goes through `display`.
public enum LimitKeyText {
    /// Longest key value kept as it is, in UTF-8 bytes.
    public static let maxBytes = 64
    /// Marks a digested value: `sha256:` and the first 32 hex digits (128 bits) of SHA-256.
    public static let digestPrefix = "sha256:"
    /// Longest key shown in a message, in Unicode scalars (a digest, 39, is shown whole).
    public static let maxDisplayScalars = 40
    /// Scalars kept when a shown key is cut (followed by "…").
    public static let displayPrefixScalars = 32

    /// The value a counter or sticky bucket is keyed on: `value` itself when it has at most
    /// `maxBytes` UTF-8 bytes, else its digest (39 bytes). Values that already start with
    /// `sha256:` are digested too, so a client cannot send a digest to land on another value's
    /// counter and distinct values keep distinct counters (up to 128-bit collisions).
    public static func bounded(_ value: String) -> String {
        let utf8 = value.utf8
        guard utf8.count > maxBytes || utf8.starts(with: digestPrefix.utf8) else { return value }
        let digest = utf8.withContiguousStorageIfAvailable { SHA256.hash(data: UnsafeRawBufferPointer($0)) }
            ?? SHA256.hash(data: Array(utf8))
        var out = digestPrefix
        out.reserveCapacity(digestPrefix.utf8.count + 32)
        let digits = Array("0123456789abcdef".unicodeScalars)
        for byte in digest.prefix(16) {
            out.unicodeScalars.append(digits[Int(byte >> 4)])
            out.unicodeScalars.append(digits[Int(byte & 0x0f)])
        }
        return out
    }

    /// `value` for a message: whole up to `maxDisplayScalars` scalars, else its first
    /// `displayPrefixScalars` scalars and "…". Counted in scalars, not characters: one
    /// character can hold any number of combining scalars.
    public static func display(_ value: String) -> String {
        let scalars = value.unicodeScalars
        guard scalars.prefix(maxDisplayScalars + 1).count > maxDisplayScalars else { return value }
        var cut = String.UnicodeScalarView()
        cut.append(contentsOf: scalars.prefix(displayPrefixScalars))
        return String(cut) + "…"
    }
}
