/// SHA-256 fed piece by piece: a layer streamed in chunks is checked against its digest without ever being
/// held whole.
public final class SHA256Hasher {
    private let digest = ProviderDigest()

    public init() {}

    public func update(_ bytes: UnsafeRawBufferPointer) { digest.update(bytes) }

    public func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    /// The digest of everything fed so far; the hasher is spent afterwards.
    public func finish() -> [UInt8] { digest.finish() }

    /// `sha256:<hex>`, as OCI descriptors spell digests.
    public func finishDigest() -> String { "sha256:" + Hex.encode(finish()) }
}
