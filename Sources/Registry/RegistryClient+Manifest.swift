package import Credentials
internal import FoundationEssentials
internal import Transport

/// An image resolved to one platform's manifest: what `ocicred index` and the mount work from.
package struct ResolvedImage: Sendable, Equatable {
    package var reference: Reference
    /// Digest of the platform manifest (not of an index pointing to it): the cache key of its index.
    package var manifestDigest: String
    package var manifest: ImageManifest
    package var platform: Platform
    /// The config blob's bytes as the registry served them (their digest was checked).
    package var config: [UInt8]

    package init(
        reference: Reference, manifestDigest: String, manifest: ImageManifest, platform: Platform, config: [UInt8]
    ) {
        self.reference = reference
        self.manifestDigest = manifestDigest
        self.manifest = manifest
        self.platform = platform
        self.config = config
    }
}

/// Manifests and blobs (distribution-spec "Pulling manifests", "Pulling blobs"). Everything goes through `send`,
/// so it gets the same credentials, token cache and 401 retry as every other registry call.
extension RegistryClient {
    /// A manifest or index as served: its media type (from Content-Type, or the body when a registry says only
    /// application/json), its verified digest and its bytes.
    package struct FetchedManifest: Sendable {
        package var mediaType: String
        package var digest: String
        package var body: [UInt8]
    }

    /// `GET /v2/<name>/manifests/<reference>` with the OCI and Docker Accept types; the body's sha256 must equal
    /// the digest asked for, or (by tag) the `Docker-Content-Digest` the registry reports.
    package func fetchManifest(repository: String, reference: String) async throws(RegistryError) -> FetchedManifest {
        guard Digest.isWellFormed(reference) || Self.isTag(reference) else {
            throw .invalidArgument("\"\(reference.prefix(80))\" is neither a tag nor a sha256 digest")
        }
        let raw = try await send(
            "GET", "/v2/\(repository)/manifests/\(reference)",
            headers: [(name: "Accept", value: MediaType.manifestAccept.joined(separator: ", "))],
            scopes: [.repository(repository, actions: ["pull"])])
        let response = HTTPResponseLike(
            status: raw.status, contentType: raw.header("content-type"),
            dockerContentDigest: raw.header("docker-content-digest"), body: raw.body)
        guard response.status == 200 else {
            if response.status == 401 || response.status == 403 {
                throw await accessFailure(repository: repository, action: "pull", status: response.status)
            }
            throw .manifestNotFound(reference: "\(repository):\(reference)", status: response.status)
        }
        let digest = Digest.sha256(response.body)
        if reference.hasPrefix("sha256:") {
            try Digest.verify(response.body, matches: reference, what: "manifest \(reference)")
        } else if let reported = response.dockerContentDigest,
            reported.hasPrefix("sha256:"), reported != digest
        {
            throw .digestMismatch(what: "manifest \(repository):\(reference)", expected: reported, actual: digest)
        }
        var mediaType =
            response.contentType?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        if !MediaType.isIndex(mediaType) && !MediaType.isManifest(mediaType) {
            // Some registries answer application/json; the body's own mediaType decides then.
            struct Probe: Decodable {
                var mediaType: String?
                var manifests: [Descriptor]?
            }
            let probe = try? JSONDecoder().decode(Probe.self, from: Data(response.body))
            mediaType = probe?.mediaType ?? (probe?.manifests != nil ? MediaType.ociIndex : MediaType.ociManifest)
        }
        return FetchedManifest(mediaType: mediaType, digest: digest, body: response.body)
    }

    /// Tag or digest → the manifest for `platform`; an index or manifest list picks its matching entry. The
    /// config blob is fetched whole and verified.
    package func resolveImage(_ reference: Reference, platform: Platform) async throws(RegistryError) -> ResolvedImage {
        let repository = reference.repository
        var fetched = try await fetchManifest(
            repository: repository, reference: reference.digest ?? reference.tag ?? "latest")
        let fromIndex = MediaType.isIndex(fetched.mediaType)
        if fromIndex {
            let index: ImageIndexManifest
            do {
                index = try JSONDecoder().decode(ImageIndexManifest.self, from: Data(fetched.body))
            } catch {
                throw .invalidManifest(reason: "image index: \(error)")
            }
            let candidates = index.manifests.filter { MediaType.isManifest($0.mediaType) }
            guard let chosen = candidates.first(where: { $0.platform.map(platform.matches) ?? false }) else {
                throw .noMatchingPlatform(
                    requested: platform.description,
                    available: candidates.compactMap { $0.platform?.description })
            }
            fetched = try await fetchManifest(repository: repository, reference: chosen.digest)
        }
        guard MediaType.isManifest(fetched.mediaType) else { throw .unsupportedMediaType(fetched.mediaType) }
        let manifest: ImageManifest
        do {
            manifest = try JSONDecoder().decode(ImageManifest.self, from: Data(fetched.body))
        } catch {
            throw .invalidManifest(reason: "\(error)")
        }
        for layer in manifest.layers { _ = try MediaType.compression(ofLayer: layer.mediaType) }
        let config = try await fetchBlob(repository: repository, manifest.config)
        if !fromIndex { try Self.checkSinglePlatform(config: config, requested: platform) }
        return ResolvedImage(
            reference: reference, manifestDigest: fetched.digest, manifest: manifest, platform: platform, config: config
        )
    }

