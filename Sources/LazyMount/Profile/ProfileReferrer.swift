import Credentials
public import FoundationEssentials
public import Registry
import SystemSupport

/// A start-up profile stored in the image's repository as an artifact referring to the image manifest, as the
/// index is (`IndexReferrer`): artifact type `application/vnd.ocicred.profile.v1+json`, the empty config, one
/// layer holding the profile as `StartupProfile.encoded` writes it, annotations with its span size.
public enum ProfileReferrer {
    public static let artifactType = "application/vnd.ocicred.profile.v1+json"
    static let spanAnnotation = "vnd.ocicred.profile.span"
    /// A profile lists spans, not bytes: even a huge image's is far below this.
    static let maxProfileBytes: Int64 = 64 << 20

    /// Pushes `profile` as a referrer of its image manifest; returns the artifact manifest's digest.
    public static func push(_ profile: StartupProfile, client: RegistryClient, repository: String, now: Date = Date())
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

    /// The newest profile pushed for `manifestDigest` with this span size, nil when there is none.
    public static func fetch(client: RegistryClient, repository: String, manifestDigest: String, span: Int64)
        async throws(LazyMountError) -> StartupProfile?
    {
        do throws(RegistryError) {
            let listing = try await client.referrers(
                repository: repository, subject: manifestDigest, artifactType: artifactType)
            guard
                let chosen = ReferrerArtifact.newest(
                    in: listing, artifactType: artifactType, spanAnnotation: spanAnnotation, span: span)
            else { return nil }
            let fetched = try await client.fetchManifest(repository: repository, reference: chosen.digest)
            guard let manifest = try? JSONDecoder().decode(ArtifactManifest.self, from: Data(fetched.body)),
                manifest.subject?.digest == manifestDigest,
                let layer = manifest.layers.first(where: { $0.mediaType == artifactType }),
                layer.size > 0, layer.size <= maxProfileBytes
            else { return nil }
            let bytes = try await client.fetchBlob(repository: repository, layer)
            guard let profile = try? StartupProfile.decode(bytes, what: "profile \(chosen.digest)"),
                profile.manifestDigest == manifestDigest, profile.span == span
            else { return nil }
            return profile
        } catch {
            throw .registry(error)
        }
    }
}
