internal import CSSL
internal import Credentials
package import FoundationEssentials

/// Makes the webhook's CA and serving certificate with OpenSSL's own X509 API (EC P-256, SHA-256): a
/// self-signed CA (basicConstraints CA:TRUE, keyCertSign) and a leaf it signs for the Service's DNS names
/// (serverAuth, SAN dNSNames, key identifiers), which is what the API server and strict verifiers (Python's
/// VERIFY_X509_STRICT, Go's crypto/x509) require. A rotation makes both anew; the CA's key is not kept.
package enum CertificateAuthority {
    package static func issue(dnsNames: [String], validity: TimeInterval, now: Date) throws(TLSError)
        -> ServingCertificate
    {
        precondition(!dnsNames.isEmpty, "a serving certificate needs a name")
        let start = Int(now.timeIntervalSince1970) - 300  // a little clock skew between nodes
        let end = Int((now.timeIntervalSince1970 + validity).rounded())
        let caKey = try generateKey()
        defer { EVP_PKEY_free(caKey) }
        let ca = try makeCertificate(
            commonName: "ocicred webhook CA", issuer: nil, key: caKey, signer: caKey, from: start, until: end,
            extensions: [
                (NID_basic_constraints, "critical,CA:TRUE,pathlen:0"),
                (NID_key_usage, "critical,keyCertSign,cRLSign"),
                (NID_subject_key_identifier, "hash"),
            ])
        defer { X509_free(ca) }
        let key = try generateKey()
        defer { EVP_PKEY_free(key) }
        let leaf = try makeCertificate(
            commonName: dnsNames[0], issuer: ca, key: key, signer: caKey, from: start, until: end,
            extensions: [
                (NID_basic_constraints, "critical,CA:FALSE"),
                (NID_key_usage, "critical,digitalSignature"),
                (NID_ext_key_usage, "serverAuth"),
                (NID_subject_alt_name, dnsNames.map { "DNS:" + $0 }.joined(separator: ",")),
                (NID_subject_key_identifier, "hash"),
                (NID_authority_key_identifier, "keyid:always"),
            ])
        defer { X509_free(leaf) }
        return ServingCertificate(
            certificateAuthority: try pem { PEM_write_bio_X509($0, ca) },
            certificate: try pem { PEM_write_bio_X509($0, leaf) },
            privateKey: Secret(String(decoding: try pem { cssl_write_private_key($0, key) }, as: UTF8.self)))
    }

    private static func generateKey() throws(TLSError) -> OpaquePointer {
        guard let key = cssl_generate_p256_key() else { throw .fromQueue("EVP_PKEY_Q_keygen") }
        return key
    }

    private static func makeCertificate(
        commonName: String, issuer: OpaquePointer?, key: OpaquePointer, signer: OpaquePointer, from start: Int,
        until end: Int, extensions: [(Int32, String)]
    ) throws(TLSError) -> OpaquePointer {
        guard let certificate = X509_new() else { throw .fromQueue("X509_new") }
        var built = false
        defer { if !built { X509_free(certificate) } }
        guard let serial = BN_new() else { throw .fromQueue("BN_new") }
        defer { BN_free(serial) }
        // RFC 5280: a positive serial of at most 20 octets, unpredictable (CA/B baseline asks 64 random bits).
        guard X509_set_version(certificate, 2) == 1, BN_rand(serial, 159, -1, 0) == 1,
            BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(certificate)) != nil,
            ASN1_TIME_set(X509_getm_notBefore(certificate), start) != nil,
            ASN1_TIME_set(X509_getm_notAfter(certificate), end) != nil,
            cssl_set_common_name(X509_get_subject_name(certificate), commonName) == 1,
            X509_set_issuer_name(certificate, X509_get_subject_name(issuer ?? certificate)) == 1,
            X509_set_pubkey(certificate, key) == 1
        else { throw .fromQueue("building a certificate") }
        var context = X509V3_CTX()
        X509V3_set_ctx(&context, issuer ?? certificate, certificate, nil, nil, 0)
        for (nid, value) in extensions {
            guard let `extension` = X509V3_EXT_conf_nid(nil, &context, nid, value) else {
                throw .fromQueue("X509V3_EXT_conf_nid(\(value))")
            }
            defer { X509_EXTENSION_free(`extension`) }
            guard X509_add_ext(certificate, `extension`, -1) == 1 else { throw .fromQueue("X509_add_ext") }
        }
        guard X509_sign(certificate, signer, EVP_sha256()) > 0 else { throw .fromQueue("X509_sign") }
        built = true
        return certificate
    }

    /// What `write` puts into a memory BIO, as bytes.
    private static func pem(_ write: (OpaquePointer) -> Int32) throws(TLSError) -> [UInt8] {
        guard let bio = BIO_new(BIO_s_mem()) else { throw .fromQueue("BIO_new") }
        defer { BIO_free(bio) }
        guard write(bio) == 1 else { throw .fromQueue("PEM_write_bio") }
        var bytes = [UInt8](repeating: 0, count: Int(BIO_ctrl_pending(bio)))
        let read = bytes.withUnsafeMutableBytes { BIO_read(bio, $0.baseAddress, Int32($0.count)) }
        return Array(bytes.prefix(Int(max(read, 0))))
    }
}
