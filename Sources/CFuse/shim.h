// libfuse3's low-level API at protocol level 3.12 (Debian 12 ships 3.14). The header must see
// FUSE_USE_VERSION before it is included, which a module map cannot say, hence this shim.
#ifndef OCICRED_CFUSE_SHIM_H
#define OCICRED_CFUSE_SHIM_H
#define FUSE_USE_VERSION 312
#include <fuse3/fuse_lowlevel.h>
#include <sys/stat.h>
#include <string.h>
#include <stdlib.h>
#endif
