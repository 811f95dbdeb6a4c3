internal import CCrypto

/// Failures from libcrypto, carried as Swift values. The OpenSSL error queue is read and cleared at the
/// boundary, so a later call never reports an earlier call's failure.
package enum CryptoError: Error, Equatable, CustomStringConvertible {
    /// OpenSSL refused an operation; `reason` is the library's own text for the first queued error.
    case openssl(operation: String, reason: String)
    /// The authentication tag did not match: wrong key, or the ciphertext was altered.
    case authenticationFailed
    /// Input of the wrong size (a key that is not 32 bytes, a sealed box shorter than nonce + tag).
    case invalidLength(what: String, expected: Int, actual: Int)
    /// The user's OpenSSL configuration (`reason`) leaves no implementation of an algorithm ocicred needs:
    /// failing is the point, rather than using one the configuration excludes.
    case unavailableUnderConfiguration(reason: String, String)

    package var description: String {
        switch self {
        case .openssl(let operation, let reason):
            return "OpenSSL \(operation) failed: \(reason)"
        case .authenticationFailed:
            return "decryption failed: the key is wrong or the data was altered"
        case .invalidLength(let what, let expected, let actual):
            return "\(what) must be \(expected) bytes, got \(actual)"
        case .unavailableUnderConfiguration(let reason, let detail):
            return "OpenSSL is configured (\(reason)) so that it offers no implementation ocicred may use: \(detail); "
                + "install the provider the configuration asks for, or fix the configuration"
        }
    }

    /// Drains libcrypto's thread-local error queue into one value.
    static func fromQueue(_ operation: String) -> CryptoError {
        .openssl(operation: operation, reason: drainQueue())
    }

    /// The text of the first error on the thread's OpenSSL queue, which is then emptied. libssl queues its failures
    /// on the same libcrypto queue, so the webhook's TLS errors read it here too instead of binding it twice.
    package static func drainQueue() -> String {
        // The reason texts are loaded only now: a process that never fails never pays for them.
        OPENSSL_init_crypto(UInt64(OPENSSL_INIT_LOAD_CRYPTO_STRINGS), nil)
        var reason = "unknown error"
        let code = ERR_get_error()
        if code != 0 {
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            reason = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        ERR_clear_error()
        return reason
    }

    /// Drops whatever libcrypto queued for a failure that is reported as a Swift value of its own.
    static func clearQueue() { ERR_clear_error() }
}

/// The one seam that turns libcrypto's `1 on success` convention into a thrown error.
@inline(__always)
func check(_ result: Int32, _ operation: String) throws(CryptoError) {
    if result != 1 { throw CryptoError.fromQueue(operation) }
}
