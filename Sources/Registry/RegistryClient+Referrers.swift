internal import Credentials
internal import FoundationEssentials
internal import SystemSupport

/// Referrers (distribution-spec v1.1 "Listing Referrers", image-spec v1.1 manifest.md "Guidelines for Artifact
/// Usage"): artifacts stored in an image's repository whose `subject` is one of its manifests. Registries with the
/// referrers API (they answer the manifest PUT with `OCI-Subject`) list them themselves; for the others
/// (distribution 2.8, Debian's docker-registry) the client keeps the referrers tag schema: tag `sha256-<hex>` holds
/// an image index of the subject's referrers.
extension RegistryClient {
    /// The referrers tag schema's tag for `digest` (`<alg>-<hex>`, distribution-spec "Referrers Tag Schema").
    package static func referrersTag(for digest: String) -> String {
        digest.replacingOccurrences(of: ":", with: "-")
    }

    /// What a listing of referrers found.
    package struct ReferrerListing: Sendable {
        package var descriptors: [ReferrerDescriptor]
        /// true: the registry's referrers API answered; false: the fallback tag (or nothing) was read.
        package var viaAPI: Bool
    }

    /// Pushes an artifact: its `blobs` (each skipped when the repository has it), then `manifest` by digest, then,
    /// when the registry did not answer with `OCI-Subject`, an entry in the subject's referrers tag. The order
    /// means a refused push (pull-only credentials) leaves nothing behind: the first write, a blob upload's POST,
    /// is the one that is refused. Returns the manifest's digest and the tag written, if any.
    package func pushArtifact(
        _ manifest: ArtifactManifest, blobs: [(digest: String, bytes: [UInt8])], repository: String
    )
        async throws(RegistryError) -> (digest: String, fallbackTag: String?)
    {
        let body = try Self.canonicalJSON(manifest)
        let digest = Digest.sha256(body)
        for blob in blobs { try await pushBlob(blob.bytes, digest: blob.digest, repository: repository) }
        let pushed = try await pushManifest(
            body, mediaType: MediaType.ociManifest, digest: digest, repository: repository)
        guard pushed.subject == nil, let subject = manifest.subject else { return (digest, nil) }
        let entry = ReferrerDescriptor(
            mediaType: MediaType.ociManifest, digest: digest, size: Int64(body.count),
            artifactType: manifest.artifactType, annotations: manifest.annotations)
        return (digest, try await addReferrer(entry, repository: repository, subject: subject.digest))
    }

    // MARK: - Listing referrers

    /// `GET /v2/<name>/referrers/<digest>?artifactType=…` (following `Link: <…>; rel="next"` pages); a 404 means
    /// the registry has no referrers API (distribution-spec: a registry that has one never answers 404 there),
    /// and the fallback tag is read instead. The `artifactType` filter is a hint a registry may ignore, so the
    /// caller filters again.
    package func referrers(repository: String, subject: String, artifactType: String) async throws(RegistryError)
        -> ReferrerListing
    {
        var next: String? =
            "/v2/\(repository)/referrers/\(subject)?artifactType=\(PercentEncoding.encode(artifactType))"
        var descriptors: [ReferrerDescriptor] = []
        var pages = 0
        while let path = next, pages < 100 {
            pages += 1
            let raw = try await send(
                "GET", path, headers: [(name: "Accept", value: MediaType.ociIndex)],
                scopes: [.repository(repository, actions: ["pull"])])
            let response = HTTPResponseSummary(status: raw.status, link: raw.header("link"), body: raw.body)
            switch response.status {
            case 200:
                descriptors += try Self.decodeReferrers(response.body, what: "the referrers of \(subject)").descriptors
                next = response.link.flatMap(Self.nextPage)
            case 404 where pages == 1:
                return ReferrerListing(
                    descriptors: try await referrersFallbackIndex(repository: repository, subject: subject)?
                        .descriptors ?? [],
                    viaAPI: false)
            case 401, 403:
                throw .denied(
                    host: endpoint.host, repository: repository, action: "pull", detail: "HTTP \(response.status)")
            default:
                throw .unexpectedStatus(
                    host: endpoint.host, request: "GET /v2/\(repository)/referrers/\(subject)",
                    status: response.status, detail: "")
            }
        }
        return ReferrerListing(descriptors: descriptors, viaAPI: true)
    }

