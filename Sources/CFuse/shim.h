// libfuse3's low-level API at protocol level 3.12 (Debian 12 ships 3.14). The header must see
// FUSE_USE_VERSION before it is included, which a module map cannot say, hence this shim; the
// cfuse_ functions stand in for a macro (fuse_session_loop_mt) and for bit-fields and capability
// macros Swift cannot reach.
#ifndef OCICRED_CFUSE_SHIM_H
#define OCICRED_CFUSE_SHIM_H
#define FUSE_USE_VERSION 312
#include <fuse3/fuse_lowlevel.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <string.h>
#include <stdlib.h>

/// The multithreaded loop with at most `max_threads` workers; returns fuse_session_loop_mt's value.
static inline int cfuse_session_loop_mt(struct fuse_session *se, unsigned int max_threads) {
    struct fuse_loop_config *config = fuse_loop_cfg_create();
    if (config == NULL) return -1;
    fuse_loop_cfg_set_max_threads(config, max_threads);
    fuse_loop_cfg_set_idle_threads(config, max_threads / 2 > 0 ? max_threads / 2 : 1);
    int result = fuse_session_loop_mt(se, config);
    fuse_loop_cfg_destroy(config);
    return result;
}

/// Immutable content: keep the page cache across opens.
static inline void cfuse_keep_cache(struct fuse_file_info *fi) { fi->keep_cache = 1; }

/// Capabilities the read-only image filesystem asks for when the kernel offers them.
static inline void cfuse_want_read_only_caps(struct fuse_conn_info *conn) {
    unsigned int want = FUSE_CAP_ASYNC_READ | FUSE_CAP_READDIRPLUS | FUSE_CAP_CACHE_SYMLINKS |
                        FUSE_CAP_PARALLEL_DIROPS | FUSE_CAP_EXPORT_SUPPORT;
    conn->want |= (conn->capable & want);
    conn->want &= ~(unsigned int)FUSE_CAP_READDIRPLUS_AUTO;
}

static inline dev_t cfuse_makedev(unsigned int major, unsigned int minor) { return makedev(major, minor); }
#endif
