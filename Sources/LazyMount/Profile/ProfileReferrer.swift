internal import Credentials
package import FoundationEssentials
package import Registry
internal import SystemSupport

/// A start-up profile stored in the image's repository as an artifact referring to the image manifest, as the
/// index is (`IndexReferrer`): artifact type `application/vnd.ocicred.profile.v1+json`, the empty config, one
/// layer holding the profile as `StartupProfile.encoded` writes it, annotations with its span size.
package enum ProfileReferrer {
    package static let artifactType = "application/vnd.ocicred.profile.v1+json"
    static let spanAnnotation = "vnd.ocicred.profile.span"
    /// A profile lists spans, not bytes: even a huge image's is far below this.
    static let maxProfileBytes: Int64 = 64 << 20

    /// Pushes `profile` as a referrer of its image manifest; returns the artifact manifest's digest.
    package static func push(_ profile: StartupProfile, client: RegistryClient, repository: String, now: Date = Date())
        async throws(LazyMountError) -> String
    {
        let blob = try profile.encoded()
        let blobDigest = Digest.sha256(blob)
        do throws(RegistryError) {
            let subject = try await ReferrerArtifact.subject(
                profile.manifestDigest, client: client, repository: repository)
            let manifest = ReferrerArtifact.manifest(
                artifactType: artifactType,
                layers: [Descriptor(mediaType: artifactType, digest: blobDigest, size: Int64(blob.count))],
                subject: subject, now: now, spanAnnotation: spanAnnotation, span: profile.span)
            return try await client.pushArtifact(
                manifest,
                blobs: [ReferrerArtifact.emptyConfig, (blobDigest, blob)],
                repository: repository
            ).digest
        } catch {
            throw .registry(error)
        }
    }

    /// The newest profile pushed for `index`'s image with its span size that `trust` binds to the image, checked
    /// against `index`; nil when there is none. One that is bound but does not fit the index is an error.
    package static func fetch(client: RegistryClient, repository: String, index: ImageIndex, trust: IndexTrust)
        async throws(LazyMountError) -> StartupProfile?
    {
        let chosen: String
        let bytes: [UInt8]
        do throws(RegistryError) {
            let listing = try await client.referrers(
                repository: repository, subject: index.manifestDigest, artifactType: artifactType)
            let ranked = ReferrerArtifact.ranked(
                in: listing, artifactType: artifactType, spanAnnotation: spanAnnotation, span: index.span)
            guard
                let bound = try await ReferrerArtifact.firstBound(
                    ranked, isIndex: false, trust: trust, client: client, repository: repository)
            else { return nil }
            chosen = bound.digest
            let fetched = try await client.fetchManifest(repository: repository, reference: chosen)
            guard let manifest = try? JSONDecoder().decode(ArtifactManifest.self, from: Data(fetched.body)),
                manifest.subject?.digest == index.manifestDigest,
                let layer = manifest.layers.first(where: { $0.mediaType == artifactType }),
                layer.size > 0, layer.size <= maxProfileBytes
            else { return nil }
            bytes = try await client.fetchBlob(repository: repository, layer)
        } catch {
            throw .registry(error)
        }
        let source = "profile \(repository)@\(chosen)"
        let profile = try StartupProfile.decode(bytes, what: source)
        guard profile.span == index.span else { return nil }
        try profile.check(against: index, source: source)
        return profile
    }
}
