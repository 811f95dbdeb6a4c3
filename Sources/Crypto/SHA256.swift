/// SHA-256 over the default provider's digest (`ProviderDigest`): it names every store file, so it is on the
/// path of every cached `get`, where an EVP fetch would cost more than the hashing.
package enum SHA256 {
    package static let byteCount = 32

    package static func hash(_ bytes: some Collection<UInt8>) -> [UInt8] {
        let digest = ProviderDigest()
        if bytes.withContiguousStorageIfAvailable({ digest.update(UnsafeRawBufferPointer($0)) }) == nil {
            Array(bytes).withUnsafeBytes { digest.update($0) }
        }
        return digest.finish()
    }

    package static func hash(_ string: String) -> [UInt8] { hash(Array(string.utf8)) }

    /// Lower-case hex of the digest, as registries and secret names spell it.
    package static func hexDigest(_ bytes: some Collection<UInt8>) -> String { Hex.encode(hash(bytes)) }
    package static func hexDigest(_ string: String) -> String { hexDigest(Array(string.utf8)) }
}

package enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    package static func encode(_ bytes: some Collection<UInt8>) -> String {
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
