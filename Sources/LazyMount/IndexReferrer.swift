import Credentials
public import FoundationEssentials
public import Registry
public import SystemSupport

/// An image's index stored in its own repository as an OCI artifact that refers to the image (image-spec v1.1
/// manifest.md "Guidelines for Artifact Usage", distribution-spec v1.1 "Listing Referrers"), so every machine that
/// mounts the image can fetch the index instead of reading every layer again.
///
/// The artifact is an image manifest with `artifactType` `application/vnd.ocicred.index.v1+json`, the empty
/// config descriptor, one layer holding the index exactly as `IndexCache.encode` writes it, and `subject` = the
/// image manifest. Registries with the referrers API (they answer the manifest PUT with `OCI-Subject`) list it
/// themselves; for the others (distribution 2.8, Debian's docker-registry) the client keeps the referrers tag
/// schema: tag `sha256-<hex>` holds an image index of the subject's referrers.
public enum IndexReferrer {
    public static let artifactType = "application/vnd.ocicred.index.v1+json"
    static let emptyMediaType = "application/vnd.oci.empty.v1+json"
    static let emptyBlob: [UInt8] = Array("{}".utf8)
    /// The index's span, so a lookup skips artifacts it would reject without fetching them.
    static let spanAnnotation = "vnd.ocicred.index.span"
    /// The digest of the index bytes, so pushing the same index twice adds no second artifact.
    static let indexDigestAnnotation = "vnd.ocicred.index.digest"
    static let createdAnnotation = "org.opencontainers.image.created"
    /// A layer larger than this is not an index we wrote (the index of a 10 GiB image is a few tens of MiB).
    static let maxIndexBytes: Int64 = 512 << 20

    /// The referrers tag schema's tag for `digest` (`<alg>-<hex>`, distribution-spec "Referrers Tag Schema").
    public static func fallbackTag(for digest: String) -> String {
        digest.replacingOccurrences(of: ":", with: "-")
    }

    /// Pushes `index` to `repository` as an artifact whose subject is the image manifest `index.manifestDigest`
    /// (fetched first: its media type and size go into `subject`, and it must exist in the repository). When an
    /// artifact of these exact index bytes is already listed, nothing is written. Blobs go first, then the
    /// manifest by digest, then the fallback tag, so a refused push (pull-only credentials) leaves nothing
    /// behind: the first write, the blob upload's POST, is the one that is refused.
    public static func push(_ index: ImageIndex, client: RegistryClient, repository: String, now: Date = Date())
        async throws(LazyMountError) -> IndexArtifact
    {
        let subjectManifest = try await client.fetchManifest(repository: repository, reference: index.manifestDigest)
        let subject = Descriptor(
            mediaType: subjectManifest.mediaType, digest: subjectManifest.digest,
            size: Int64(subjectManifest.body.count))
        let blob = try IndexCache.encode(index)
        let blobDigest = Digest.sha256(blob)

        let listing = try await referrers(client: client, repository: repository, subject: subject.digest)
        if let existing = listing.descriptors.last(where: {
            $0.artifactType == artifactType && $0.annotations?[indexDigestAnnotation] == blobDigest
        }) {
            return IndexArtifact(
                digest: existing.digest, subject: subject.digest, indexDigest: blobDigest, pushed: false,
                fallbackTag: listing.viaAPI ? nil : fallbackTag(for: subject.digest))
        }

        let manifest = ArtifactManifest(
            schemaVersion: 2, mediaType: MediaType.ociManifest, artifactType: artifactType,
            config: Descriptor(mediaType: emptyMediaType, digest: Digest.sha256(emptyBlob), size: 2),
            layers: [Descriptor(mediaType: artifactType, digest: blobDigest, size: Int64(blob.count))],
            subject: subject,
            annotations: [
                createdAnnotation: RFC3339.format(now), spanAnnotation: String(index.span),
                indexDigestAnnotation: blobDigest,
            ])
        let manifestBody = try encode(manifest)
        let manifestDigest = Digest.sha256(manifestBody)
        let pushed: PushedManifest
        do throws(RegistryError) {
            try await client.pushBlob(emptyBlob, digest: Digest.sha256(emptyBlob), repository: repository)
            try await client.pushBlob(blob, digest: blobDigest, repository: repository)
            pushed = try await client.pushManifest(
                manifestBody, mediaType: MediaType.ociManifest, digest: manifestDigest, repository: repository)
        } catch {
            throw .registry(error)
        }
        var tag: String?
        if pushed.subject == nil {
            let entry = ReferrerDescriptor(
                mediaType: MediaType.ociManifest, digest: manifestDigest, size: Int64(manifestBody.count),
                artifactType: artifactType, annotations: manifest.annotations)
            tag = try await addToFallback(entry, client: client, repository: repository, subject: subject.digest)
        }
        return IndexArtifact(
            digest: manifestDigest, subject: subject.digest, indexDigest: blobDigest, pushed: true, fallbackTag: tag)
    }

