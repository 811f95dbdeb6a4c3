#ifndef OCICRED_CZLIB_SHIM_H
#define OCICRED_CZLIB_SHIM_H
// zlib for the lazy mount's gzip layers. inflateInit2 is a macro; the typed wrapper below is what Swift calls.
#include <zlib.h>

static inline int czlib_inflate_init2(z_stream *stream, int window_bits) {
    return inflateInit2(stream, window_bits);
}
#endif
