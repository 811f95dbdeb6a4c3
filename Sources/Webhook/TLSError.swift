internal import CSSL

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
        var reason = "unknown error"
        let code = ERR_get_error()
        if code != 0 {
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            reason = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        ERR_clear_error()
        return .openssl(operation: operation, reason: reason)
    }
}
