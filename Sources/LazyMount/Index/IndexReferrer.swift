package import Credentials
package import Crypto
package import FoundationEssentials
package import Registry
internal import SystemSupport

/// An image's index stored in its own repository as an OCI artifact that refers to the image (image-spec v1.1
/// manifest.md "Guidelines for Artifact Usage", distribution-spec v1.1 "Listing Referrers"), so every machine that
/// mounts the image can fetch the index instead of reading every layer again.
///
/// The artifact is an image manifest with `artifactType` `application/vnd.ocicred.index.v1+json`, the empty
/// config descriptor, `subject` = the image manifest, and two layers: the index as `IndexCache.encode` writes it,
/// gzip-compressed, with every checkpoint window moved out (`windowAt`), and the windows blob, each window
/// raw-deflated. A mount downloads the small index whole and then only the windows of the spans it reads: with
/// the windows inline, an index of 1 MiB spans was a tenth of its image, fetched before the first byte. What an index artifact is lives here; how referrers are listed and pushed (the API or the
/// referrers tag schema) is Registry's.
package enum IndexReferrer {
    package static let artifactType = "application/vnd.ocicred.index.v1+json"
    /// The index layer: JSON, gzip-compressed.
    package static let indexMediaType = "application/vnd.ocicred.index.v1+json+gzip"
    /// The windows layer: raw deflate streams end to end, located by the index's `windowAt` fields.
    package static let windowsMediaType = "application/vnd.ocicred.index.windows.v1"
    /// The index's span, so a lookup skips artifacts it would reject without fetching them.
    static let spanAnnotation = "vnd.ocicred.index.span"
    /// The digest of the index bytes, so pushing the same index twice adds no second artifact.
    static let indexDigestAnnotation = "vnd.ocicred.index.digest"
    /// A layer larger than this is not an index we wrote (the index of a 10 GiB image is a few tens of MiB).
    static let maxIndexBytes: Int64 = 512 << 20

    /// The referrers tag schema's tag for `digest` (`<alg>-<hex>`, distribution-spec "Referrers Tag Schema").
    package static func fallbackTag(for digest: String) -> String { RegistryClient.referrersTag(for: digest) }

    /// Pushes `index` to `repository` as an artifact whose subject is the image manifest `index.manifestDigest`
    /// (fetched first: its media type and size go into `subject`, and it must exist in the repository). When an
    /// artifact of these exact index bytes is already listed, nothing is written. Registry's `pushArtifact` writes
    /// blobs first, then the manifest, then the referrers tag, so a refused push leaves nothing behind.
    package static func push(_ index: ImageIndex, client: RegistryClient, repository: String, now: Date = Date())
        async throws(LazyMountError) -> IndexArtifact
    {
        let published = try publication(of: index)
        let blob = published.indexBlob
        let blobDigest = Digest.sha256(blob)
        do throws(RegistryError) {
            let subject = try await ReferrerArtifact.subject(
                index.manifestDigest, client: client, repository: repository)

            let listing = try await client.referrers(
                repository: repository, subject: subject.digest, artifactType: artifactType)
            if let existing = listing.descriptors.last(where: {
                $0.artifactType == artifactType && $0.annotations?[indexDigestAnnotation] == blobDigest
            }) {
                return IndexArtifact(
                    digest: existing.digest, subject: subject.digest, indexDigest: blobDigest, pushed: false,
                    fallbackTag: listing.viaAPI ? nil : fallbackTag(for: subject.digest))
            }

            var layers = [Descriptor(mediaType: indexMediaType, digest: blobDigest, size: Int64(blob.count))]
            var blobs = [ReferrerArtifact.emptyConfig, (blobDigest, blob)]
            if let windows = published.windowsBlob {
                let digest = Digest.sha256(windows)
                layers.append(Descriptor(mediaType: windowsMediaType, digest: digest, size: Int64(windows.count)))
                blobs.append((digest, windows))
            }
            let manifest = ReferrerArtifact.manifest(
                artifactType: artifactType, layers: layers, subject: subject, now: now,
                spanAnnotation: spanAnnotation, span: index.span, annotations: [indexDigestAnnotation: blobDigest])
            let pushed = try await client.pushArtifact(manifest, blobs: blobs, repository: repository)
            return IndexArtifact(
                digest: pushed.digest, subject: subject.digest, indexDigest: blobDigest, pushed: true,
                fallbackTag: pushed.fallbackTag)
        } catch {
            throw .registry(error)
        }
    }

    /// Signs the artifact `digest` (an index or a profile pushed to `repository`) in cosign's format, so mounts
    /// that trust `key`'s public half read it. Returns the signature's reference.
    package static func sign(
        artifact digest: String, reference: Reference, key: ECDSAKey, client: RegistryClient
    ) async throws(LazyMountError) -> String {
        do throws(RegistryError) {
            let tag = try await CosignSignature.sign(
                digest: digest, repository: reference.repository,
                dockerReference: "\(reference.host)/\(reference.repository)", key: key, client: client)
            return "\(reference.host)/\(reference.repository):\(tag)"
        } catch {
            throw .registry(error)
        }
    }

    /// The index pushed for `image` with this `span` that `trust` binds to it, or nil when there is none the
    /// caller may use (none pushed or bound, another span): the caller then builds one. With a `cache`, the index
    /// is kept there as it came (its JSON, not encoded again). The artifact's manifest and index blob must match
    /// their digests, and the index must describe exactly the image's layers (`ImageIndex.check`) — otherwise an
    /// error, not nil, since something altered or forged them.
    package static func fetch(
        client: RegistryClient, repository: String, image: ResolvedImage, span: Int64, trust: IndexTrust,
        keepIn cache: IndexCache? = nil
    ) async throws(LazyMountError) -> FetchedIndex? {
        let chosen: (digest: String, binding: String)
        do throws(RegistryError) {
            var ranked: [ReferrerDescriptor] = []
            if trust.pinnedIndex == nil {
                let listing = try await client.referrers(
                    repository: repository, subject: image.manifestDigest, artifactType: artifactType)
                ranked = ReferrerArtifact.ranked(
                    in: listing, artifactType: artifactType, spanAnnotation: spanAnnotation, span: span)
            }
            guard
                let bound = try await ReferrerArtifact.firstBound(
                    ranked, isIndex: true, trust: trust, client: client, repository: repository)
            else { return nil }
            chosen = bound
        } catch {
            throw .registry(error)
        }
        let source = "\(repository)@\(chosen.digest)"
        let (manifest, json) = try await fetchArtifact(chosen.digest, client: client, repository: repository)
        guard manifest.subject?.digest == image.manifestDigest else {
            throw .index(path: source, reason: "refused: it refers to another manifest than \(image.manifestDigest)")
        }
        let index: ImageIndex
        do {
            index = try ImageIndex.decode(json)
        } catch {
            throw .index(path: source, reason: "not an ocicred index: \(error)")
        }
        if trust.pinnedIndex == nil, index.span != span { return nil }
        try index.check(against: image, source: source)
        try checkWindows(of: index, in: manifest, source: source)
        try cache?.store(encoded: json, manifestDigest: image.manifestDigest)
        return FetchedIndex(index: index, artifact: chosen.digest, binding: chosen.binding)
    }

    /// The artifact manifest `digest` and its index layer's JSON, each checked against its digest.
    private static func fetchArtifact(_ digest: String, client: RegistryClient, repository: String)
        async throws(LazyMountError) -> (ArtifactManifest, [UInt8])
    {
        let fetched: RegistryClient.FetchedManifest
        do throws(RegistryError) {
            fetched = try await client.fetchManifest(repository: repository, reference: digest)
        } catch {
            throw .registry(error)
        }
        let manifest: ArtifactManifest
        do {
            manifest = try JSONDecoder().decode(ArtifactManifest.self, from: Data(fetched.body))
        } catch {
            throw .registry(.invalidManifest(reason: "index artifact \(digest): \(error)"))
        }
        guard let layer = manifest.layers.first(where: { $0.mediaType == indexMediaType }) else {
            throw .registry(.invalidManifest(reason: "index artifact \(digest) has no \(indexMediaType) layer"))
        }
        guard layer.size > 0, layer.size <= maxIndexBytes, Digest.isWellFormed(layer.digest) else {
            throw .registry(.invalidManifest(reason: "index artifact \(digest) has an unusable index layer"))
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(layer.size))
        // In ranged pieces: an index can outgrow the transport's cap on one response.
        try await RegistryBlobSource(client: client, repository: repository)
            .stream(layer.digest, range: 0..<layer.size, chunk: 1 << 20) { (piece) throws(LazyMountError) -> Bool in
                bytes += piece
                return true
            }
        do throws(RegistryError) {
            try Digest.verify(bytes, matches: layer.digest, what: "index blob \(layer.digest)")
        } catch {
            throw .registry(error)
        }
        do {
            return (manifest, try ZStream.inflateWhole(bytes, .gzip, limit: Int(maxIndexBytes)))
        } catch {
            throw .index(path: "\(repository)@\(digest)", reason: "not an ocicred index: \(error)")
        }
    }

    /// Windows are read later, by digest and range, from this repository: only a blob the artifact holds (so the
    /// registry keeps it as long as the index) may be named, and every window must lie inside it.
    private static func checkWindows(of index: ImageIndex, in manifest: ArtifactManifest, source: String)
        throws(LazyMountError)
    {
        var sizes: [String: Int64] = [:]
        for layer in manifest.layers where layer.mediaType == windowsMediaType { sizes[layer.digest] = layer.size }
        for layer in index.layers {
            guard let named = layer.windowsBlob else { continue }
            guard let size = sizes[named] else {
                throw .index(path: source, reason: "refused: it names windows blob \(named) it does not hold")
            }
            for span in layer.spans {
                guard let location = span.checkpoint?.windowAt else { continue }
                guard location.offset <= size - location.length else {
                    throw .index(path: source, reason: "refused: a window lies outside windows blob \(named)")
                }
            }
        }
    }

    /// What the artifact holds for `index`: its JSON gzip-compressed with each non-empty window replaced by
    /// where it is in the windows blob (nil when there is no window, as in an index of zstd or plain layers).
    /// Deterministic, so pushing one index twice finds the first artifact by its index digest.
    package static func publication(of index: ImageIndex) throws(LazyMountError)
        -> (index: ImageIndex, indexBlob: [UInt8], windowsBlob: [UInt8]?)
    {
        var published = index
        var windows: [UInt8] = []
        var pointing: [Int] = []
        for layerNumber in published.layers.indices {
            var points = false
            for spanNumber in published.layers[layerNumber].spans.indices {
                guard var checkpoint = published.layers[layerNumber].spans[spanNumber].checkpoint else { continue }
                if checkpoint.window == nil, checkpoint.windowAt != nil {
                    throw .index(
                        path: index.manifestDigest,
                        reason: "this index came from a registry without its windows; build it again with --refresh")
                }
                guard let window = checkpoint.window, !window.isEmpty else { continue }
                let stored: [UInt8]
                do { stored = try ZStream.deflate(Array(window), .raw) } catch { throw .inflate(error) }
                checkpoint.windowAt = LayerIndex.WindowLocation(
                    offset: Int64(windows.count), length: Int64(stored.count))
                checkpoint.window = nil
                windows += stored
                published.layers[layerNumber].spans[spanNumber].checkpoint = checkpoint
                points = true
            }
            if points { pointing.append(layerNumber) }
        }
        let windowsDigest = windows.isEmpty ? nil : Digest.sha256(windows)
        for layerNumber in pointing { published.layers[layerNumber].windowsBlob = windowsDigest }
        let json = try IndexCache.encode(published)
        let indexBlob: [UInt8]
        do { indexBlob = try ZStream.deflate(json, .gzip) } catch { throw .inflate(error) }
        return (published, indexBlob, windowsDigest == nil ? nil : windows)
    }
}

/// An index `IndexReferrer.fetch` found, checked and bound to the image.
package struct FetchedIndex: Sendable, Equatable {
    package var index: ImageIndex
    /// The artifact manifest it came in.
    package var artifact: String
    /// How it is bound to the image, for the log line that says where the index came from.
    package var binding: String
}

/// What `IndexReferrer.push` left in the registry.
package struct IndexArtifact: Sendable, Equatable {
    /// The artifact manifest's digest: `repository@digest` names it.
    package var digest: String
    /// The image manifest it refers to.
    package var subject: String
    /// The digest of the index blob.
    package var indexDigest: String
    /// false when an artifact holding these exact index bytes was already listed and nothing was written.
    package var pushed: Bool
    /// The referrers tag maintained for a registry without the referrers API; nil when the registry lists
    /// referrers itself.
    package var fallbackTag: String?
}
