internal import FoundationEssentials
internal import Registry
internal import SystemSupport

/// What ocicred's two artifacts about an image (its index, its start-up profiles) share: the manifest shape — the
/// empty config, layers of our own media types, `subject` = the image manifest, a creation time and the span they
/// were made for — and the rule for choosing one among several listed: the newest of that span. How referrers are
/// listed and pushed (the API or the tag schema) is Registry's.
enum ReferrerArtifact {
    static let createdAnnotation = "org.opencontainers.image.created"

    /// The empty config blob every artifact manifest names, with its digest: pushed beside the layers.
    static var emptyConfig: (digest: String, bytes: [UInt8]) {
        (Digest.sha256(MediaType.emptyBlob), MediaType.emptyBlob)
    }

    /// The descriptor of the image manifest `digest` in `repository`, as `subject` needs it (media type and size
    /// from the manifest itself, which must exist there).
    static func subject(_ digest: String, client: RegistryClient, repository: String) async throws(RegistryError)
        -> Descriptor
    {
        let manifest = try await client.fetchManifest(repository: repository, reference: digest)
        return Descriptor(mediaType: manifest.mediaType, digest: manifest.digest, size: Int64(manifest.body.count))
    }

    /// An artifact manifest of `artifactType` about `subject`, made at `now` for `span`.
    static func manifest(
        artifactType: String, layers: [Descriptor], subject: Descriptor, now: Date,
        spanAnnotation: String, span: Int64, annotations: [String: String] = [:]
    ) -> ArtifactManifest {
        ArtifactManifest(
            artifactType: artifactType,
            config: Descriptor(
                mediaType: MediaType.empty, digest: emptyConfig.digest, size: Int64(emptyConfig.bytes.count)),
            layers: layers, subject: subject,
            annotations: annotations.merging(
                [createdAnnotation: RFC3339.format(now), spanAnnotation: String(span)], uniquingKeysWith: { $1 }))
    }

    /// The artifacts of `artifactType` listed for `subject` whose span annotation (when they have one) is `span`,
    /// newest first: by their creation annotation, and on a tie or without one the later entry first, which is the
    /// one the fallback tag's maintainer (this code) appended last. Entries whose digest is not a well-formed
    /// sha256 are dropped: the listing is written by whoever can push, and a URL is built from each digest.
    static func ranked(
        in listing: RegistryClient.ReferrerListing, artifactType: String, spanAnnotation: String, span: Int64
    ) -> [ReferrerDescriptor] {
        let candidates = listing.descriptors.enumerated().filter { _, descriptor in
            descriptor.artifactType == artifactType && MediaType.isManifest(descriptor.mediaType)
                && Digest.isWellFormed(descriptor.digest)
                && (descriptor.annotations?[spanAnnotation].map { $0 == String(span) } ?? true)
        }
        return candidates.sorted(by: { a, b in
            let (dateA, dateB) = (created(a.element), created(b.element))
            return dateA == dateB ? a.offset > b.offset : dateA > dateB
        }).map(\.element)
    }

    /// The first of `ranked` artifacts (at most `limit` looked at) that `trust` binds to the image, with how.
    static func firstBound(
        _ ranked: [ReferrerDescriptor], isIndex: Bool, trust: IndexTrust, client: RegistryClient, repository: String,
        limit: Int = 8
    ) async throws(RegistryError) -> (digest: String, binding: String)? {
        if isIndex, let pinned = trust.pinnedIndex { return (pinned, "pinned by digest") }
        for candidate in ranked.prefix(limit) {
            if let binding = try await trust.binding(
                of: candidate.digest, isIndex: isIndex, repository: repository, client: client)
            {
                return (candidate.digest, binding)
            }
        }
        return nil
    }

    static func created(_ descriptor: ReferrerDescriptor) -> Date {
        descriptor.annotations?[createdAnnotation].flatMap(RFC3339.parse) ?? .distantPast
    }
}
