internal import Crypto

/// The stable name of a stored secret: `oci-creds-` + the first 16 hex digits of sha256(registry). The same
/// registry always maps to the same file or Kubernetes Secret, and the name reveals nothing of the host.
package enum SecretName {
    package static let prefix = "oci-creds-"

    package static func forRegistry(_ registry: String) -> String {
        prefix + String(SHA256.hexDigest(registry).prefix(16))
    }
}
