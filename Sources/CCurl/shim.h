#ifndef OCICRED_CCURL_SHIM_H
#define OCICRED_CCURL_SHIM_H

/* <curl/curl.h> is included for its types and constants only. Nothing here calls a curl_* symbol directly:
 * the library is dlopen()ed by Transport (CurlLibrary.swift) and reached through `ccurl_functions`, so the
 * binary has no DT_NEEDED entry for libcurl. The typecheck-gcc macros are off because they wrap the very
 * curl_easy_setopt symbol we never call. */
#define CURL_DISABLE_TYPECHECK 1
#define CURL_NO_OLDIES 1
#include <curl/curl.h>
#include <stddef.h>

/* The variadic entry points, as they are declared in curl/easy.h. Swift cannot call a variadic function pointer,
 * so the typed wrappers below call them from C, where the compiler applies the varargs ABI. */
typedef CURLcode (*ccurl_easy_setopt_fn)(CURL *handle, CURLoption option, ...);
typedef CURLcode (*ccurl_easy_getinfo_fn)(CURL *handle, CURLINFO info, ...);

/* The slice of libcurl Transport uses, filled from dlsym(). The variadic two are stored as `void *` so that
 * Swift can assign them (it imports variadic function pointers as opaque) and are cast back in C below. */
typedef struct ccurl_functions {
    CURLcode (*global_init)(long flags);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *handle);
    void (*easy_reset)(CURL *handle);
    CURLcode (*easy_perform)(CURL *handle);
    const char *(*easy_strerror)(CURLcode code);
    struct curl_slist *(*slist_append)(struct curl_slist *list, const char *string);
    void (*slist_free_all)(struct curl_slist *list);
    void *easy_setopt;  /* ccurl_easy_setopt_fn */
    void *easy_getinfo; /* ccurl_easy_getinfo_fn */
} ccurl_functions;

/* Typed, non-variadic setters: one per CURLOPTTYPE the Swift side uses. */
static inline CURLcode ccurl_setopt_long(const ccurl_functions *f, CURL *h, CURLoption option, long value) {
    return ((ccurl_easy_setopt_fn)f->easy_setopt)(h, option, value);
}

static inline CURLcode ccurl_setopt_off_t(const ccurl_functions *f, CURL *h, CURLoption option, curl_off_t value) {
    return ((ccurl_easy_setopt_fn)f->easy_setopt)(h, option, value);
}

/* libcurl copies string options (since 7.17.0), so `value` need only live for the call. */
static inline CURLcode ccurl_setopt_string(const ccurl_functions *f, CURL *h, CURLoption option, const char *value) {
    return ((ccurl_easy_setopt_fn)f->easy_setopt)(h, option, value);
}

/* Object pointers (userdata, header lists, error buffer, non-copied POST data): the caller keeps them alive for
 * the whole transfer. */
static inline CURLcode ccurl_setopt_pointer(const ccurl_functions *f, CURL *h, CURLoption option, void *value) {
    return ((ccurl_easy_setopt_fn)f->easy_setopt)(h, option, value);
}

static inline CURLcode ccurl_setopt_slist(const ccurl_functions *f, CURL *h, CURLoption option,
                                          struct curl_slist *value) {
    return ((ccurl_easy_setopt_fn)f->easy_setopt)(h, option, value);
}

/* CURLOPT_*_BLOB; with CURL_BLOB_COPY curl copies the bytes during the call. */
static inline CURLcode ccurl_setopt_blob_copy(const ccurl_functions *f, CURL *h, CURLoption option,
                                              const void *data, size_t length) {
    struct curl_blob blob;
    blob.data = (void *)data;
    blob.len = length;
    blob.flags = CURL_BLOB_COPY;
    return ((ccurl_easy_setopt_fn)f->easy_setopt)(h, option, &blob);
}

/* Function-pointer options are passed as function pointers (curl reads them with va_arg of that type), never
 * through a `void *`. */
typedef size_t (*ccurl_data_callback)(char *data, size_t size, size_t count, void *userdata);
typedef int (*ccurl_progress_callback)(void *userdata, curl_off_t download_total, curl_off_t downloaded,
                                       curl_off_t upload_total, curl_off_t uploaded);

static inline CURLcode ccurl_setopt_data_callback(const ccurl_functions *f, CURL *h, CURLoption option,
                                                  ccurl_data_callback callback) {
    return ((ccurl_easy_setopt_fn)f->easy_setopt)(h, option, callback);
}

static inline CURLcode ccurl_setopt_progress_callback(const ccurl_functions *f, CURL *h, CURLoption option,
                                                      ccurl_progress_callback callback) {
    return ((ccurl_easy_setopt_fn)f->easy_setopt)(h, option, callback);
}

static inline CURLcode ccurl_getinfo_long(const ccurl_functions *f, CURL *h, CURLINFO info, long *value) {
    return ((ccurl_easy_getinfo_fn)f->easy_getinfo)(h, info, value);
}

static inline CURLcode ccurl_getinfo_off_t(const ccurl_functions *f, CURL *h, CURLINFO info, curl_off_t *value) {
    return ((ccurl_easy_getinfo_fn)f->easy_getinfo)(h, info, value);
}

#endif
