internal import CCrypto

/// SHA-256 and AES-256-GCM taken straight from OpenSSL's default provider, loaded into a library context of
/// our own.
///
/// Why not EVP here: the first `EVP_*_fetch` in a process constructs every algorithm of its operation and
/// copies every legacy algorithm name into the name map, and the default library context first reads
/// `openssl.cnf`. On a cached credential-helper `get` (one hash for the file name, one decryption) that was
/// about 1 ms of a 3 ms process and 1 MB of its memory (`helpers/bench`). The provider's own functions do
/// the same arithmetic — the same AES-NI and SHA extensions code EVP would reach — for one algorithm only.
///
/// Why a private context: it reads no configuration, which is right only while the configuration would pick
/// these very functions; `CryptoRoute` sends everything through EVP as soon as OpenSSL is configured otherwise.
/// HMAC and RSA stay on EVP; they run only next to network calls.
final class ProviderAlgorithms: @unchecked Sendable {
    /// Loaded on first use (a Swift global is initialised once, thread-safely), never unloaded.
    static let shared = ProviderAlgorithms()

    /// The provider's own context, the first argument of every `newctx`.
    let providerContext: UnsafeMutableRawPointer?
    let aes256GCM: ccrypto_cipher_functions
    let sha256: ccrypto_digest_functions

    private init() {
        // The default provider is compiled into libcrypto; these fail only when memory runs out, which is as
        // fatal here as in EVP's own implicit fetch.
        guard let context = OSSL_LIB_CTX_new(), let provider = OSSL_PROVIDER_load(context, "default") else {
            preconditionFailure("OpenSSL: cannot load the default provider")
        }
        providerContext = OSSL_PROVIDER_get0_provider_ctx(provider)
        var cipher = ccrypto_cipher_functions()
        var digest = ccrypto_digest_functions()
        guard
            ccrypto_cipher_functions_from(
                ccrypto_provider_algorithm(provider, OSSL_OP_CIPHER, "AES-256-GCM"),
                &cipher) == 1,
            ccrypto_digest_functions_from(
                ccrypto_provider_algorithm(provider, OSSL_OP_DIGEST, "SHA2-256"),
                &digest) == 1
        else { preconditionFailure("OpenSSL's default provider lacks AES-256-GCM or SHA2-256") }
        aes256GCM = cipher
        sha256 = digest
    }
}

/// One SHA-256 computation: on the provider's digest functions, or through EVP when OpenSSL is configured
/// (`CryptoRoute`).
struct ProviderDigest: ~Copyable {
    private enum Backend {
        case provider(ccrypto_digest_functions, UnsafeMutableRawPointer)
        case evp(OpaquePointer)
    }
    private let backend: Backend

    init() {
        switch CryptoRoute.current {
        case .provider:
            let algorithms = ProviderAlgorithms.shared
            let functions = algorithms.sha256
            // Allocation failure is the only way these fail for SHA-256.
            guard let context = functions.newctx(algorithms.providerContext) else {
                preconditionFailure("OpenSSL SHA-256: cannot allocate a context")
            }
            precondition(functions.`init`(context, nil) == 1, "OpenSSL SHA-256: init failed")
            backend = .provider(functions, context)
        case .configured(let reason):
            // CryptoReadiness.check() ran at start-up and reported a missing digest as an error; reaching this
            // without one would mean hashing with an algorithm the configuration excludes, so stop instead.
            guard case .success(let digest) = ConfiguredAlgorithms.shared.sha256,
                let context = EVP_MD_CTX_new(), EVP_DigestInit_ex2(context, digest, nil) == 1
            else { fatalError("OpenSSL (\(reason)) offers no SHA2-256; ocicred will not hash without it") }
            backend = .evp(context)
        }
    }

    deinit {
        switch backend {
        case .provider(let functions, let context): functions.freectx(context)
        case .evp(let context): EVP_MD_CTX_free(context)
        }
    }

    func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        switch backend {
        case .provider(let functions, let context):
            precondition(
                functions.update(context, base.assumingMemoryBound(to: UInt8.self), bytes.count) == 1,
                "OpenSSL SHA-256: update failed")
        case .evp(let context):
            precondition(EVP_DigestUpdate(context, base, bytes.count) == 1, "OpenSSL SHA-256: update failed")
        }
    }

    func finish() -> [UInt8] {
        var output = [UInt8](repeating: 0, count: SHA256.byteCount)
        switch backend {
        case .provider(let functions, let context):
            var length = 0
            precondition(
                functions.final(context, &output, &length, output.count) == 1 && length == SHA256.byteCount,
                "OpenSSL SHA-256: final failed")
        case .evp(let context):
            var length: UInt32 = 0
            precondition(
                EVP_DigestFinal_ex(context, &output, &length) == 1 && length == SHA256.byteCount,
                "OpenSSL SHA-256: final failed")
        }
        return output
    }
}

