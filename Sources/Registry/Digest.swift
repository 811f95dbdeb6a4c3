internal import Crypto

/// sha256 digests as OCI writes them (image-spec descriptor.md, "Digests"): `sha256:` + 64 lower-case hex.
package enum Digest {
    package static func sha256(_ bytes: some Collection<UInt8>) -> String { "sha256:" + SHA256.hexDigest(bytes) }

    /// `sha256:` and 64 lower-case hex digits: the only digest text a blob or manifest URL, or a cache file name, is
    /// built from, whoever wrote it (a manifest, a referrer, an index).
    package static func isWellFormed(_ text: String) -> Bool {
        let hex = text.utf8.dropFirst(7)
        return text.hasPrefix("sha256:") && hex.count == 64
            && hex.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    package static func verify(_ bytes: [UInt8], matches expected: String, what: String) throws(RegistryError) {
        guard expected.hasPrefix("sha256:") else { throw .unsupportedDigest(expected) }
        let actual = sha256(bytes)
        guard actual == expected.lowercased() else {
            throw .digestMismatch(what: what, expected: expected, actual: actual)
        }
    }
}
