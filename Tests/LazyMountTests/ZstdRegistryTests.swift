import Credentials
import Crypto
import Foundation
import Registry
import SystemSupport
import TestSupport
import Testing
import Transport

@testable import LazyMount

/// A zstd image as users get one — `skopeo copy --dest-compress-format zstd` into the real docker-registry — is
/// indexed through the registry and every file read back whole-layer, matching the same image pushed as gzip.
@Suite(.serialized) struct ZstdRegistryTests {
    @Test func aZstdImagePushedBySkopeoIndexesAndReadsLikeItsGzipTwin() async throws {
        let password = "pw-" + UUID().uuidString.prefix(8).lowercased()
        let registry = try RegistryFixture.start(username: "lazy", password: password)
        defer { registry.stop() }
        let directory = try TemporaryDirectory(prefix: "ocicred-zstd")
        defer { directory.remove() }
        let image = try LayeredImage.build(in: directory)
        // zstd first: pushed after the gzip twin, skopeo's blob-info cache would reuse the gzip blobs already in
        // the registry (same uncompressed digests) instead of compressing anew.
        try Self.pushZstd(image, to: registry, password: password, repository: "test/zstd", directory: directory)
        try image.push(to: registry, password: password, repository: "test/gzip", directory: directory)

        let credential = RegistryCredential.basic(username: "lazy", password: Secret(password))
        let client = RegistryClient(
            endpoint: RegistryEndpoint(host: registry.host), http: CurlHTTPClient(), credentials: { _ in credential })
        let cache = IndexCache(environment: OcicredEnvironment(["XDG_CACHE_HOME": directory.file("cache")]))
        let indexer = ImageIndexer(client: client, span: 256 * 1024)
        let gzipReference = try Reference.parse("\(registry.host)/test/gzip:layered")
        let zstdReference = try Reference.parse("\(registry.host)/test/zstd:layered")
        let (gzip, _) = try await indexer.index(gzipReference, platform: .host, cache: cache)
        let (zstd, path) = try await indexer.index(zstdReference, platform: .host, cache: cache)

        #expect(zstd.layers.map(\.compression) == [.zstd, .zstd, .zstd], "skopeo did not write zstd layers")
        #expect(zstd.layers.allSatisfy { $0.fetchWholeOnFirstRead && $0.mediaType.hasSuffix("+zstd") })
        #expect(zstd.layers.map(\.uncompressedSize) == gzip.layers.map(\.uncompressedSize))
        #expect(zstd.tree == gzip.tree)
        #expect(try IndexCache.read(path) == zstd)

        let gzipSource = RegistryBlobSource(client: client, repository: gzipReference.repository)
        let zstdSource = RegistryBlobSource(client: client, repository: zstdReference.repository)
        // The chunk cache's view: one fetch of a layer yields all its spans, each verified.
        for layer in zstd.layers {
            let spans = try await SpanReader(layer: layer, source: zstdSource).fetchSpans(0)
            #expect(spans.map(\.index) == Array(layer.spans.indices))
            #expect(spans.allSatisfy { SHA256.hexDigest($0.bytes) == layer.spans[$0.index].sha256 })
        }
        var read = 0
        for merged in zstd.tree where merged.entry.kind == .file {
            let fromZstd = try await LayerReader(layer: zstd.layers[merged.layer], source: zstdSource)
                .read(merged.entry, offset: 0, count: Int(merged.entry.size))
            let twin = try #require(gzip.entry(at: merged.entry.path))
            let fromGzip = try await LayerReader(layer: gzip.layers[twin.layer], source: gzipSource)
                .read(twin.entry, offset: 0, count: Int(twin.entry.size))
            #expect(fromZstd.count == Int(merged.entry.size), "\(merged.entry.path)")
            #expect(SHA256.hexDigest(fromZstd) == SHA256.hexDigest(fromGzip), "\(merged.entry.path)")
            read += 1
        }
        #expect(read >= 10)
    }

    /// `skopeo copy --dest-compress --dest-compress-format zstd`: every layer (the uncompressed one too) is
    /// recompressed with zstd on the way to the registry. Credentials go in a 0600 auth file, never an argument.
    static func pushZstd(
        _ image: LayeredImage, to registry: RegistryFixture, password: String, repository: String,
        directory: TemporaryDirectory
    ) throws {
        let authFile = directory.file("zstd-auth.json")
        let auth = Data("\(registry.username):\(password)".utf8).base64EncodedString()
        let json = try JSONSerialization.data(withJSONObject: ["auths": [registry.host: ["auth": auth]]])
        FileManager.default.createFile(atPath: authFile, contents: json, attributes: [.posixPermissions: 0o600])
        let result = try ProcessRunner.run(
            "skopeo",
            [
                "copy", "--dest-compress", "--dest-compress-format", "zstd", "--dest-tls-verify=false",
                "--dest-authfile", authFile, "oci:\(image.layout):\(image.tag)",
                "docker://\(registry.host)/\(repository):\(image.tag)",
            ],
            environment: [
                "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "HOME": directory.path,
                "TMPDIR": directory.path, "CONTAINERS_REGISTRIES_CONF": directory.file("registries.conf"),
            ], timeout: 120)
        guard result.status == 0 else {
            throw FixtureError.commandFailed(command: "skopeo copy --dest-compress-format zstd", result: result)
        }
    }
}
