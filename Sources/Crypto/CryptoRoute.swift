internal import CCrypto
internal import SystemSupport

/// Which implementation of SHA-256 and AES-256-GCM this process uses, decided once.
///
/// `provider` is the fast path (`ProviderAlgorithms`): the default provider's functions in a private library
/// context, which reads no OpenSSL configuration at all. That is only right while the configuration would pick
/// exactly those functions anyway. Once the user configures OpenSSL — `OPENSSL_CONF`, a system openssl.cnf that
/// loads providers, sets `default_properties` (e.g. `fips=yes`) or includes other files, or a kernel in FIPS
/// mode — every operation goes through EVP on the default library context (`configured`), which honours that
/// configuration, and fails closed when it cannot be honoured (a FIPS property with no FIPS provider installed
/// is an error, never a quiet fall back to the non-FIPS code).
enum CryptoRoute: Equatable, Sendable {
    case provider
    /// `reason` names what configured OpenSSL, for messages.
    case configured(reason: String)

    static let current: CryptoRoute = decide(
        environmentConfig: OcicredEnvironment.processValue("OPENSSL_CONF"), systemConfig: systemConfigPath(),
        read: { (try? FileIO.readText($0, limit: 1 << 20)) ?? nil })

    /// Directives of openssl.cnf(5) that change which implementation answers a fetch.
    static let selectingDirectives: Set<String> = [
        "providers", "alg_section", "default_properties", "fips_mode", "activate", ".include", "include",
    ]

    /// `read` gives a file's text, nil when it is missing or unreadable.
    static func decide(environmentConfig: String?, systemConfig: String?, read: (String) -> String?) -> CryptoRoute {
        if let path = environmentConfig, !path.isEmpty { return .configured(reason: "OPENSSL_CONF=\(path)") }
        if read("/proc/sys/crypto/fips_enabled")?.hasPrefix("1") == true {
            return .configured(reason: "the kernel is in FIPS mode")
        }
        guard let systemConfig, let text = read(systemConfig) else { return .provider }
        if let key = firstSelectingDirective(in: text) { return .configured(reason: "\(systemConfig) sets \(key)") }
        return .provider
    }

    /// The first line's key (before `=`, blanks or a `#` comment) that is a selecting directive. Bytes, not
    /// Characters: this runs in every helper process, and splitting Debian's 12 KB openssl.cnf by grapheme was
    /// 5 M instructions of a 10 M cached `get`.
    static func firstSelectingDirective(in text: String) -> String? {
        let bytes = Array(text.utf8)
        var index = 0
        while index < bytes.count {
            while index < bytes.count, bytes[index] == UInt8(ascii: " ") || bytes[index] == UInt8(ascii: "\t") {
                index += 1
            }
            let start = index
            while index < bytes.count, !isKeyEnd(bytes[index]) { index += 1 }
            if index > start {
                let key = String(decoding: bytes[start..<index], as: UTF8.self)
                if selectingDirectives.contains(key) { return key }
            }
            while index < bytes.count, bytes[index] != UInt8(ascii: "\n"), bytes[index] != UInt8(ascii: "\r") {
                index += 1
            }
            index += 1
        }
        return nil
    }

    private static func isKeyEnd(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "="), UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "#"), UInt8(ascii: "\n"),
            UInt8(ascii: "\r"):
            return true
        default:
            return false
        }
    }

    /// `$OPENSSLDIR/openssl.cnf`, with OPENSSLDIR as this libcrypto was built with it.
    static func systemConfigPath() -> String? {
        guard let version = ccrypto_openssl_directory() else { return nil }
        let text = String(cString: version)  // OPENSSLDIR: "/usr/lib/ssl"
        guard let open = text.firstIndex(of: "\""), let close = text.lastIndex(of: "\""), open < close else {
            return nil
        }
        return String(text[text.index(after: open)..<close]) + "/openssl.cnf"
    }
}

/// The EVP side of `CryptoRoute.configured`: algorithms fetched from the default library context with its
/// configured properties, once per process.
final class ConfiguredAlgorithms: @unchecked Sendable {
    static let shared = ConfiguredAlgorithms()

    /// nil with the reason when the configuration offers no such algorithm.
    let aes256GCM: Result<OpaquePointer, CryptoError>
    let sha256: Result<OpaquePointer, CryptoError>

    private init() {
        OPENSSL_init_crypto(UInt64(OPENSSL_INIT_LOAD_CONFIG), nil)
        if let cipher = EVP_CIPHER_fetch(nil, "AES-256-GCM", nil) {
            aes256GCM = .success(cipher)
        } else {
            aes256GCM = .failure(CryptoError.fromQueue("fetching AES-256-GCM under the OpenSSL configuration"))
        }
        if let digest = EVP_MD_fetch(nil, "SHA2-256", nil) {
            sha256 = .success(digest)
        } else {
            sha256 = .failure(CryptoError.fromQueue("fetching SHA2-256 under the OpenSSL configuration"))
        }
    }
}

/// Checks, before any secret is touched, that the algorithms ocicred needs exist under the user's OpenSSL
/// configuration; on the fast path it costs nothing. The error names what configured OpenSSL.
package enum CryptoReadiness {
    package static func check() throws(CryptoError) {
        guard case .configured(let reason) = CryptoRoute.current else { return }
        let algorithms = ConfiguredAlgorithms.shared
        for result in [algorithms.aes256GCM, algorithms.sha256] {
            if case .failure(let error) = result {
                throw .unavailableUnderConfiguration(reason: reason, error.description)
            }
        }
    }
}
