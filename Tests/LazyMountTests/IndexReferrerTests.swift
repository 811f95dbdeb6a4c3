import Credentials
import Crypto
import Foundation
import Registry
import Synchronization
import SystemSupport
import TestSupport
import Testing
import Transport

@testable import LazyMount

/// `ocicred index --push` and the lookup the mount makes, against the real Debian docker-registry (distribution
/// 2.8: no referrers API, so the referrers tag schema is what is exercised), plus the referrers API path through a
/// transport that gives that same registry the API distribution 2.8 lacks.
@Suite(.serialized) struct IndexReferrerTests {
    // MARK: - Against docker-registry

    @Test func indexPushStoresAnArtifactUnderTheReferrersTagAndFetchReturnsIt() async throws {
        let password = "pw:" + UUID().uuidString.prefix(8).lowercased()
        let registry = try RegistryFixture.start(username: "pusher", password: password)
        defer { registry.stop() }
        let directory = try TemporaryDirectory(prefix: "ocicred-referrer")
        defer { directory.remove() }
        let image = try LayeredImage.build(in: directory)
        try image.push(to: registry, password: password, repository: "team/layered", directory: directory)
        let home = directory.file("home")
        let environment = try OcicredBinary.registryEnvironment(home: home)
        let login = try OcicredBinary.run(
            ["login", registry.host, "-u", "pusher", "--password-stdin"], home: home, stdin: password + "\n",
            extraEnvironment: environment)
        try #require(login.status == 0, "login: \(login)")

        let reference = "\(registry.host)/team/layered:layered"
        let indexed = try OcicredBinary.run(
            ["index", reference, "--span", "262144", "--push"], home: home, extraEnvironment: environment,
            timeout: 180)
        try #require(indexed.status == 0, "index --push: \(indexed)\n\(registry.log.suffix(3000))")
        #expect(!indexed.stdoutText.contains(password) && !indexed.stderrText.contains(password))
        let lines = indexed.stdoutText.split(separator: "\n").map(String.init)
        try #require(lines.count == 2, "\(indexed)")
        let cached = try IndexCache.read(lines[0])
        #expect(lines[1].hasPrefix("\(registry.host)/team/layered@sha256:"), "\(lines[1])")
        let artifactDigest = String(lines[1].split(separator: "@").last ?? "")

        // The tag schema: sha256-<hex of the image manifest> lists the artifact with its type and annotations.
        let client = Self.client(registry, password: password)
        let subject = try await client.fetchManifest(repository: "team/layered", reference: cached.manifestDigest)
        let tag = "sha256-" + cached.manifestDigest.dropFirst("sha256:".count)
        #expect(IndexReferrer.fallbackTag(for: cached.manifestDigest) == tag)
        let listed = try await Self.fallbackEntries(client, repository: "team/layered", tag: tag)
        #expect(listed.count == 1)
        #expect(listed.first?["digest"] as? String == artifactDigest)
        #expect(listed.first?["artifactType"] as? String == "application/vnd.ocicred.index.v1+json")
        #expect(listed.first?["mediaType"] as? String == "application/vnd.oci.image.manifest.v1+json")
        #expect((listed.first?["annotations"] as? [String: String])?["vnd.ocicred.index.span"] == "262144")

        // The artifact: the empty config, the index and windows layers, the subject.
        let artifact = try await client.fetchManifest(repository: "team/layered", reference: artifactDigest)
        let manifest = try JSONDecoder().decode(ArtifactManifest.self, from: Data(artifact.body))
        #expect(manifest.artifactType == IndexReferrer.artifactType)
        #expect(
            manifest.config
                == Descriptor(
                    mediaType: "application/vnd.oci.empty.v1+json",
                    digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", size: 2))
        #expect(
            manifest.subject
                == Descriptor(
                    mediaType: subject.mediaType, digest: cached.manifestDigest, size: Int64(subject.body.count)))
        // The index layer is the cached index with its windows moved out, gzip-compressed; the windows layer
        // holds them, and the index names it.
        let published = try IndexReferrer.publication(of: cached)
        try #require(manifest.layers.count == 2, "\(manifest.layers)")
        let layer = manifest.layers[0]
        #expect(layer.mediaType == IndexReferrer.indexMediaType)
        let blob = try await client.fetchBlob(repository: "team/layered", layer)
        #expect(blob == published.indexBlob)
        let windowsLayer = manifest.layers[1]
        #expect(windowsLayer.mediaType == IndexReferrer.windowsMediaType)
        let windows = try await client.fetchBlob(repository: "team/layered", windowsLayer)
        #expect(windows == published.windowsBlob)
        #expect(published.index.layers.allSatisfy { $0.windowsBlob == nil || $0.windowsBlob == windowsLayer.digest })
        #expect(published.index.layers.contains { $0.windowsBlob == windowsLayer.digest })
        #expect(
            published.index.layers.flatMap(\.spans).allSatisfy { $0.checkpoint?.window?.isEmpty ?? true },
            "no window left inline but the empty first one")
        #expect(
            blob.count < (try IndexCache.encode(cached)).count / 4, "the pushed index is a fraction of the inline one")

        // What the mount asks: the index for this manifest and span, the one pushed; another span: nil.
        let fetched = try await IndexReferrer.fetch(
            client: client, repository: "team/layered", manifestDigest: cached.manifestDigest, span: 262_144)
        #expect(fetched == published.index)
        // Every file reads the same through it (windows fetched by range) as through the inline index.
        let source = RegistryBlobSource(client: client, repository: "team/layered")
        let remote = try #require(fetched)
        for merged in cached.tree where merged.entry.kind == .file && merged.entry.size > 0 {
            let inline = try await LayerReader(layer: cached.layers[merged.layer], source: source)
                .read(merged.entry, offset: 0, count: Int(merged.entry.size))
            let lazy = try await LayerReader(layer: remote.layers[merged.layer], source: source)
                .read(merged.entry, offset: 0, count: Int(merged.entry.size))
            #expect(inline == lazy, "\(merged.entry.path)")
        }
        let otherSpan = try await IndexReferrer.fetch(
            client: client, repository: "team/layered", manifestDigest: cached.manifestDigest, span: 1 << 20)
        #expect(otherSpan == nil)
        // The fetched index fills another machine's cache, kept as it came (the mount's path).
        let otherCache = IndexCache(environment: OcicredEnvironment(["XDG_CACHE_HOME": directory.file("other")]))
        let kept = try await IndexReferrer.fetch(
            client: client, repository: "team/layered", manifestDigest: cached.manifestDigest, span: 262_144,
            keepIn: otherCache)
        #expect(kept == remote)
        #expect(otherCache.load(manifestDigest: cached.manifestDigest, span: 262_144) == remote)
        let keptPath = otherCache.path(forManifest: cached.manifestDigest)
        let keptFile = try #require(try FileIO.read(keptPath, limit: 1 << 30))
        #expect(keptFile == (try ZStream.inflateWhole(blob, .gzip, limit: 1 << 30)), "the fetched JSON, byte for byte")
        let keptAttributes = try FileManager.default.attributesOfItem(atPath: keptPath)
        #expect((keptAttributes[.posixPermissions] as? Int) == 0o600)
        // Nothing is kept for an index that does not fit.
        let unfit = IndexCache(environment: OcicredEnvironment(["XDG_CACHE_HOME": directory.file("unfit")]))
        _ = try await IndexReferrer.fetch(
            client: client, repository: "team/layered", manifestDigest: cached.manifestDigest, span: 1 << 20,
            keepIn: unfit)
        #expect(!FileManager.default.fileExists(atPath: unfit.path(forManifest: cached.manifestDigest)))

        // Pushing again writes nothing new and prints the same reference.
        let again = try OcicredBinary.run(
            ["index", reference, "--span", "262144", "--push"], home: home, extraEnvironment: environment,
            timeout: 120)
        #expect(again.status == 0 && again.stdoutText == indexed.stdoutText, "\(again)")
        #expect(try await Self.fallbackEntries(client, repository: "team/layered", tag: tag).count == 1)
    }

    @Test func secondPushKeepsOneEntryPerArtifactAndForeignReferrers() async throws {
        let password = "pw-" + UUID().uuidString.prefix(8).lowercased()
        let registry = try RegistryFixture.start(username: "pusher", password: password)
        defer { registry.stop() }
        let directory = try TemporaryDirectory(prefix: "ocicred-referrer")
        defer { directory.remove() }
        let client = Self.client(registry, password: password)
        let image = try await Self.pushSmallImage(client, repository: "team/small")
        let (index, _) = try await Self.index(image, client: client, span: 65_536, directory: directory)
        #expect(
            try await IndexReferrer.fetch(
                client: client, repository: "team/small", manifestDigest: image.digest, span: 65_536) == nil)

        // Someone else's referrer (an SBOM, say), already in the tag schema with a field we do not model.
        let foreign = try await Self.pushForeignReferrer(client, repository: "team/small", subject: image)
        let tag = IndexReferrer.fallbackTag(for: image.digest)
        let foreignEntry: [String: Any] = [
            "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": foreign.digest,
            "size": foreign.size, "artifactType": "application/vnd.example.sbom+json",
            "annotations": ["org.example.kind": "sbom"], "data": "e30=",
        ]
        let fallback = Self.json([
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [foreignEntry],
        ])
        _ = try await client.pushManifest(
            fallback, mediaType: "application/vnd.oci.image.index.v1+json", digest: Digest.sha256(fallback),
            repository: "team/small", reference: tag)

        let first = try await IndexReferrer.push(index, client: client, repository: "team/small")
        let second = try await IndexReferrer.push(index, client: client, repository: "team/small")
        #expect(first.pushed && !second.pushed)
        #expect(first.digest == second.digest && first.fallbackTag == tag && second.fallbackTag == tag)
        var entries = try await Self.fallbackEntries(client, repository: "team/small", tag: tag)
        #expect(entries.compactMap { $0["digest"] as? String } == [foreign.digest, first.digest])
        #expect(NSDictionary(dictionary: entries[0]) == NSDictionary(dictionary: foreignEntry), "kept verbatim")

        // An index of another span is another artifact; each span finds its own, a third finds none.
        let (wider, _) = try await Self.index(image, client: client, span: 131_072, directory: directory)
        let third = try await IndexReferrer.push(
            wider, client: client, repository: "team/small", now: Date().addingTimeInterval(60))
        entries = try await Self.fallbackEntries(client, repository: "team/small", tag: tag)
        #expect(entries.compactMap { $0["digest"] as? String } == [foreign.digest, first.digest, third.digest])
        #expect(Set(entries.compactMap { $0["digest"] as? String }).count == entries.count)
        #expect(
            try await IndexReferrer.fetch(
                client: client, repository: "team/small", manifestDigest: image.digest, span: 65_536)
                == (try IndexReferrer.publication(of: index)).index)
        #expect(
            try await IndexReferrer.fetch(
                client: client, repository: "team/small", manifestDigest: image.digest, span: 131_072)
                == (try IndexReferrer.publication(of: wider)).index)
        #expect(
            try await IndexReferrer.fetch(
                client: client, repository: "team/small", manifestDigest: image.digest, span: 262_144) == nil)
    }

    @Test func alteredIndexBlobOrArtifactManifestIsADigestError() async throws {
        let password = "pw-" + UUID().uuidString.prefix(8).lowercased()
        let registry = try RegistryFixture.start(username: "pusher", password: password)
        defer { registry.stop() }
        let directory = try TemporaryDirectory(prefix: "ocicred-referrer")
        defer { directory.remove() }
        let client = Self.client(registry, password: password)
        let image = try await Self.pushSmallImage(client, repository: "team/small")
        let (index, _) = try await Self.index(image, client: client, span: 65_536, directory: directory)
        let artifact = try await IndexReferrer.push(index, client: client, repository: "team/small")

        // A proxy on the way flips one byte of the index blob: an error naming the blob, never an index.
        let blobProxy = TamperingHTTP(path: "/blobs/\(artifact.indexDigest)")
        let viaBlobProxy = Self.client(registry, password: password, http: blobProxy)
        let blobError = await #expect(throws: LazyMountError.self) {
            _ = try await IndexReferrer.fetch(
                client: viaBlobProxy, repository: "team/small", manifestDigest: image.digest, span: 65_536)
        }
        guard case .registry(.digestMismatch(let what, let expected, _))? = blobError else {
            Issue.record("expected a digest mismatch, got \(String(describing: blobError))")
            return
        }
        #expect(what.contains("index blob") && expected == artifact.indexDigest)
        #expect(blobProxy.tampered > 0)

        // The same for the artifact's manifest.
        let manifestProxy = TamperingHTTP(path: "/manifests/\(artifact.digest)")
        let viaManifestProxy = Self.client(registry, password: password, http: manifestProxy)
        let manifestError = await #expect(throws: LazyMountError.self) {
            _ = try await IndexReferrer.fetch(
                client: viaManifestProxy, repository: "team/small", manifestDigest: image.digest, span: 65_536)
        }
        guard case .registry(.digestMismatch(_, let expectedManifest, _))? = manifestError else {
            Issue.record("expected a digest mismatch, got \(String(describing: manifestError))")
            return
        }
        #expect(expectedManifest == artifact.digest)
        #expect(manifestProxy.tampered > 0)
    }

    @Test func pullOnlyUserIsDeniedPushAndNothingIsWritten() async throws {
        let writerPassword = "w-" + UUID().uuidString.prefix(8).lowercased()
        let readerPassword = "r-" + UUID().uuidString.prefix(8).lowercased()
        let registry = try TokenRegistryFixture.start(users: [
            TokenUser(name: "writer", password: writerPassword, push: true),
            TokenUser(name: "reader", password: readerPassword, push: false),
        ])
        defer { registry.stop() }
        let directory = try TemporaryDirectory(prefix: "ocicred-referrer")
        defer { directory.remove() }
        let writer = Self.client(host: registry.host, username: "writer", password: writerPassword)
        let reader = Self.client(host: registry.host, username: "reader", password: readerPassword)
        let image = try await Self.pushSmallImage(writer, repository: "team/small")
        let (index, _) = try await Self.index(image, client: reader, span: 65_536, directory: directory)

        let denied = await #expect(throws: LazyMountError.self) {
            _ = try await IndexReferrer.push(index, client: reader, repository: "team/small")
        }
        guard case .registry(let registryError)? = denied, case .denied(_, "team/small", "push", _) = registryError
        else {
            Issue.record("expected push to be denied, got \(String(describing: denied))")
            return
        }
        #expect(registryError.kind == .rejected && !registryError.description.contains(readerPassword))
        try await Self.expectNothingWritten(writer, image: image, index: index)

        // The command: refused before any layer is read, exit 3 (FailureKind.rejected), a message that says why.
        let home = directory.file("home")
        let environment = try OcicredBinary.registryEnvironment(home: home)
        let login = try OcicredBinary.run(
            ["login", registry.host, "-u", "reader", "--password-stdin"], home: home, stdin: readerPassword + "\n",
            extraEnvironment: environment)
        try #require(login.status == 0, "login: \(login)")
        let result = try OcicredBinary.run(
            ["index", "\(registry.host)/team/small:v1", "--span", "65536", "--push"], home: home,
            extraEnvironment: environment, timeout: 120)
        #expect(result.status == FailureKind.rejected.rawValue, "\(result)")
        #expect(result.stderrText.contains("do not allow push on team/small"), "\(result.stderrText)")
        #expect(!result.stderrText.contains(readerPassword) && !result.stdoutText.contains(readerPassword))
        #expect(!FileManager.default.fileExists(atPath: home + "/.cache/ocicred/index/" + image.digest))
        try await Self.expectNothingWritten(writer, image: image, index: index)
    }

    // MARK: - The referrers API

    @Test func registryWithTheReferrersAPIListsTheArtifactItselfAndNoTagIsWritten() async throws {
        let password = "pw-" + UUID().uuidString.prefix(8).lowercased()
        let registry = try RegistryFixture.start(username: "pusher", password: password)
        defer { registry.stop() }
        let directory = try TemporaryDirectory(prefix: "ocicred-referrer")
        defer { directory.remove() }
        let api = ReferrersAPI()
        let client = Self.client(registry, password: password, http: api)
        let image = try await Self.pushSmallImage(client, repository: "team/small")
        let (index, _) = try await Self.index(image, client: client, span: 65_536, directory: directory)

        let first = try await IndexReferrer.push(index, client: client, repository: "team/small")
        #expect(first.pushed && first.fallbackTag == nil)
        let second = try await IndexReferrer.push(index, client: client, repository: "team/small")
        #expect(!second.pushed && second.digest == first.digest, "found through the API, not pushed twice")
        let fetched = try await IndexReferrer.fetch(
            client: client, repository: "team/small", manifestDigest: image.digest, span: 65_536)
        #expect(fetched == (try IndexReferrer.publication(of: index)).index)
        #expect(api.listings >= 3)
        #expect(api.filteredByArtifactType, "the artifactType filter was sent")

        // No tag schema on such a registry: the tag does not exist.
        let plain = Self.client(registry, password: password)
        await #expect(throws: RegistryError.self) {
            _ = try await plain.fetchManifest(
                repository: "team/small", reference: IndexReferrer.fallbackTag(for: image.digest))
        }
    }

    // MARK: - Helpers

    struct PushedImage {
        var repository: String
        var tag: String
        var digest: String
        var mediaType: String
        var size: Int
    }

    static func client(_ registry: RegistryFixture, password: String, http: any HTTPClient = CurlHTTPClient())
        -> RegistryClient
    {
        client(host: registry.host, username: registry.username, password: password, http: http)
    }

    static func client(host: String, username: String, password: String, http: any HTTPClient = CurlHTTPClient())
        -> RegistryClient
    {
        let credential = RegistryCredential.basic(username: username, password: Secret(password))
        return RegistryClient(endpoint: RegistryEndpoint(host: host), http: http, credentials: { _ in credential })
    }

    static func json(_ object: Any) -> [UInt8] {
        [UInt8](try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
    }

    /// A one-layer image (an uncompressed tar with a directory and two files) pushed with the client's own upload,
    /// tagged `v1`.
    static func pushSmallImage(_ client: RegistryClient, repository: String) async throws -> PushedImage {
        var tar = TestTar()
        tar.directory("etc")
        tar.file("etc/hello", Array("hello from a small image\n".utf8))
        var seed: UInt64 = 11
        tar.file("data.bin", TestTar.random(300_000, seed: &seed))
        tar.finish()
        let layer = tar.bytes
        let config = json([
            "architecture": "amd64", "os": "linux", "config": [:] as [String: String],
            "rootfs": ["type": "layers", "diff_ids": [Digest.sha256(layer)]],
        ])
        let manifest = json([
            "schemaVersion": 2, "mediaType": MediaType.ociManifest,
            "config": [
                "mediaType": "application/vnd.oci.image.config.v1+json", "digest": Digest.sha256(config),
                "size": config.count,
            ],
            "layers": [
                [
                    "mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": Digest.sha256(layer),
                    "size": layer.count,
                ]
            ],
        ])
        #expect(try await client.pushBlob(layer, digest: Digest.sha256(layer), repository: repository))
        #expect(try await client.pushBlob(config, digest: Digest.sha256(config), repository: repository))
        #expect(!(try await client.pushBlob(config, digest: Digest.sha256(config), repository: repository)))
        let pushed = try await client.pushManifest(
            manifest, mediaType: MediaType.ociManifest, digest: Digest.sha256(manifest), repository: repository,
            reference: "v1")
        #expect(pushed.subject == nil, "distribution 2.8 has no referrers API")
        return PushedImage(
            repository: repository, tag: "v1", digest: pushed.digest, mediaType: MediaType.ociManifest,
            size: manifest.count)
    }

    static func index(_ image: PushedImage, client: RegistryClient, span: Int64, directory: TemporaryDirectory)
        async throws -> (ImageIndex, String)
    {
        let cache = IndexCache(environment: OcicredEnvironment(["XDG_CACHE_HOME": directory.file("cache-\(span)")]))
        let reference = try Reference.parse("\(client.endpoint.host)/\(image.repository)@\(image.digest)")
        return try await ImageIndexer(client: client, span: span).index(reference, platform: .host, cache: cache)
    }

    /// An artifact of another tool referring to `subject`; returns its manifest's digest and size.
    static func pushForeignReferrer(_ client: RegistryClient, repository: String, subject: PushedImage)
        async throws -> (digest: String, size: Int)
    {
        let empty = Array("{}".utf8)
        let sbom = Array(#"{"spdxVersion":"SPDX-2.3"}"#.utf8)
        try await client.pushBlob(empty, digest: Digest.sha256(empty), repository: repository)
        try await client.pushBlob(sbom, digest: Digest.sha256(sbom), repository: repository)
        let manifest = json([
            "schemaVersion": 2, "mediaType": MediaType.ociManifest, "artifactType": "application/vnd.example.sbom+json",
            "config": ["mediaType": "application/vnd.oci.empty.v1+json", "digest": Digest.sha256(empty), "size": 2],
            "layers": [["mediaType": "application/spdx+json", "digest": Digest.sha256(sbom), "size": sbom.count]],
            "subject": ["mediaType": subject.mediaType, "digest": subject.digest, "size": subject.size],
        ])
        let pushed = try await client.pushManifest(
            manifest, mediaType: MediaType.ociManifest, digest: Digest.sha256(manifest), repository: repository)
        return (pushed.digest, manifest.count)
    }

    /// The `manifests` of the image index under `tag`, as JSON objects.
    static func fallbackEntries(_ client: RegistryClient, repository: String, tag: String) async throws
        -> [[String: Any]]
    {
        let fetched = try await client.fetchManifest(repository: repository, reference: tag)
        #expect(fetched.mediaType == MediaType.ociIndex)
        let object = try JSONSerialization.jsonObject(with: Data(fetched.body)) as? [String: Any]
        return object?["manifests"] as? [[String: Any]] ?? []
    }

    /// No tag but the image's, no referrers tag, neither of the artifact's blobs.
    static func expectNothingWritten(_ client: RegistryClient, image: PushedImage, index: ImageIndex) async throws {
        let tags = try await client.send(
            "GET", "/v2/\(image.repository)/tags/list", scopes: [.repository(image.repository, actions: ["pull"])])
        let listed = try JSONSerialization.jsonObject(with: Data(tags.body)) as? [String: Any]
        #expect(listed?["tags"] as? [String] == [image.tag], "\(tags.bodyText)")
        for digest in [Digest.sha256(try IndexCache.encode(index)), Digest.sha256(Array("{}".utf8))] {
            let head = try await client.send(
                "HEAD", "/v2/\(image.repository)/blobs/\(digest)",
                scopes: [.repository(image.repository, actions: ["pull"])])
            #expect(head.status == 404, "\(digest)")
        }
    }
}

/// A proxy that alters the body of every response whose URL path contains `path` (one byte flipped in the middle),
/// as a broken cache or a hostile middlebox would; everything else passes through to the real registry.
final class TamperingHTTP: HTTPClient {
    let path: String
    let upstream = CurlHTTPClient()
    private let count = Mutex(0)

    init(path: String) { self.path = path }

    var tampered: Int { count.withLock { $0 } }

    func send(_ request: HTTPRequest) async throws(HTTPError) -> HTTPResponse {
        var response = try await upstream.send(request)
        if request.method == "GET", request.url.contains(path), response.status / 100 == 2, !response.body.isEmpty {
            response.body[response.body.count / 2] ^= 0x01
            count.withLock { $0 += 1 }
        }
        return response
    }
}

/// The referrers API (distribution-spec v1.1, "Listing Referrers") in front of docker-registry 2.8, which has
/// none: a manifest PUT whose body has a `subject` is recorded and answered with `OCI-Subject`, and
/// `GET /v2/<name>/referrers/<digest>` answers an image index of the recorded referrers, filtered by
/// `artifactType` (with `OCI-Filters-Applied`), 400 for a malformed digest — as strict as the spec, which is the
/// only reference there is for it without a newer registry. Everything else goes to the real registry.
final class ReferrersAPI: HTTPClient {
    struct Referrer: Sendable {
        var mediaType: String
        var digest: String
        var size: Int
        var artifactType: String?
        var annotations: [String: String]?
    }
    private struct State {
        var referrers: [String: [Referrer]] = [:]
        var listings = 0
        var filtered = false
    }
    let upstream = CurlHTTPClient()
    private let state = Mutex(State())

    var listings: Int { state.withLock { $0.listings } }
    var filteredByArtifactType: Bool { state.withLock { $0.filtered } }

    func send(_ request: HTTPRequest) async throws(HTTPError) -> HTTPResponse {
        guard let url = URL(string: request.url) else { return try await upstream.send(request) }
        let parts = url.path.split(separator: "/").map(String.init)
        if request.method == "GET", parts.count >= 4, parts[parts.count - 2] == "referrers" {
            return referrers(request, subject: parts[parts.count - 1], query: url.query ?? "")
        }
        var response = try await upstream.send(request)
        if request.method == "PUT", parts.count >= 4, parts[parts.count - 2] == "manifests", response.status == 201,
            let object = try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any],
            let subject = (object["subject"] as? [String: Any])?["digest"] as? String
        {
            let referrer = Referrer(
                mediaType: object["mediaType"] as? String ?? "", digest: Digest.sha256(request.body),
                size: request.body.count,
                artifactType: object["artifactType"] as? String
                    ?? (object["config"] as? [String: Any])?["mediaType"] as? String,
                annotations: object["annotations"] as? [String: String])
            state.withLock { $0.referrers[subject, default: []].append(referrer) }
            response.headers.append((name: "oci-subject", value: subject))
        }
        return response
    }

    private func referrers(_ request: HTTPRequest, subject: String, query: String) -> HTTPResponse {
        let hex = subject.dropFirst("sha256:".count)
        guard subject.hasPrefix("sha256:"), hex.count == 64, hex.allSatisfy(\.isHexDigit) else {
            return HTTPResponse(
                status: 400, headers: [], body: Array(#"{"errors":[{"code":"DIGEST_INVALID"}]}"#.utf8),
                url: request.url)
        }
        let artifactType = query.split(separator: "&").compactMap { pair -> String? in
            let kv = pair.split(separator: "=", maxSplits: 1)
            return kv.count == 2 && kv[0] == "artifactType" ? String(kv[1]).removingPercentEncoding : nil
        }.first
        let listed = state.withLock { state -> [Referrer] in
            state.listings += 1
            if artifactType != nil { state.filtered = true }
            return (state.referrers[subject] ?? []).filter { artifactType == nil || $0.artifactType == artifactType }
        }
        let manifests: [[String: Any]] = listed.map { referrer in
            var entry: [String: Any] = [
                "mediaType": referrer.mediaType, "digest": referrer.digest, "size": referrer.size,
            ]
            if let type = referrer.artifactType { entry["artifactType"] = type }
            if let annotations = referrer.annotations { entry["annotations"] = annotations }
            return entry
        }
        let body = try! JSONSerialization.data(withJSONObject: [
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests,
        ])
        var headers = [(name: "content-type", value: "application/vnd.oci.image.index.v1+json")]
        if artifactType != nil { headers.append((name: "oci-filters-applied", value: "artifactType")) }
        return HTTPResponse(status: 200, headers: headers, body: [UInt8](body), url: request.url)
    }
}

extension IndexReferrer {
    /// The lookup a mount opted in with `--trust-pushed-index` makes, for the image manifest `manifestDigest`.
    static func fetch(
        client: RegistryClient, repository: String, manifestDigest: String, span: Int64, keepIn cache: IndexCache? = nil
    ) async throws -> ImageIndex? {
        let reference = try Reference.parse("\(client.endpoint.host)/\(repository)@\(manifestDigest)")
        let image = try await client.resolveImage(reference, platform: .host)
        return try await fetch(
            client: client, repository: repository, image: image, span: span, trust: IndexTrust(pushed: true),
            keepIn: cache)?.index
    }
}
