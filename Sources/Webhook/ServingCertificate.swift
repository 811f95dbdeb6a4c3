internal import CSSL
package import Credentials
package import FoundationEssentials

/// The webhook's TLS material as PEM: the CA the API server trusts (the `caBundle`), the serving certificate it
/// signed and that certificate's key. The key redacts itself (`Secret`).
package struct ServingCertificate: Sendable, Equatable {
    package var certificateAuthority: [UInt8]
    package var certificate: [UInt8]
    package var privateKey: Secret
    /// The CA before the last rotation (PEM, empty when none): replicas that have not reloaded yet still serve
    /// certificates it signed, so the `caBundle` keeps it until it expires.
    package var previousCertificateAuthority: [UInt8] = []

    package init(certificateAuthority: [UInt8], certificate: [UInt8], privateKey: Secret) {
        self.certificateAuthority = certificateAuthority
        self.certificate = certificate
        self.privateKey = privateKey
    }

    /// What the API server must trust: the CA, and the previous one while it has not expired.
    package func caBundle(at now: Date) -> [UInt8] {
        guard !previousCertificateAuthority.isEmpty,
            let remaining = try? Self.secondsUntilExpiry(previousCertificateAuthority, at: now), remaining > 0
        else { return certificateAuthority }
        return certificateAuthority + previousCertificateAuthority
    }

    /// Seconds from `now` until the serving certificate or its CA expires, whichever is first (negative when
    /// one has).
    package func remainingLifetime(at now: Date) throws(TLSError) -> TimeInterval {
        min(
            try Self.secondsUntilExpiry(certificate, at: now),
            try Self.secondsUntilExpiry(certificateAuthority, at: now))
    }

    /// Whether the serving certificate names every one of `dnsNames` (X509_check_host: the SAN dNSNames).
    package func names(_ dnsNames: [String]) throws(TLSError) -> Bool {
        let parsed = try Self.parse(certificate)
        defer { X509_free(parsed) }
        return dnsNames.allSatisfy { X509_check_host(parsed, $0, $0.utf8.count, 0, nil) == 1 }
    }

    static func isCertificate(_ pem: [UInt8]) -> Bool {
        guard let parsed = try? parse(pem) else { return false }
        X509_free(parsed)
        return true
    }

    static func parse(_ pem: [UInt8]) throws(TLSError) -> OpaquePointer {
        guard let parsed = pem.withUnsafeBytes({ cssl_read_certificate($0.baseAddress, Int32($0.count)) }) else {
            _ = TLSError.fromQueue("PEM_read_bio_X509")
            throw .unusableCertificate("not a PEM certificate")
        }
        return parsed
    }

    private static func secondsUntilExpiry(_ pem: [UInt8], at now: Date) throws(TLSError) -> TimeInterval {
        let parsed = try parse(pem)
        defer { X509_free(parsed) }
        guard let start = ASN1_TIME_set(nil, Int(now.timeIntervalSince1970)) else {
            throw TLSError.fromQueue("ASN1_TIME_set")
        }
        defer { ASN1_STRING_free(start) }
        var days: Int32 = 0
        var seconds: Int32 = 0
        guard ASN1_TIME_diff(&days, &seconds, start, X509_get0_notAfter(parsed)) == 1 else {
            throw TLSError.fromQueue("ASN1_TIME_diff")
        }
        return TimeInterval(days) * 86_400 + TimeInterval(seconds)
    }
}
