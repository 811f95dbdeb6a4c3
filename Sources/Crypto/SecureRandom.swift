internal import CCrypto

/// Random bytes from OpenSSL's CSPRNG (seeded from getrandom(2)); used for keys and GCM nonces.
package enum SecureRandom {
    package static func bytes(_ count: Int) throws(CryptoError) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: count)
        try check(RAND_bytes(&output, Int32(count)), "RAND_bytes")
        return output
    }
}
