#ifndef OCICRED_CCRYPTO_SHIM_H
#define OCICRED_CCRYPTO_SHIM_H
// Only the OpenSSL 3 libcrypto surface the Crypto target uses. OpenSSL macros that Swift cannot import
// are given typed, non-variadic inline wrappers here.
#include <openssl/evp.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/hmac.h>
#include <openssl/crypto.h>

// --- PEM private keys (RSASigner) ---
#include <openssl/pem.h>
#include <openssl/bio.h>

// Refuses every passphrase request: an encrypted key must fail with an error, never prompt on the terminal
// (OpenSSL's default callback would read from the tty in the middle of a credential-helper call).
static inline int ccrypto_refuse_passphrase(char *buf, int size, int rwflag, void *userdata) {
    (void)buf; (void)size; (void)rwflag; (void)userdata;
    return -1;
}

// Reads a PEM private key ("BEGIN PRIVATE KEY" PKCS#8 or "BEGIN RSA PRIVATE KEY" PKCS#1) from memory.
// NULL on failure, with the reason on the OpenSSL error queue.
static inline EVP_PKEY *ccrypto_read_private_key(const void *pem, int length) {
    BIO *bio = BIO_new_mem_buf(pem, length);
    if (bio == NULL) return NULL;
    EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, ccrypto_refuse_passphrase, NULL);
    BIO_free(bio);
    return key;
}

// Reads a PEM public key ("BEGIN PUBLIC KEY", PKIX SubjectPublicKeyInfo: what `cosign generate-key-pair` and
// `openssl ec -pubout` write) from memory. NULL on failure, with the reason on the OpenSSL error queue.
static inline EVP_PKEY *ccrypto_read_public_key(const void *pem, int length) {
    BIO *bio = BIO_new_mem_buf(pem, length);
    if (bio == NULL) return NULL;
    EVP_PKEY *key = PEM_read_bio_PUBKEY(bio, NULL, ccrypto_refuse_passphrase, NULL);
    BIO_free(bio);
    return key;
}

// --- Algorithms straight from a provider's dispatch table (ProviderAlgorithm) ---
// EVP's first fetch in a process constructs every algorithm of the operation and fills the name map with all
// legacy names (about 1 ms and 1 MB of a cached `get`); the provider's own functions, taken from its
// OSSL_ALGORITHM table, do the same work for one algorithm. These are the documented provider-cipher(7) and
// provider-digest(7) entry points, gathered into typed structs so no OSSL_DISPATCH walk happens in Swift.
#include <openssl/core.h>
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <string.h>

typedef struct {
    OSSL_FUNC_cipher_newctx_fn *newctx;
    OSSL_FUNC_cipher_encrypt_init_fn *encrypt_init;
    OSSL_FUNC_cipher_decrypt_init_fn *decrypt_init;
    OSSL_FUNC_cipher_update_fn *update;
    OSSL_FUNC_cipher_final_fn *final;
    OSSL_FUNC_cipher_get_ctx_params_fn *get_ctx_params;
    OSSL_FUNC_cipher_set_ctx_params_fn *set_ctx_params;
    OSSL_FUNC_cipher_freectx_fn *freectx;
} ccrypto_cipher_functions;

typedef struct {
    OSSL_FUNC_digest_newctx_fn *newctx;
    OSSL_FUNC_digest_init_fn *init;
    OSSL_FUNC_digest_update_fn *update;
    OSSL_FUNC_digest_final_fn *final;
    OSSL_FUNC_digest_freectx_fn *freectx;
} ccrypto_digest_functions;

// The dispatch table of the algorithm whose ':'-separated name list contains `name` exactly, or NULL.
static inline const OSSL_DISPATCH *ccrypto_provider_algorithm(OSSL_PROVIDER *provider, int operation,
                                                              const char *name) {
    int no_cache = 0;
    const OSSL_ALGORITHM *algorithm = OSSL_PROVIDER_query_operation(provider, operation, &no_cache);
    size_t length = strlen(name);
    for (; algorithm != NULL && algorithm->algorithm_names != NULL; algorithm++) {
        const char *names = algorithm->algorithm_names;
        while (*names != '\0') {
            const char *end = strchr(names, ':');
            size_t size = end ? (size_t)(end - names) : strlen(names);
            if (size == length && strncmp(names, name, length) == 0) return algorithm->implementation;
            names += size + (end ? 1 : 0);
        }
    }
    return NULL;
}

