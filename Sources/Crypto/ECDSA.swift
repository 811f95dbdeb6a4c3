internal import CCrypto

/// ECDSA over P-256 with SHA-256, signatures in ASN.1 DER: what cosign's key-based signatures are (sigstore
/// "Signature Specification": a PKIX `PUBLIC KEY` PEM verifies the base64 DER signature of the payload), so an
/// index signed here verifies with `cosign verify --key`, and one signed by cosign's key verifies here.
///
/// `@unchecked Sendable`: the `EVP_PKEY` is never mutated after loading; each operation has its own context.
package final class ECDSAKey: @unchecked Sendable {
    /// Owned by this object; freed in `deinit`.
    private let key: OpaquePointer
    /// Whether the key holds the private half (it can sign).
    package let canSign: Bool

    /// A private key: PKCS#8 (`BEGIN PRIVATE KEY`) or SEC 1 (`BEGIN EC PRIVATE KEY`), unencrypted. cosign's own
    /// `ENCRYPTED SIGSTORE PRIVATE KEY` files are refused with what to do instead.
    package init(privatePEM pem: String) throws(CryptoError) {
        if pem.contains("ENCRYPTED") {
            throw .openssl(
                operation: "read PEM private key",
                reason: "the key is encrypted; give an unencrypted P-256 key (openssl ecparam -genkey -name prime256v1)"
            )
        }
        let bytes = Array(pem.utf8)
        guard let loaded = bytes.withUnsafeBytes({ ccrypto_read_private_key($0.baseAddress, Int32($0.count)) }) else {
            throw CryptoError.fromQueue("read PEM private key")
        }
        key = try Self.requireP256(loaded, what: "read PEM private key")
        canSign = true
    }

    /// A public key: PKIX `BEGIN PUBLIC KEY`, as `cosign.pub` holds it.
    package init(publicPEM pem: String) throws(CryptoError) {
        let bytes = Array(pem.utf8)
        guard let loaded = bytes.withUnsafeBytes({ ccrypto_read_public_key($0.baseAddress, Int32($0.count)) }) else {
            throw CryptoError.fromQueue("read PEM public key")
        }
        key = try Self.requireP256(loaded, what: "read PEM public key")
        canSign = false
    }

    deinit { EVP_PKEY_free(key) }

    private static func requireP256(_ loaded: OpaquePointer, what: String) throws(CryptoError) -> OpaquePointer {
        var name = [CChar](repeating: 0, count: 64)
        var length = 0
        guard EVP_PKEY_is_a(loaded, "EC") == 1,
            EVP_PKEY_get_utf8_string_param(loaded, "group", &name, name.count, &length) == 1,
            String(decoding: name.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self) == "prime256v1"
        else {
            EVP_PKEY_free(loaded)
            CryptoError.clearQueue()
            throw .openssl(operation: what, reason: "the key is not an ECDSA P-256 key (cosign's key type)")
        }
        return loaded
    }

    /// The DER signature of SHA-256(`message`).
    package func sign(_ message: some Collection<UInt8>) throws(CryptoError) -> [UInt8] {
        try digestSign(key, message)
    }

    /// Whether `signature` (DER) is this key's signature of SHA-256(`message`). A malformed signature is false,
    /// not an error: to the caller it is one more signature that does not verify.
    package func verify(_ signature: [UInt8], of message: some Collection<UInt8>) -> Bool {
        guard let context = EVP_MD_CTX_new() else { return false }
        defer {
            EVP_MD_CTX_free(context)
            CryptoError.clearQueue()
        }
        guard EVP_DigestVerifyInit(context, nil, EVP_sha256(), nil, key) == 1 else { return false }
        let input = Array(message)
        return EVP_DigestVerify(context, signature, signature.count, input, input.count) == 1
    }
}
