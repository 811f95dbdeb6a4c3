internal import CSSL

/// An OpenSSL `SSL_CTX` serving one certificate and key, TLS 1.2 and up with OpenSSL's default ciphers (its
/// configuration honoured). Immutable once made, which is what lets many connections share it across threads;
/// a rotation makes a new context and new connections take it.
final class TLSServerContext: @unchecked Sendable {
    private let context: OpaquePointer

    init(_ material: ServingCertificate) throws(TLSError) {
        guard let context = SSL_CTX_new(TLS_server_method()) else { throw .fromQueue("SSL_CTX_new") }
        self.context = context
        guard cssl_ctx_set_min_tls12(context) == 1 else { throw .fromQueue("SSL_CTX_set_min_proto_version") }
        let certificate = try ServingCertificate.parse(material.certificate)
        defer { X509_free(certificate) }
        guard SSL_CTX_use_certificate(context, certificate) == 1 else { throw .fromQueue("SSL_CTX_use_certificate") }
        let key = Array(material.privateKey.exposedValue.utf8)
        guard let privateKey = key.withUnsafeBytes({ cssl_read_private_key($0.baseAddress, Int32($0.count)) }) else {
            _ = TLSError.fromQueue("PEM_read_bio_PrivateKey")
            throw .unusableCertificate("tls.key is not a PEM private key")
        }
        defer { EVP_PKEY_free(privateKey) }
        guard SSL_CTX_use_PrivateKey(context, privateKey) == 1, SSL_CTX_check_private_key(context) == 1 else {
            _ = TLSError.fromQueue("SSL_CTX_use_PrivateKey")
            throw .unusableCertificate("tls.key does not belong to tls.crt")
        }
    }

    deinit { SSL_CTX_free(context) }

    func makeConnection() throws(TLSError) -> TLSServerConnection {
        try TLSServerConnection(context: context)
    }
}
