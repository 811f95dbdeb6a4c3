/// An OCI content descriptor (image-spec descriptor.md): what a manifest says about a blob it points to.
struct Descriptor: Codable, Sendable, Equatable {
    var mediaType: String
    var digest: String
    var size: Int64
    var platform: Platform?
    var annotations: [String: String]?
}

/// Media types ocicred reads (image-spec media-types.md; Docker's image manifest v2 schema 2).
enum MediaType {
    static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    static let ociIndex = "application/vnd.oci.image.index.v1+json"
    static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
    static let manifestAccept = [ociManifest, ociIndex, dockerManifest, dockerManifestList]

    static func isIndex(_ type: String) -> Bool { type == ociIndex || type == dockerManifestList }
    static func isManifest(_ type: String) -> Bool { type == ociManifest || type == dockerManifest }

    /// How a layer's bytes are compressed, from its media type (`+gzip`, `+zstd`, Docker's `.tar.gzip`).
    static func compression(ofLayer type: String) throws(LazyMountError) -> LayerCompression {
        switch type {
        case "application/vnd.oci.image.layer.v1.tar", "application/vnd.oci.image.layer.nondistributable.v1.tar":
            return .none
        case "application/vnd.oci.image.layer.v1.tar+gzip",
            "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
            "application/vnd.docker.image.rootfs.diff.tar.gzip",
            "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip":
            return .gzip
        case "application/vnd.oci.image.layer.v1.tar+zstd",
            "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd":
            return .zstd
        default:
            throw .unsupportedMediaType(type)
        }
    }
}

enum LayerCompression: String, Codable, Sendable {
    case none, gzip, zstd
}

/// An image manifest (image-spec manifest.md, and Docker's v2 schema 2 which has the same shape).
struct ImageManifest: Codable, Sendable, Equatable {
    var schemaVersion: Int
    var mediaType: String?
    var config: Descriptor
    var layers: [Descriptor]
}

/// An image index / Docker manifest list (image-spec image-index.md).
struct ImageIndexManifest: Codable, Sendable, Equatable {
    var schemaVersion: Int
    var mediaType: String?
    var manifests: [Descriptor]
}
