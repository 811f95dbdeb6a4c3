/// SHA-256 fed piece by piece: a layer streamed in chunks is checked against its digest without ever being
/// held whole.
package final class SHA256Hasher {
    private let digest = ProviderDigest()

    package init() {}

    package func update(_ bytes: UnsafeRawBufferPointer) { digest.update(bytes) }

    package func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    /// The digest of everything fed so far; the hasher is spent afterwards.
    package func finish() -> [UInt8] { digest.finish() }

    /// `sha256:<hex>`, as OCI descriptors spell digests.
    package func finishDigest() -> String { "sha256:" + Hex.encode(finish()) }
}