    /// The index pushed for the image manifest `manifestDigest` with this `span`, or nil when there is none the
    /// caller can use (none pushed, another span or index version, made for another manifest): the caller then
    /// builds one, and may keep what this returns with `IndexCache.store`. The newest artifact that fits is
    /// fetched; its manifest and index blob must match their digests — a mismatch is an error, not nil, since
    /// something altered them.
    public static func fetch(client: RegistryClient, repository: String, manifestDigest: String, span: Int64)
        async throws(LazyMountError) -> ImageIndex?
    {
        let listing = try await referrers(client: client, repository: repository, subject: manifestDigest)
        let candidates = listing.descriptors.enumerated().filter { _, descriptor in
            descriptor.artifactType == artifactType && MediaType.isManifest(descriptor.mediaType)
                && (descriptor.annotations?[spanAnnotation].map { $0 == String(span) } ?? true)
        }
        // Newest by its creation annotation; without one (or on a tie) the later entry, which is the one the
        // fallback tag's maintainer (this code) appended last.
        guard
            let chosen = candidates.max(by: { a, b in
                let (dateA, dateB) = (created(a.element), created(b.element))
                return dateA == dateB ? a.offset < b.offset : dateA < dateB
            })?.element
        else { return nil }

        let fetched = try await client.fetchManifest(repository: repository, reference: chosen.digest)
        let manifest: ArtifactManifest
        do {
            manifest = try JSONDecoder().decode(ArtifactManifest.self, from: Data(fetched.body))
        } catch {
            throw .invalidManifest(reason: "index artifact \(chosen.digest): \(error)")
        }
        guard manifest.subject?.digest == manifestDigest else { return nil }
        guard let layer = manifest.layers.first(where: { $0.mediaType == artifactType }) else {
            throw .invalidManifest(reason: "index artifact \(chosen.digest) has no \(artifactType) layer")
        }
        guard layer.size > 0, layer.size <= maxIndexBytes else {
            throw .invalidManifest(reason: "index artifact \(chosen.digest) has a layer of \(layer.size) bytes")
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(layer.size))
        // In ranged pieces: an index can outgrow the transport's cap on one response.
        try await RegistryBlobSource(client: client, repository: repository)
            .stream(layer.digest, range: 0..<layer.size, chunk: 1 << 20) { (piece) throws(LazyMountError) -> Bool in
                bytes += piece
                return true
            }
        try Digest.verify(bytes, matches: layer.digest, what: "index blob \(layer.digest)")
        let index: ImageIndex
        do {
            index = try JSONDecoder().decode(ImageIndex.self, from: Data(bytes))
        } catch {
            throw .index(path: "\(repository)@\(chosen.digest)", reason: "not an ocicred index: \(error)")
        }
        guard index.version == ImageIndex.currentVersion, index.manifestDigest == manifestDigest, index.span == span
        else { return nil }
        return index
    }

    // MARK: - Listing referrers

    struct Listing {
        var descriptors: [ReferrerDescriptor]
        /// true: the registry's referrers API answered; false: the fallback tag (or nothing) was read.
        var viaAPI: Bool
    }

