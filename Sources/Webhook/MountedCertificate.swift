internal import SystemSupport

/// A serving certificate someone else issues and rotates — cert-manager's Certificate, its Secret mounted as a
/// volume (`tls.crt`, `tls.key`, and `ca.crt` from a CA issuer) — read through the one file reader. The kubelet
/// replaces the files when cert-manager renews; `CertificateSource` reads them again at every check. Its
/// `caBundle` is cert-manager's to keep (cainjector, `cert-manager.io/inject-ca-from`), so nothing is written.
struct MountedCertificate: Sendable {
    let directory: String
    /// A mounted Secret's files are small; anything larger is not a certificate.
    static let limit = 1 << 20

    func read() throws -> ServingCertificate {
        func file(_ name: String, required: Bool) throws -> [UInt8] {
            let path = directory + "/" + name
            guard let bytes = try FileIO.read(path, limit: Self.limit) else {
                if required { throw TLSError.unusableCertificate("\(path) does not exist") }
                return []
            }
            return bytes
        }
        let material = ServingCertificate(
            certificateAuthority: try file("ca.crt", required: false), certificate: try file("tls.crt", required: true),
            privateKey: .init(String(decoding: try file("tls.key", required: true), as: UTF8.self)))
        _ = try TLSServerContext(material)  // a key that does not match, or a PEM that does not parse, is refused
        return material
    }
}
