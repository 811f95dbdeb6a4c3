public import Registry

/// Why resolving, indexing or reading an image failed. Messages say what to do next and never hold a secret
/// (registry errors are already redacted by `RegistryError`).
public enum LazyMountError: Error, Equatable, CustomStringConvertible {
    case registry(RegistryError)
    case invalidReference(String)
    case invalidPlatform(String)
    case manifestNotFound(reference: String, status: Int)
    case unsupportedMediaType(String)
    case invalidManifest(reason: String)
    /// No entry of an image index matches the platform; `available` lists what the index offers.
    case noMatchingPlatform(requested: String, available: [String])
    case digestMismatch(what: String, expected: String, actual: String)
    case unsupportedDigest(String)
    case blobFetch(digest: String, status: Int)
    /// The registry (or its blob store) answered a range request with other bytes than asked for.
    case rangeNotHonoured(digest: String, detail: String)
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

    public var description: String {
        switch self {
        case .registry(let error): return error.description
        case .invalidReference(let reason): return "not an image reference: \(reason)"
        case .invalidPlatform(let text):
            return "\(text) is not a platform: write os/arch or os/arch/variant, e.g. linux/amd64 or linux/arm/v7"
        case .manifestNotFound(let reference, let status):
            return "the registry has no manifest for \(reference) (HTTP \(status)); check the tag or digest"
        case .unsupportedMediaType(let type):
            return "unsupported media type \(type): only OCI and Docker v2 manifests, indexes and tar layers are read"
        case .invalidManifest(let reason): return "the manifest is not usable: \(reason)"
        case .noMatchingPlatform(let requested, let available):
            return "the image has no manifest for \(requested); it offers \(available.joined(separator: ", ")) "
                + "(pick one with --platform)"
        case .digestMismatch(let what, let expected, let actual):
            return "\(what) does not match its digest (expected \(expected), got \(actual)): the registry or a "
                + "proxy altered it"
        case .unsupportedDigest(let digest): return "unsupported digest \(digest): only sha256 is verified"
        case .blobFetch(let digest, let status): return "fetching blob \(digest) failed with HTTP \(status)"
        case .rangeNotHonoured(let digest, let detail):
            return "the registry did not honour a range request for \(digest) (\(detail)); lazy reads need HTTP "
                + "Range support"
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
        }
    }
}