// 1 when every function the Swift side calls is present.
static inline int ccrypto_cipher_functions_from(const OSSL_DISPATCH *table, ccrypto_cipher_functions *out) {
    memset(out, 0, sizeof *out);
    for (; table != NULL && table->function_id != 0; table++) {
        switch (table->function_id) {
        case OSSL_FUNC_CIPHER_NEWCTX: out->newctx = OSSL_FUNC_cipher_newctx(table); break;
        case OSSL_FUNC_CIPHER_ENCRYPT_INIT: out->encrypt_init = OSSL_FUNC_cipher_encrypt_init(table); break;
        case OSSL_FUNC_CIPHER_DECRYPT_INIT: out->decrypt_init = OSSL_FUNC_cipher_decrypt_init(table); break;
        case OSSL_FUNC_CIPHER_UPDATE: out->update = OSSL_FUNC_cipher_update(table); break;
        case OSSL_FUNC_CIPHER_FINAL: out->final = OSSL_FUNC_cipher_final(table); break;
        case OSSL_FUNC_CIPHER_GET_CTX_PARAMS: out->get_ctx_params = OSSL_FUNC_cipher_get_ctx_params(table); break;
        case OSSL_FUNC_CIPHER_SET_CTX_PARAMS: out->set_ctx_params = OSSL_FUNC_cipher_set_ctx_params(table); break;
        case OSSL_FUNC_CIPHER_FREECTX: out->freectx = OSSL_FUNC_cipher_freectx(table); break;
        default: break;
        }
    }
    return out->newctx && out->encrypt_init && out->decrypt_init && out->update && out->final
        && out->get_ctx_params && out->set_ctx_params && out->freectx;
}

static inline int ccrypto_digest_functions_from(const OSSL_DISPATCH *table, ccrypto_digest_functions *out) {
    memset(out, 0, sizeof *out);
    for (; table != NULL && table->function_id != 0; table++) {
        switch (table->function_id) {
        case OSSL_FUNC_DIGEST_NEWCTX: out->newctx = OSSL_FUNC_digest_newctx(table); break;
        case OSSL_FUNC_DIGEST_INIT: out->init = OSSL_FUNC_digest_init(table); break;
        case OSSL_FUNC_DIGEST_UPDATE: out->update = OSSL_FUNC_digest_update(table); break;
        case OSSL_FUNC_DIGEST_FINAL: out->final = OSSL_FUNC_digest_final(table); break;
        case OSSL_FUNC_DIGEST_FREECTX: out->freectx = OSSL_FUNC_digest_freectx(table); break;
        default: break;
        }
    }
    return out->newctx && out->init && out->update && out->final && out->freectx;
}

// The AEAD tag as an OSSL_PARAM (set before the final call when decrypting, read after it when encrypting).
static inline int ccrypto_cipher_set_tag(OSSL_FUNC_cipher_set_ctx_params_fn *set_ctx_params, void *ctx, void *tag, size_t length) {
    OSSL_PARAM params[2] = {
        OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, length), OSSL_PARAM_construct_end()
    };
    return set_ctx_params(ctx, params);
}
static inline int ccrypto_cipher_get_tag(OSSL_FUNC_cipher_get_ctx_params_fn *get_ctx_params, void *ctx, void *tag, size_t length) {
    OSSL_PARAM params[2] = {
        OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, length), OSSL_PARAM_construct_end()
    };
    return get_ctx_params(ctx, params);
}
// --- The EVP route (CryptoRoute.configured): the same GCM tag through EVP's control interface ---
static inline int ccrypto_evp_gcm_get_tag(EVP_CIPHER_CTX *ctx, void *tag, int length) {
    return EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, length, tag);
}
static inline int ccrypto_evp_gcm_set_tag(EVP_CIPHER_CTX *ctx, void *tag, int length) {
    return EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, length, tag);
}
// Where this libcrypto looks for openssl.cnf when OPENSSL_CONF is unset ("OPENSSLDIR: \"/usr/lib/ssl\"").
static inline const char *ccrypto_openssl_directory(void) { return OpenSSL_version(OPENSSL_DIR); }
#endif