    /// The image index under the fallback tag, nil when the tag does not exist.
    func referrersFallbackIndex(repository: String, subject: String)
        async throws(RegistryError) -> (descriptors: [ReferrerDescriptor], body: [UInt8])?
    {
        let tag = Self.referrersTag(for: subject)
        let fetched: FetchedManifest
        do {
            fetched = try await fetchManifest(repository: repository, reference: tag)
        } catch .manifestNotFound(_, let status) where status == 404 {
            return nil
        }
        guard MediaType.isIndex(fetched.mediaType) else {
            throw .invalidManifest(reason: "the referrers tag \(tag) holds \(fetched.mediaType), not an index")
        }
        return (try Self.decodeReferrers(fetched.body, what: "the referrers tag").descriptors, fetched.body)
    }

    /// Adds `entry` to the fallback tag's index: the one there now (re-read just before, so a referrer pushed by
    /// someone else meanwhile is kept), without any earlier entry of the same digest, with unknown fields of
    /// other entries kept as they were. Returns the tag.
    package func addReferrer(_ entry: ReferrerDescriptor, repository: String, subject: String)
        async throws(RegistryError) -> String
    {
        let tag = Self.referrersTag(for: subject)
        let current = try await referrersFallbackIndex(repository: repository, subject: subject)
        let body = try Self.addingReferrer(entry, to: current?.body)
        _ = try await pushManifest(
            body, mediaType: MediaType.ociIndex, digest: Digest.sha256(body), repository: repository, reference: tag)
        return tag
    }

    /// The fallback index `existing` (nil: none yet) with `entry` appended and earlier entries of its digest
    /// dropped; every other entry and top-level field is kept as it was.
    static func addingReferrer(_ entry: ReferrerDescriptor, to existing: [UInt8]?) throws(RegistryError) -> [UInt8] {
        var document: [String: JSONValue] = [:]
        if let existing {
            do {
                guard let object = try JSONDecoder().decode(JSONValue.self, from: Data(existing)).objectValue else {
                    throw RegistryError.invalidManifest(reason: "the referrers tag does not hold a JSON object")
                }
                document = object
            } catch let error as RegistryError {
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
            encodedEntry = try JSONDecoder().decode(JSONValue.self, from: Data(try Self.canonicalJSON(entry)))
        } catch let error as RegistryError {
            throw error
        } catch {
            throw .invalidManifest(reason: "\(error)")
        }
        manifests.append(encodedEntry)
        document["schemaVersion"] = .integer(2)
        document["mediaType"] = .string(MediaType.ociIndex)
        document["manifests"] = .array(manifests)
        return try canonicalJSON(JSONValue.object(document))
    }

    static func decodeReferrers(_ body: [UInt8], what: String) throws(RegistryError) -> ReferrersIndex {
        do {
            return try JSONDecoder().decode(ReferrersIndex.self, from: Data(body))
        } catch {
            throw .invalidManifest(reason: "\(what) is not an image index: \(error)")
        }
    }

    /// JSON with sorted keys and unescaped slashes: the same value always gives the same bytes, so the same digest.
    package static func canonicalJSON(_ value: some Encodable) throws(RegistryError) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do { return Array(try encoder.encode(value)) } catch { throw .invalidManifest(reason: "\(error)") }
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
}

/// A descriptor as the referrers API and the fallback index list them: with the referrer's `artifactType` and
/// its manifest's annotations.
package struct ReferrerDescriptor: Codable, Sendable, Equatable {
    package var mediaType: String
    package var digest: String
    package var size: Int64
    package var artifactType: String?
    package var annotations: [String: String]?

    package init(mediaType: String, digest: String, size: Int64, artifactType: String?, annotations: [String: String]?)
    {
        self.mediaType = mediaType
        self.digest = digest
        self.size = size
        self.artifactType = artifactType
        self.annotations = annotations
    }
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
package struct ArtifactManifest: Codable, Sendable, Equatable {
    package var schemaVersion: Int
    package var mediaType: String?
    package var artifactType: String?
    package var config: Descriptor
    package var layers: [Descriptor]
    package var subject: Descriptor?
    package var annotations: [String: String]?

    package init(
        schemaVersion: Int = 2, mediaType: String? = MediaType.ociManifest, artifactType: String?, config: Descriptor,
        layers: [Descriptor], subject: Descriptor?, annotations: [String: String]?
    ) {
        self.schemaVersion = schemaVersion
        self.mediaType = mediaType
        self.artifactType = artifactType
        self.config = config
        self.layers = layers
        self.subject = subject
        self.annotations = annotations
    }
}

/// What the referrers listing keeps of a response.
private struct HTTPResponseSummary {
    var status: Int
    var link: String?
    var body: [UInt8]
}
