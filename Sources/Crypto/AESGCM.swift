internal import CCrypto

/// AES-256-GCM with a random 96-bit nonce per message. A sealed box is `nonce ‖ ciphertext ‖ tag`, so one
/// opaque byte string carries everything decryption needs besides the key.
public struct AESGCM: Sendable {
    public static let keyByteCount = 32
    public static let nonceByteCount = 12
    public static let tagByteCount = 16

    private let key: [UInt8]

    public init(key: [UInt8]) throws(CryptoError) {
        guard key.count == Self.keyByteCount else {
            throw .invalidLength(what: "AES-256 key", expected: Self.keyByteCount, actual: key.count)
        }
        self.key = key
    }

    /// Encrypts `plaintext`; `associatedData` is authenticated but not encrypted (we bind the format
    /// header to it, so a file cannot be re-labelled).
    public func seal(_ plaintext: [UInt8], associatedData: [UInt8] = []) throws(CryptoError) -> [UInt8] {
        let nonce = try SecureRandom.bytes(Self.nonceByteCount)
        guard let ctx = EVP_CIPHER_CTX_new() else { throw CryptoError.fromQueue("EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(ctx) }
        try check(EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nil, nil, nil), "EVP_EncryptInit_ex")
        try check(ccrypto_gcm_set_ivlen(ctx, Int32(Self.nonceByteCount)), "set GCM IV length")
        try check(EVP_EncryptInit_ex(ctx, nil, nil, key, nonce), "EVP_EncryptInit_ex(key)")
        var length: Int32 = 0
        if !associatedData.isEmpty {
            try check(EVP_EncryptUpdate(ctx, nil, &length, associatedData, Int32(associatedData.count)), "GCM AAD")
        }
        var ciphertext = [UInt8](repeating: 0, count: plaintext.count + 16)
        var written: Int32 = 0
        if !plaintext.isEmpty {
            try check(EVP_EncryptUpdate(ctx, &ciphertext, &written, plaintext, Int32(plaintext.count)), "EVP_EncryptUpdate")
        }
        var finalLength: Int32 = 0
        try ciphertext.withUnsafeMutableBufferPointer { (buffer) throws(CryptoError) in
            try check(EVP_EncryptFinal_ex(ctx, buffer.baseAddress! + Int(written), &finalLength), "EVP_EncryptFinal_ex")
        }
        ciphertext.removeLast(ciphertext.count - Int(written + finalLength))
        var tag = [UInt8](repeating: 0, count: Self.tagByteCount)
        try check(ccrypto_gcm_get_tag(ctx, Int32(Self.tagByteCount), &tag), "get GCM tag")
        return nonce + ciphertext + tag
    }

    /// Decrypts a sealed box; any change to the box, the associated data or the key is `.authenticationFailed`.
    public func open(_ sealed: [UInt8], associatedData: [UInt8] = []) throws(CryptoError) -> [UInt8] {
        let minimum = Self.nonceByteCount + Self.tagByteCount
        guard sealed.count >= minimum else {
            throw .invalidLength(what: "sealed box", expected: minimum, actual: sealed.count)
        }
        let nonce = Array(sealed[0..<Self.nonceByteCount])
        let ciphertext = Array(sealed[Self.nonceByteCount..<(sealed.count - Self.tagByteCount)])
        var tag = Array(sealed[(sealed.count - Self.tagByteCount)...])
        guard let ctx = EVP_CIPHER_CTX_new() else { throw CryptoError.fromQueue("EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(ctx) }
        try check(EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nil, nil, nil), "EVP_DecryptInit_ex")
        try check(ccrypto_gcm_set_ivlen(ctx, Int32(Self.nonceByteCount)), "set GCM IV length")
        try check(EVP_DecryptInit_ex(ctx, nil, nil, key, nonce), "EVP_DecryptInit_ex(key)")
        var length: Int32 = 0
        if !associatedData.isEmpty {
            try check(EVP_DecryptUpdate(ctx, nil, &length, associatedData, Int32(associatedData.count)), "GCM AAD")
        }
        var plaintext = [UInt8](repeating: 0, count: ciphertext.count + 16)
        var written: Int32 = 0
        if !ciphertext.isEmpty {
            try check(EVP_DecryptUpdate(ctx, &plaintext, &written, ciphertext, Int32(ciphertext.count)), "EVP_DecryptUpdate")
        }
        try check(ccrypto_gcm_set_tag(ctx, Int32(Self.tagByteCount), &tag), "set GCM tag")
        var finalLength: Int32 = 0
        let ok = plaintext.withUnsafeMutableBufferPointer { buffer in
            EVP_DecryptFinal_ex(ctx, buffer.baseAddress! + Int(written), &finalLength)
        }
        guard ok == 1 else {
            ERR_clear_error()
            throw .authenticationFailed
        }
        plaintext.removeLast(plaintext.count - Int(written + finalLength))
        return plaintext
    }
}
