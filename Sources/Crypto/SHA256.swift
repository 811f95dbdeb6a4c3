internal import CCrypto

/// SHA-256 over libcrypto's one-shot EVP digest.
public enum SHA256 {
    public static let byteCount = 32

    public static func hash(_ bytes: some Collection<UInt8>) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: byteCount)
        var length: UInt32 = 0
        let ok = Array(bytes).withUnsafeBytes { input in
            EVP_Digest(input.baseAddress, input.count, &output, &length, EVP_sha256(), nil)
        }
        // EVP_Digest on an in-memory buffer with a built-in digest only fails on allocation failure.
        precondition(ok == 1 && length == UInt32(byteCount), "EVP_Digest(SHA-256) failed")
        return output
    }

    public static func hash(_ string: String) -> [UInt8] { hash(Array(string.utf8)) }

    /// Lower-case hex of the digest, as registries and secret names spell it.
    public static func hexDigest(_ bytes: some Collection<UInt8>) -> String { Hex.encode(hash(bytes)) }
    public static func hexDigest(_ string: String) -> String { hexDigest(Array(string.utf8)) }
}

public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