    /// An image without an index is built for one platform, which its config names: asked for another, say so
    /// rather than hand back files for the wrong architecture. A config that names none is taken as it is.
    static func checkSinglePlatform(config: [UInt8], requested: Platform) throws(RegistryError) {
        struct ConfigPlatform: Decodable {
            var os: String?
            var architecture: String?
            var variant: String?
        }
        guard let named = try? JSONDecoder().decode(ConfigPlatform.self, from: Data(config)),
            let os = named.os, let architecture = named.architecture
        else { return }
        let offered = Platform(os: os, architecture: architecture, variant: named.variant)
        guard requested.matches(offered) else {
            throw .noMatchingPlatform(requested: requested.description, available: [offered.description])
        }
    }

    /// A small blob (a config), fetched whole and checked against its descriptor's digest and size.
    package func fetchBlob(repository: String, _ descriptor: Descriptor) async throws(RegistryError) -> [UInt8] {
        guard Digest.isWellFormed(descriptor.digest) else { throw .unsupportedDigest(descriptor.digest) }
        let raw = try await send(
            "GET", "/v2/\(repository)/blobs/\(descriptor.digest)", scopes: [.repository(repository, actions: ["pull"])])
        let response = HTTPResponseLike(status: raw.status, contentType: nil, dockerContentDigest: nil, body: raw.body)
        guard response.status == 200 else { throw .blobFetch(digest: descriptor.digest, status: response.status) }
        try Digest.verify(response.body, matches: descriptor.digest, what: "blob \(descriptor.digest)")
        return response.body
    }

    /// A tag as distribution-spec writes it: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`; nothing else names a manifest
    /// in a URL but a digest, so a listing or a link cannot steer a request elsewhere.
    static func isTag(_ text: String) -> Bool {
        guard let first = text.utf8.first, text.utf8.count <= 128, first != UInt8(ascii: "."),
            first != UInt8(ascii: "-")
        else { return false }
        return text.utf8.allSatisfy { byte in
            (48...57).contains(byte) || (65...90).contains(byte) || (97...122).contains(byte)
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")
        }
    }

    /// Bytes `range` of a blob with `Range: bytes=a-b`; the answer must be 206 with a `Content-Range` naming
    /// exactly that range (RFC 9110 §14.4), or a 200 holding the whole blob (then sliced) within
    /// `maxResponseBytes` (the transport's default when nil).
    package func fetchBlobRange(
        repository: String, digest: String, range: Range<Int64>, maxResponseBytes: Int? = nil
    ) async throws(RegistryError) -> [UInt8] {
        guard Digest.isWellFormed(digest) else { throw .unsupportedDigest(digest) }
        let raw = try await send(
            "GET", "/v2/\(repository)/blobs/\(digest)",
            headers: [(name: "Range", value: "bytes=\(range.lowerBound)-\(range.upperBound - 1)")],
            scopes: [.repository(repository, actions: ["pull"])], maxResponseBytes: maxResponseBytes)
        switch raw.status {
        case 206:
            let header = raw.header("content-range") ?? ""
            guard let answered = Self.parseContentRange(header), answered == range else {
                throw .rangeNotHonoured(digest: digest, detail: "asked \(range), Content-Range \"\(header)\"")
            }
            guard raw.body.count == range.count else {
                throw .rangeNotHonoured(
                    digest: digest, detail: "\(raw.body.count) bytes for a \(range.count)-byte range")
            }
            return raw.body
        case 200:
            guard Int64(raw.body.count) >= range.upperBound else {
                throw .rangeNotHonoured(digest: digest, detail: "200 with \(raw.body.count) bytes")
            }
            return Array(raw.body[Int(range.lowerBound)..<Int(range.upperBound)])
        default:
            throw .blobFetch(digest: digest, status: raw.status)
        }
    }

    /// `bytes FIRST-LAST/TOTAL` (or `/*`) → FIRST..<LAST+1.
    static func parseContentRange(_ value: String) -> Range<Int64>? {
        guard value.hasPrefix("bytes ") else { return nil }
        let spec = value.dropFirst("bytes ".count).split(separator: "/").first ?? ""
        let bounds = spec.split(separator: "-")
        guard bounds.count == 2, let first = Int64(bounds[0]), let last = Int64(bounds[1]), last >= first else {
            return nil
        }
        return first..<(last + 1)
    }
}

/// What the manifest code keeps of a response (Transport's type stays out of the values passed around).
private struct HTTPResponseLike {
    var status: Int
    var contentType: String?
    var dockerContentDigest: String?
    var body: [UInt8]
}

extension RegistryClient {
    /// A 401 or 403 on a repository, told apart as `verify` does: when `/v2/` itself refuses the credentials they
    /// are wrong (or missing), and only when it accepts them is the answer "valid, but not for this repository".
    /// A wrong htpasswd password gets a 401 on every path, so "ask an administrator" would send the user the
    /// wrong way.
    func accessFailure(repository: String, action: String, status: Int) async -> RegistryError {
        let credential: RegistryCredential?
        do throws(RegistryError) {
            credential = try await self.credential(refresh: false)
        } catch {
            return error
        }
        guard credential != nil else { return .noCredentials(host: endpoint.host) }
        guard let base = try? await send("GET", "/v2/", scopes: []) else {
            return .denied(host: endpoint.host, repository: repository, action: action, detail: "HTTP \(status)")
        }
        if base.status == 401 || base.status == 403 {
            return .credentialsRejected(host: endpoint.host, detail: ErrorDetail.from(base.body))
        }
        return .denied(host: endpoint.host, repository: repository, action: action, detail: "HTTP \(status)")
    }
}