/// One AES-256-GCM encryption or decryption: on the provider's cipher functions, or through EVP when OpenSSL is
/// configured (`CryptoRoute`), where an algorithm the configuration does not offer is an error.
struct ProviderCipher: ~Copyable {
    private enum Backend {
        case provider(ccrypto_cipher_functions, UnsafeMutableRawPointer)
        case evp(OpaquePointer, encrypting: Bool)
    }
    private let backend: Backend

    init(encrypting: Bool, key: [UInt8], nonce: [UInt8]) throws(CryptoError) {
        switch CryptoRoute.current {
        case .provider:
            let algorithms = ProviderAlgorithms.shared
            let functions = algorithms.aes256GCM
            guard let context = functions.newctx(algorithms.providerContext) else {
                throw CryptoError.fromQueue("AES-256-GCM context")
            }
            let result =
                encrypting
                ? functions.encrypt_init(context, key, key.count, nonce, nonce.count, nil)
                : functions.decrypt_init(context, key, key.count, nonce, nonce.count, nil)
            guard result == 1 else {
                functions.freectx(context)
                throw CryptoError.fromQueue("AES-256-GCM init")
            }
            backend = .provider(functions, context)
        case .configured(let reason):
            let cipher: OpaquePointer
            switch ConfiguredAlgorithms.shared.aes256GCM {
            case .success(let fetched): cipher = fetched
            case .failure(let error): throw .unavailableUnderConfiguration(reason: reason, error.description)
            }
            guard let context = EVP_CIPHER_CTX_new() else { throw CryptoError.fromQueue("EVP_CIPHER_CTX_new") }
            // GCM's default IV length is the 12 bytes every sealed box uses.
            let result =
                encrypting
                ? EVP_EncryptInit_ex2(context, cipher, key, nonce, nil)
                : EVP_DecryptInit_ex2(context, cipher, key, nonce, nil)
            guard result == 1 else {
                EVP_CIPHER_CTX_free(context)
                throw CryptoError.fromQueue("AES-256-GCM init")
            }
            backend = .evp(context, encrypting: encrypting)
        }
    }

    deinit {
        switch backend {
        case .provider(let functions, let context): functions.freectx(context)
        case .evp(let context, _): EVP_CIPHER_CTX_free(context)
        }
    }

    /// Authenticated, not encrypted: input without an output buffer is AAD, in both interfaces.
    func authenticate(_ associatedData: [UInt8]) throws(CryptoError) {
        guard !associatedData.isEmpty else { return }
        switch backend {
        case .provider(let functions, let context):
            var written = 0
            try check(
                functions.update(context, nil, &written, associatedData.count, associatedData, associatedData.count),
                "AES-256-GCM associated data")
        case .evp(let context, _):
            var written: Int32 = 0
            try check(
                EVP_CipherUpdate(context, nil, &written, associatedData, Int32(associatedData.count)),
                "AES-256-GCM associated data")
        }
    }

    func update(_ input: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard !input.isEmpty else { return [] }
        var output = [UInt8](repeating: 0, count: input.count)
        switch backend {
        case .provider(let functions, let context):
            var written = 0
            try check(
                functions.update(context, &output, &written, output.count, input, input.count), "AES-256-GCM update")
            output.removeLast(output.count - written)
        case .evp(let context, _):
            var written: Int32 = 0
            try check(EVP_CipherUpdate(context, &output, &written, input, Int32(input.count)), "AES-256-GCM update")
            output.removeLast(output.count - Int(written))
        }
        return output
    }

    /// GCM is a stream mode: the final call only checks (decrypting) or computes (encrypting) the tag.
    func finish() -> Bool {
        var scratch = [UInt8](repeating: 0, count: 16)
        switch backend {
        case .provider(let functions, let context):
            var written = 0
            return functions.final(context, &scratch, &written, scratch.count) == 1
        case .evp(let context, _):
            var written: Int32 = 0
            return EVP_CipherFinal_ex(context, &scratch, &written) == 1
        }
    }

    func setTag(_ tag: [UInt8]) throws(CryptoError) {
        var tag = tag
        switch backend {
        case .provider(let functions, let context):
            try check(ccrypto_cipher_set_tag(functions.set_ctx_params, context, &tag, tag.count), "AES-256-GCM set tag")
        case .evp(let context, _):
            try check(ccrypto_evp_gcm_set_tag(context, &tag, Int32(tag.count)), "AES-256-GCM set tag")
        }
    }

    func tag() throws(CryptoError) -> [UInt8] {
        var tag = [UInt8](repeating: 0, count: AESGCM.tagByteCount)
        switch backend {
        case .provider(let functions, let context):
            try check(ccrypto_cipher_get_tag(functions.get_ctx_params, context, &tag, tag.count), "AES-256-GCM tag")
        case .evp(let context, _):
            try check(ccrypto_evp_gcm_get_tag(context, &tag, Int32(tag.count)), "AES-256-GCM tag")
        }
        return tag
    }
}
