internal import CCrypto

/// SHA-256 fed piece by piece (libcrypto's EVP_DigestUpdate): a layer streamed in chunks is checked against its
/// digest without ever being held whole.
public final class SHA256Hasher {
    private let context: OpaquePointer

    public init() {
        // Allocation failure is the only way either call fails for a built-in digest.
        guard let context = EVP_MD_CTX_new() else { preconditionFailure("EVP_MD_CTX_new failed") }
        precondition(EVP_DigestInit_ex(context, EVP_sha256(), nil) == 1, "EVP_DigestInit_ex(SHA-256) failed")
        self.context = context
    }

    deinit { EVP_MD_CTX_free(context) }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        precondition(EVP_DigestUpdate(context, bytes.baseAddress, bytes.count) == 1, "EVP_DigestUpdate failed")
    }

    public func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    /// The digest of everything fed so far; the hasher is spent afterwards.
    public func finish() -> [UInt8] {
        var output = [UInt8](repeating: 0, count: SHA256.byteCount)
        var length: UInt32 = 0
        precondition(EVP_DigestFinal_ex(context, &output, &length) == 1 && length == UInt32(SHA256.byteCount))
        return output
    }

    /// `sha256:<hex>`, as OCI descriptors spell digests.
    public func finishDigest() -> String { "sha256:" + Hex.encode(finish()) }
}
