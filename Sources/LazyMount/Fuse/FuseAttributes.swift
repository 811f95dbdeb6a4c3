internal import CFuse

/// What `getattr` and `lookup` report for an inode, in Swift terms; only this file turns it into `struct stat`.
struct FuseAttributes: Sendable {
    /// The file types an image holds.
    enum Kind: Sendable {
        case regular, directory, symlink, characterDevice, blockDevice, fifo

        var modeBits: UInt32 {
            switch self {
            case .regular: UInt32(S_IFREG)
            case .directory: UInt32(S_IFDIR)
            case .symlink: UInt32(S_IFLNK)
            case .characterDevice: UInt32(S_IFCHR)
            case .blockDevice: UInt32(S_IFBLK)
            case .fifo: UInt32(S_IFIFO)
            }
        }
    }

    var inode: UInt64
    var kind: Kind
    /// Permission bits (and setuid, setgid, sticky), as in the low 12 bits of `st_mode`.
    var permissions: UInt32
    var linkCount: UInt32
    var uid: UInt32
    var gid: UInt32
    var size: Int64
    var deviceMajor: UInt32 = 0
    var deviceMinor: UInt32 = 0
    var mtime: Int64

    var stat: stat {
        var result = CFuse.stat()
        result.st_ino = UInt(inode)
        result.st_mode = kind.modeBits | (permissions & 0o7777)
        result.st_nlink = UInt(linkCount)
        result.st_uid = uid
        result.st_gid = gid
        result.st_size = Int(size)
        result.st_blksize = 4096
        result.st_blocks = Int((size + 511) / 512)
        result.st_rdev = cfuse_makedev(deviceMajor, deviceMinor)
        result.st_mtim = timespec(tv_sec: Int(mtime), tv_nsec: 0)
        result.st_ctim = result.st_mtim
        result.st_atim = result.st_mtim
        return result
    }
}
