package import Registry

/// Why resolving, indexing or reading an image failed. Messages say what to do next and never hold a secret
/// (registry errors are already redacted by `RegistryError`). What the distribution protocol itself reports — a
/// missing manifest, a digest that does not match, a range not honoured — arrives as `.registry(...)`.
package enum LazyMountError: Error, Equatable, CustomStringConvertible {
    case registry(RegistryError)
    case invalidReference(String)
    case inflate(InflateError)
    case tar(TarError)
    /// The bytes inflated for a span hash to something other than the index recorded: corrupted blob, wrong
    /// checkpoint, or a stale index. Never returned as data.
    case spanDigestMismatch(layer: String, span: Int)
    case outOfRange(String)
    case index(path: String, reason: String)
    /// Mounting, serving or unmounting the FUSE filesystem failed.
    case mount(mountpoint: String, reason: String)
    /// A read could not be served within `--fetch-timeout` (retries included); the reader got EIO.
    case fetchTimedOut(layer: String, seconds: Int)
    /// libzstd rejected a zstd layer, or it ended inside a frame.
    case zstd(ZstdError)
    /// A layer fetched whole decompressed to another size than its index recorded: the index is stale or corrupt.
    case uncompressedSizeMismatch(layer: String, expected: Int64, actual: Int64)
    /// A runtime bundle could not be made or taken apart (`mount --bundle`, `unmount DIR`).
    case bundle(reason: String)
    /// Unmounting was refused because something still uses the mount: a container, or a process inside it.
    case busy(path: String, users: [String])
    /// A start-up profile could not be read, written or pushed.
    case profile(reason: String)
    /// A key or pin that decides which pushed index or profile is trusted could not be used.
    case trust(reason: String)

    package var description: String {
        switch self {
        case .registry(let error): return error.description
        case .invalidReference(let reason): return "not an image reference: \(reason)"
        case .inflate(let error): return error.description
        case .tar(let error): return error.description
        case .spanDigestMismatch(let layer, let span):
            return "span \(span) of layer \(layer) does not match the index's sha256: the blob or the index is "
                + "corrupt; delete the cached index and run `ocicred index` again"
        case .outOfRange(let reason): return reason
        case .index(let path, let reason): return "index \(path): \(reason)"
        case .mount(let mountpoint, let reason): return "mount \(mountpoint): \(reason)"
        case .fetchTimedOut(let layer, let seconds):
            return "reading layer \(layer) took longer than \(seconds) s (--fetch-timeout) with retries; the "
                + "registry stopped answering"
        case .zstd(let error): return error.description
        case .uncompressedSizeMismatch(let layer, let expected, let actual):
            return "layer \(layer) decompressed to \(actual) bytes, but its index says \(expected): delete the cached "
                + "index and run `ocicred index` again"
        case .bundle(let reason): return "bundle: \(reason)"
        case .busy(let path, let users):
            return "\(path) is still in use by \(users.joined(separator: ", ")); stop the container first "
                + "(`runc kill ID KILL && runc delete ID`, `podman stop ID`), then unmount again"
        case .profile(let reason): return "start-up profile: \(reason)"
        case .trust(let reason): return "index trust: \(reason)"
        }
    }
}
