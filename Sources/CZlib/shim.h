#ifndef OCICRED_CZLIB_SHIM_H
#define OCICRED_CZLIB_SHIM_H
// zlib for the lazy mount's gzip layers. inflateInit2 is a macro; the typed wrapper below is what Swift calls.
#include <zlib.h>

static inline int czlib_inflate_init2(z_stream *stream, int window_bits) {
    return inflateInit2(stream, window_bits);
}

// zran.c's resume: a raw inflate primed with the bits of the byte a checkpoint starts in, then the 32 KiB window
// as dictionary. Typed wrappers so the Swift side names no zlib macro (z_const, Bytef) directly.
static inline int czlib_inflate_reset2(z_stream *stream, int window_bits) {
    return inflateReset2(stream, window_bits);
}

static inline int czlib_inflate_prime(z_stream *stream, int bits, int value) {
    return inflatePrime(stream, bits, value);
}

static inline int czlib_inflate_set_dictionary(z_stream *stream, const unsigned char *dictionary,
                                               unsigned int length) {
    return inflateSetDictionary(stream, dictionary, length);
}
#endif
