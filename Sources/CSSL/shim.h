#ifndef OCICRED_CSSL_SHIM_H
#define OCICRED_CSSL_SHIM_H
// OpenSSL 3's libssl server and the X509 building the admission webhook needs. Only the Webhook target imports
// this module, so the credential helper's `get` never references (and a release build never links in) libssl.
// Macros and varargs Swift cannot import get typed, non-variadic wrappers here.
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/bn.h>

// EVP_PKEY_Q_keygen is variadic: a fresh EC P-256 key, or NULL with the reason on the error queue.
static inline EVP_PKEY *cssl_generate_p256_key(void) {
    return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

// SSL_CTX_set_min_proto_version is a macro over SSL_CTX_ctrl.
static inline int cssl_ctx_set_min_tls12(SSL_CTX *ctx) {
    return (int)SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
}

// A PEM private key from memory; an encrypted one fails instead of prompting on the terminal.
static inline int cssl_refuse_passphrase(char *buf, int size, int rwflag, void *userdata) {
    (void)buf; (void)size; (void)rwflag; (void)userdata;
    return -1;
}

static inline EVP_PKEY *cssl_read_private_key(const void *pem, int length) {
    BIO *bio = BIO_new_mem_buf(pem, length);
    if (bio == NULL) return NULL;
    EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, cssl_refuse_passphrase, NULL);
    BIO_free(bio);
    return key;
}

static inline X509 *cssl_read_certificate(const void *pem, int length) {
    BIO *bio = BIO_new_mem_buf(pem, length);
    if (bio == NULL) return NULL;
    X509 *certificate = PEM_read_bio_X509(bio, NULL, cssl_refuse_passphrase, NULL);
    BIO_free(bio);
    return certificate;
}

// PEM_write_bio_PrivateKey with no cipher: the key goes into a Kubernetes Secret, as kubernetes.io/tls expects.
static inline int cssl_write_private_key(BIO *bio, EVP_PKEY *key) {
    return PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL);
}

// X509_NAME_add_entry_by_txt with MBSTRING_ASC, a macro expression Swift does not import.
static inline int cssl_set_common_name(X509_NAME *name, const char *common_name) {
    return X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)common_name, -1, -1, 0);
}

#endif
