#ifndef OCICRED_CCRYPTO_SHIM_H
#define OCICRED_CCRYPTO_SHIM_H
// Only the OpenSSL 3 libcrypto surface the Crypto target uses. OpenSSL macros that Swift cannot import
// are given typed, non-variadic inline wrappers here.
#include <openssl/evp.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/hmac.h>
#include <openssl/crypto.h>

static inline int ccrypto_gcm_set_ivlen(EVP_CIPHER_CTX *ctx, int len) {
    return EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, len, NULL);
}
static inline int ccrypto_gcm_get_tag(EVP_CIPHER_CTX *ctx, int len, unsigned char *tag) {
    return EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, len, tag);
}
static inline int ccrypto_gcm_set_tag(EVP_CIPHER_CTX *ctx, int len, unsigned char *tag) {
    return EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, len, tag);
}

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
#endif
