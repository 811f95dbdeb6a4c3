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
#endif
