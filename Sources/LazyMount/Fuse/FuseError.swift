internal import Glibc

/// Why the filesystem refuses a kernel request: each case is the errno FUSE answers with, named here so that
/// the filesystem itself needs no C.
enum FuseError: Sendable {
    case noEntry, invalid, readOnly, isDirectory, notDirectory, io, noData, range

    var errorNumber: Int32 {
        switch self {
        case .noEntry: ENOENT
        case .invalid: EINVAL
        case .readOnly: EROFS
        case .isDirectory: EISDIR
        case .notDirectory: ENOTDIR
        case .io: EIO
        case .noData: ENODATA
        case .range: ERANGE
        }
    }
}
