internal import Crypto

/// Failures of OpenSSL's TLS server and X509 functions, with libssl's own reason text; the error queue is read and
/// cleared at the boundary so a later call never reports an earlier one's failure.
package enum TLSError: Error, Equatable, CustomStringConvertible {
    case openssl(operation: String, reason: String)
    /// The Secret or files hold something that is not a usable certificate and key (a PEM that does not parse,
    /// a key that does not match the certificate).
    case unusableCertificate(String)

    package var description: String {
        switch self {
        case .openssl(let operation, let reason): return "OpenSSL \(operation) failed: \(reason)"
        case .unusableCertificate(let reason): return "the webhook's serving certificate is unusable: \(reason)"
        }
    }

    /// Drains the thread's OpenSSL error queue into one value.
    static func fromQueue(_ operation: String) -> TLSError {
        .openssl(operation: operation, reason: CryptoError.drainQueue())
    }
}
