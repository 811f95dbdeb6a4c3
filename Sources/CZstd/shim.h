// libzstd's streaming decompression API, for zstd-compressed layers (read whole on first access).
#ifndef OCICRED_CZSTD_SHIM_H
#define OCICRED_CZSTD_SHIM_H
#include <zstd.h>
#endif
