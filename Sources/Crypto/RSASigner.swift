internal import CCrypto

/// RS256 (RSASSA-PKCS1-v1_5 with SHA-256, RFC 7518 §3.3) signatures from a PEM private key: the algorithm of
/// Google service-account JWT assertions and of Azure client-assertion certificates.
///
/// Accepts PKCS#8 (`BEGIN PRIVATE KEY`, what Google's key files hold) and PKCS#1 (`BEGIN RSA PRIVATE KEY`, what
/// `openssl genrsa -traditional` and older tools write). An encrypted key fails instead of prompting for a
/// passphrase. No message ever contains key material: OpenSSL's reason strings name the failing step only.
///
/// `@unchecked Sendable`: the `EVP_PKEY` is never mutated after loading, and OpenSSL 3 allows concurrent
/// signing with one key (each `sign` call has its own `EVP_MD_CTX`).
package final class RSASigner: @unchecked Sendable {
    /// Owned by this object; freed in `deinit`.
    private let key: OpaquePointer

    /// The JWS `alg` this signer produces.
    package let algorithm = "RS256"

    package init(pem: String) throws(CryptoError) {
        let bytes = Array(pem.utf8)
        guard let loaded = bytes.withUnsafeBytes({ ccrypto_read_private_key($0.baseAddress, Int32($0.count)) }) else {
            throw CryptoError.fromQueue("read PEM private key")
        }
        guard EVP_PKEY_is_a(loaded, "RSA") == 1 else {
            EVP_PKEY_free(loaded)
            throw .openssl(operation: "read PEM private key", reason: "the key is not an RSA key (RS256 needs one)")
        }
        key = loaded
    }

    deinit { EVP_PKEY_free(key) }

    /// Key size in bits (2048 for Google service-account keys).
    package var bits: Int { Int(EVP_PKEY_get_bits(key)) }

    /// The RS256 signature of `message` (the JWS signing input `base64url(header).base64url(claims)`).
    package func sign(_ message: some Collection<UInt8>) throws(CryptoError) -> [UInt8] {
        // RSA keys default to PKCS#1 v1.5 padding, which is what RS256 is.
        try digestSign(key, message)
    }
}

/// SHA-256 then the key's own signature scheme (PKCS#1 v1.5 for RSA, DER ECDSA for EC) with a fresh `EVP_MD_CTX`:
/// the one signing call RSASigner and ECDSAKey share.
func digestSign(_ key: OpaquePointer, _ message: some Collection<UInt8>) throws(CryptoError) -> [UInt8] {
    guard let context = EVP_MD_CTX_new() else { throw CryptoError.fromQueue("EVP_MD_CTX_new") }
    defer { EVP_MD_CTX_free(context) }
    try check(EVP_DigestSignInit(context, nil, EVP_sha256(), nil, key), "EVP_DigestSignInit")
    let input = Array(message)
    var length = 0
    try check(EVP_DigestSign(context, nil, &length, input, input.count), "EVP_DigestSign(size)")
    var signature = [UInt8](repeating: 0, count: length)
    try check(EVP_DigestSign(context, &signature, &length, input, input.count), "EVP_DigestSign")
    signature.removeLast(signature.count - length)
    return signature
}
