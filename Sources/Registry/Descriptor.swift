/// An OCI content descriptor (image-spec descriptor.md): what a manifest says about a blob it points to.
public struct Descriptor: Codable, Sendable, Equatable {
    public var mediaType: String
    public var digest: String
    public var size: Int64
    public var platform: Platform?
    public var annotations: [String: String]?

    public init(
        mediaType: String, digest: String, size: Int64, platform: Platform? = nil,
        annotations: [String: String]? = nil
    ) {
        self.mediaType = mediaType
        self.digest = digest
        self.size = size
        self.platform = platform
        self.annotations = annotations
    }
}

/// Media types ocicred reads (image-spec media-types.md; Docker's image manifest v2 schema 2).
public enum MediaType {
    public static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    public static let ociIndex = "application/vnd.oci.image.index.v1+json"
    public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    public static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
    public static let manifestAccept = [ociManifest, ociIndex, dockerManifest, dockerManifestList]
    /// The empty descriptor's type (image-spec manifest.md "Guidance for an Empty Descriptor"): an artifact's config.
    public static let empty = "application/vnd.oci.empty.v1+json"
    /// The empty descriptor's content, `{}`.
    public static let emptyBlob: [UInt8] = Array("{}".utf8)

    public static func isIndex(_ type: String) -> Bool { type == ociIndex || type == dockerManifestList }
    public static func isManifest(_ type: String) -> Bool { type == ociManifest || type == dockerManifest }

    /// How a layer's bytes are compressed, from its media type (`+gzip`, `+zstd`, Docker's `.tar.gzip`).
    public static func compression(ofLayer type: String) throws(RegistryError) -> LayerCompression {
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

public enum LayerCompression: String, Codable, Sendable {
    case none, gzip, zstd
}

/// An image manifest (image-spec manifest.md, and Docker's v2 schema 2 which has the same shape).
public struct ImageManifest: Codable, Sendable, Equatable {
    public var schemaVersion: Int
    public var mediaType: String?
    public var config: Descriptor
    public var layers: [Descriptor]

    public init(schemaVersion: Int, mediaType: String?, config: Descriptor, layers: [Descriptor]) {
        self.schemaVersion = schemaVersion
        self.mediaType = mediaType
        self.config = config
        self.layers = layers
    }
}

/// An image index / Docker manifest list (image-spec image-index.md).
public struct ImageIndexManifest: Codable, Sendable, Equatable {
    public var schemaVersion: Int
    public var mediaType: String?
    public var manifests: [Descriptor]
}
