#ifndef OCICRED_CZLIB_SHIM_H
#define OCICRED_CZLIB_SHIM_H
// zlib for the lazy mount's gzip layers. inflateInit2 is a macro; the typed wrapper below is what Swift calls.
#include <string.h>
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

// One-shot deflate of a whole buffer at level 9: window_bits 31 writes gzip (the pushed index), -15 raw deflate
// (each checkpoint window). *dest_len is the room in dest on entry and the bytes written on return; Z_BUF_ERROR
// when dest was too small.
static inline int czlib_deflate_all(const unsigned char *src, unsigned long src_len, unsigned char *dest,
                                    unsigned long *dest_len, int window_bits) {
    z_stream stream;
    memset(&stream, 0, sizeof stream);
    int code = deflateInit2(&stream, 9, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY);
    if (code != Z_OK) return code;
    stream.next_in = (unsigned char *)src;
    stream.avail_in = (uInt)src_len;
    stream.next_out = dest;
    stream.avail_out = (uInt)*dest_len;
    code = deflate(&stream, Z_FINISH);
    *dest_len = stream.total_out;
    deflateEnd(&stream);
    if (code == Z_STREAM_END) return Z_OK;
    return code == Z_OK ? Z_BUF_ERROR : code;
}

static inline unsigned long czlib_deflate_bound(unsigned long length) {
    return compressBound(length) + 32;
}
#endif
