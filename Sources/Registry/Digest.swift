internal import Crypto

/// sha256 digests as OCI writes them (image-spec descriptor.md, "Digests"): `sha256:` + 64 lower-case hex.
public enum Digest {
    public static func sha256(_ bytes: some Collection<UInt8>) -> String { "sha256:" + SHA256.hexDigest(bytes) }

    public static func verify(_ bytes: [UInt8], matches expected: String, what: String) throws(RegistryError) {
        guard expected.hasPrefix("sha256:") else { throw .unsupportedDigest(expected) }
        let actual = sha256(bytes)
        guard actual == expected.lowercased() else {
            throw .digestMismatch(what: what, expected: expected, actual: actual)
        }
    }
}