    /// `GET /v2/<name>/referrers/<digest>?artifactType=…` (following `Link: <…>; rel="next"` pages); a 404 means
    /// the registry has no referrers API (distribution-spec: a registry that has one never answers 404 there),
    /// and the fallback tag is read instead. The `artifactType` filter is a hint a registry may ignore, so the
    /// caller filters again.
    static func referrers(client: RegistryClient, repository: String, subject: String)
        async throws(LazyMountError) -> Listing
    {
        var next: String? = "/v2/\(repository)/referrers/\(subject)?artifactType=\(queryEncode(artifactType))"
        var descriptors: [ReferrerDescriptor] = []
        var pages = 0
        while let path = next, pages < 100 {
            pages += 1
            let response: HTTPResponseSummary
            do throws(RegistryError) {
                let raw = try await client.send(
                    "GET", path, headers: [(name: "Accept", value: MediaType.ociIndex)],
                    scopes: [.repository(repository, actions: ["pull"])])
                response = HTTPResponseSummary(status: raw.status, link: raw.header("link"), body: raw.body)
            } catch {
                throw .registry(error)
            }
            switch response.status {
            case 200:
                descriptors += try decodeIndex(response.body, what: "the referrers of \(subject)").descriptors
                next = response.link.flatMap(nextPage)
            case 404 where pages == 1:
                return Listing(
                    descriptors: try await fallbackIndex(client: client, repository: repository, subject: subject)?
                        .descriptors ?? [],
                    viaAPI: false)
            case 401, 403:
                throw .registry(
                    .denied(
                        host: client.endpoint.host, repository: repository, action: "pull",
                        detail: "HTTP \(response.status)"))
            default:
                throw .registry(
                    .unexpectedStatus(
                        host: client.endpoint.host, request: "GET /v2/\(repository)/referrers/\(subject)",
                        status: response.status, detail: ""))
            }
        }
        return Listing(descriptors: descriptors, viaAPI: true)
    }

    /// The image index under the fallback tag, nil when the tag does not exist.
    static func fallbackIndex(client: RegistryClient, repository: String, subject: String)
        async throws(LazyMountError) -> (descriptors: [ReferrerDescriptor], body: [UInt8])?
    {
        let fetched: RegistryClient.FetchedManifest
        do {
            fetched = try await client.fetchManifest(repository: repository, reference: fallbackTag(for: subject))
        } catch .manifestNotFound(_, let status) where status == 404 {
            return nil
        }
        guard MediaType.isIndex(fetched.mediaType) else {
            throw .invalidManifest(
                reason: "the referrers tag \(fallbackTag(for: subject)) holds \(fetched.mediaType), not an index")
        }
        return (try decodeIndex(fetched.body, what: "the referrers tag").descriptors, fetched.body)
    }

    /// Adds `entry` to the fallback tag's index: the one there now (re-read just before, so a referrer pushed by
    /// someone else meanwhile is kept), without any earlier entry of the same digest, with unknown fields of
    /// other entries kept as they were. Returns the tag.
    static func addToFallback(_ entry: ReferrerDescriptor, client: RegistryClient, repository: String, subject: String)
        async throws(LazyMountError) -> String
    {
        let tag = fallbackTag(for: subject)
        let current = try await fallbackIndex(client: client, repository: repository, subject: subject)
        let body = try addingReferrer(entry, to: current?.body)
        do throws(RegistryError) {
            _ = try await client.pushManifest(
                body, mediaType: MediaType.ociIndex, digest: Digest.sha256(body), repository: repository,
                reference: tag)
        } catch {
            throw .registry(error)
        }
        return tag
    }

    /// The fallback index `existing` (nil: none yet) with `entry` appended and earlier entries of its digest
    /// dropped; every other entry and top-level field is kept as it was.
    static func addingReferrer(_ entry: ReferrerDescriptor, to existing: [UInt8]?) throws(LazyMountError) -> [UInt8] {
        var document: [String: JSONValue] = [:]
        if let existing {
            do {
                guard let object = try JSONDecoder().decode(JSONValue.self, from: Data(existing)).objectValue else {
                    throw LazyMountError.invalidManifest(reason: "the referrers tag does not hold a JSON object")
                }
                document = object
            } catch let error as LazyMountError {
                throw error
            } catch {
                throw .invalidManifest(reason: "the referrers tag: \(error)")
            }
        }
        var manifests: [JSONValue] = []
        if case .array(let entries)? = document["manifests"] { manifests = entries }
        manifests.removeAll { $0["digest"]?.stringValue == entry.digest }
        let encodedEntry: JSONValue
        do {
            encodedEntry = try JSONDecoder().decode(JSONValue.self, from: Data(try encode(entry)))
        } catch let error as LazyMountError {
            throw error
        } catch {
            throw .invalidManifest(reason: "\(error)")
        }
        manifests.append(encodedEntry)
        document["schemaVersion"] = .integer(2)
        document["mediaType"] = .string(MediaType.ociIndex)
        document["manifests"] = .array(manifests)
        return try encode(JSONValue.object(document))
    }

