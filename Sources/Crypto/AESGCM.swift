/// AES-256-GCM with a random 96-bit nonce per message. A sealed box is `nonce ‖ ciphertext ‖ tag`, so one
/// opaque byte string carries everything decryption needs besides the key.
///
/// The cipher is the default provider's own (`ProviderCipher`), not an EVP fetch: opening the store is most of
/// a cached `get`, and EVP's first fetch would cost more than the rest of that call.
package struct AESGCM: Sendable {
    package static let keyByteCount = 32
    package static let nonceByteCount = 12
    package static let tagByteCount = 16

    private let key: [UInt8]

    package init(key: [UInt8]) throws(CryptoError) {
        guard key.count == Self.keyByteCount else {
            throw .invalidLength(what: "AES-256 key", expected: Self.keyByteCount, actual: key.count)
        }
        self.key = key
    }

    /// Encrypts `plaintext`; `associatedData` is authenticated but not encrypted (we bind the format
    /// header to it, so a file cannot be re-labelled).
    package func seal(_ plaintext: [UInt8], associatedData: [UInt8] = []) throws(CryptoError) -> [UInt8] {
        let nonce = try SecureRandom.bytes(Self.nonceByteCount)
        let cipher = try ProviderCipher(encrypting: true, key: key, nonce: nonce)
        try cipher.authenticate(associatedData)
        let ciphertext = try cipher.update(plaintext)
        guard cipher.finish() else { throw CryptoError.fromQueue("AES-256-GCM final") }
        return nonce + ciphertext + (try cipher.tag())
    }

    /// Decrypts a sealed box; any change to the box, the associated data or the key is `.authenticationFailed`.
    package func open(_ sealed: [UInt8], associatedData: [UInt8] = []) throws(CryptoError) -> [UInt8] {
        let minimum = Self.nonceByteCount + Self.tagByteCount
        guard sealed.count >= minimum else {
            throw .invalidLength(what: "sealed box", expected: minimum, actual: sealed.count)
        }
        let nonce = Array(sealed[0..<Self.nonceByteCount])
        let ciphertext = Array(sealed[Self.nonceByteCount..<(sealed.count - Self.tagByteCount)])
        let tag = Array(sealed[(sealed.count - Self.tagByteCount)...])
        let cipher = try ProviderCipher(encrypting: false, key: key, nonce: nonce)
        try cipher.authenticate(associatedData)
        var plaintext = try cipher.update(ciphertext)
        try cipher.setTag(tag)
        guard cipher.finish() else {
            // Nothing decrypted may outlive a failed tag check.
            for index in plaintext.indices { plaintext[index] = 0 }
            CryptoError.clearQueue()
            throw .authenticationFailed
        }
        return plaintext
    }
}
