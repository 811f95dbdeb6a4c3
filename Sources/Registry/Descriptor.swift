/// An OCI content descriptor (image-spec descriptor.md): what a manifest says about a blob it points to.
package struct Descriptor: Codable, Sendable, Equatable {
    package var mediaType: String
    package var digest: String
    package var size: Int64
    package var platform: Platform?
    package var annotations: [String: String]?

    package init(
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
package enum MediaType {
    package static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    package static let ociIndex = "application/vnd.oci.image.index.v1+json"
    package static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    package static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
    package static let manifestAccept = [ociManifest, ociIndex, dockerManifest, dockerManifestList]
    /// The empty descriptor's type (image-spec manifest.md "Guidance for an Empty Descriptor"): an artifact's config.
    package static let empty = "application/vnd.oci.empty.v1+json"
    /// The empty descriptor's content, `{}`.
    package static let emptyBlob: [UInt8] = Array("{}".utf8)

    package static func isIndex(_ type: String) -> Bool { type == ociIndex || type == dockerManifestList }
    package static func isManifest(_ type: String) -> Bool { type == ociManifest || type == dockerManifest }

    /// How a layer's bytes are compressed, from its media type (`+gzip`, `+zstd`, Docker's `.tar.gzip`).
    package static func compression(ofLayer type: String) throws(RegistryError) -> LayerCompression {
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

package enum LayerCompression: String, Codable, Sendable {
    case none, gzip, zstd
}

/// An image manifest (image-spec manifest.md, and Docker's v2 schema 2 which has the same shape).
package struct ImageManifest: Codable, Sendable, Equatable {
    package var schemaVersion: Int
    package var mediaType: String?
    package var config: Descriptor
    package var layers: [Descriptor]

    package init(schemaVersion: Int, mediaType: String?, config: Descriptor, layers: [Descriptor]) {
        self.schemaVersion = schemaVersion
        self.mediaType = mediaType
        self.config = config
        self.layers = layers
    }
}

/// An image index / Docker manifest list (image-spec image-index.md).
package struct ImageIndexManifest: Codable, Sendable, Equatable {
    package var schemaVersion: Int
    package var mediaType: String?
    package var manifests: [Descriptor]
}