    static func decodeIndex(_ body: [UInt8], what: String) throws(LazyMountError) -> ReferrersIndex {
        do {
            return try JSONDecoder().decode(ReferrersIndex.self, from: Data(body))
        } catch {
            throw .invalidManifest(reason: "\(what) is not an image index: \(error)")
        }
    }

    static func encode(_ value: some Encodable) throws(LazyMountError) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do { return Array(try encoder.encode(value)) } catch { throw .invalidManifest(reason: "\(error)") }
    }

    static func created(_ descriptor: ReferrerDescriptor) -> Date {
        descriptor.annotations?[createdAnnotation].flatMap(RFC3339.parse) ?? .distantPast
    }

    /// The target of `Link: <URL>; rel="next"` (RFC 8288), as the referrers API paginates.
    static func nextPage(_ link: String) -> String? {
        for part in link.split(separator: ",") where part.contains("rel=\"next\"") || part.contains("rel=next") {
            guard let open = part.firstIndex(of: "<"), let close = part.firstIndex(of: ">"), open < close else {
                continue
            }
            return String(part[part.index(after: open)..<close])
        }
        return nil
    }

    /// Percent-encodes everything but RFC 3986 unreserved characters (a media type holds `/` and `+`).
    static func queryEncode(_ text: String) -> String {
        var encoded = ""
        for byte in text.utf8 {
            if (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x2D || byte == 0x2E || byte == 0x5F || byte == 0x7E
            {
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let hex = Array("0123456789ABCDEF".utf8)
                encoded += "%" + String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]], as: UTF8.self)
            }
        }
        return encoded
    }
}

/// What `IndexReferrer.push` left in the registry.
public struct IndexArtifact: Sendable, Equatable {
    /// The artifact manifest's digest: `repository@digest` names it.
    public var digest: String
    /// The image manifest it refers to.
    public var subject: String
    /// The digest of the index blob.
    public var indexDigest: String
    /// false when an artifact holding these exact index bytes was already listed and nothing was written.
    public var pushed: Bool
    /// The referrers tag maintained for a registry without the referrers API; nil when the registry lists
    /// referrers itself.
    public var fallbackTag: String?
}

/// A descriptor as the referrers API and the fallback index list them: with the referrer's `artifactType` and
/// its manifest's annotations.
struct ReferrerDescriptor: Codable, Sendable, Equatable {
    var mediaType: String
    var digest: String
    var size: Int64
    var artifactType: String?
    var annotations: [String: String]?
}

/// An image index read for its referrers. An entry this code cannot read (someone else's, malformed) is skipped
/// here, not fatal: it is kept verbatim when the fallback index is written back.
struct ReferrersIndex: Decodable {
    var descriptors: [ReferrerDescriptor]

    enum CodingKeys: String, CodingKey { case manifests }

    private struct Lenient: Decodable {
        var descriptor: ReferrerDescriptor?
        init(from decoder: any Decoder) throws { descriptor = try? ReferrerDescriptor(from: decoder) }
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        descriptors = (try container.decodeIfPresent([Lenient].self, forKey: .manifests) ?? []).compactMap(\.descriptor)
    }
}

/// An image manifest with the image-spec v1.1 artifact fields.
struct ArtifactManifest: Codable, Sendable, Equatable {
    var schemaVersion: Int
    var mediaType: String?
    var artifactType: String?
    var config: Descriptor
    var layers: [Descriptor]
    var subject: Descriptor?
    var annotations: [String: String]?
}

/// What the referrers listing keeps of a response.
private struct HTTPResponseSummary {
    var status: Int
    var link: String?
    var body: [UInt8]
}
