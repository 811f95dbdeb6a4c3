import Credentials
import Crypto
import Foundation
import Registry
import SystemSupport
import TestSupport
import Testing
import Transport

@testable import LazyMount

/// The index and the span reader against the real docker-registry (htpasswd) and the image as `umoci unpack`
/// lays it out: every file read through ranged requests and checkpoints hashes like the unpacked file.
@Suite(.serialized) struct RegistryIndexTests {
    @Test func everyFileReadThroughTheSpanReaderMatchesUmociUnpack() async throws {
        let password = "pw-" + UUID().uuidString.prefix(8).lowercased()
        let registry = try RegistryFixture.start(username: "lazy", password: password)
        defer { registry.stop() }
        let directory = try TemporaryDirectory(prefix: "ocicred-lazy")
        defer { directory.remove() }
        let image = try LayeredImage.build(in: directory)
        try image.push(to: registry, password: password, repository: "test/layered", directory: directory)
        let rootfs = try LayeredImage.unpackWithUmoci(
            registry: registry, password: password, reference: "\(registry.host)/test/layered:layered",
            directory: directory)

        let credential = RegistryCredential.basic(username: "lazy", password: Secret(password))
        let client = RegistryClient(
            endpoint: RegistryEndpoint(host: registry.host), http: CurlHTTPClient(), credentials: { _ in credential })
        let reference = try Reference.parse("\(registry.host)/test/layered:layered")
        let cache = IndexCache(environment: OcicredEnvironment(["XDG_CACHE_HOME": directory.file("cache")]))
        let (index, path) = try await ImageIndexer(client: client, span: 256 * 1024)
            .index(reference, platform: .host, cache: cache)

        #expect(index.layers.map(\.compression) == [.gzip, .none, .gzip], "skopeo changed the layers")
        #expect(index.layers[0].spans.count > 3 && index.layers[2].spans.count > 3)
        var info = stat()
        #expect(stat(path, &info) == 0 && info.st_mode & 0o777 == 0o600)
        #expect(try IndexCache.read(path) == index)

        let source = RegistryBlobSource(client: client, repository: reference.repository)
        var read = 0
        for merged in index.tree where merged.entry.kind == .file || merged.entry.kind == .hardlink {
            var target = merged
            if merged.entry.kind == .hardlink {
                target = try #require(index.entry(at: merged.entry.linkName ?? ""), "\(merged.entry.path)")
            }
            let reader = LayerReader(layer: index.layers[target.layer], source: source)
            let bytes = try await reader.read(target.entry, offset: 0, count: Int(target.entry.size))
            let unpacked = try Data(contentsOf: URL(fileURLWithPath: rootfs + "/" + merged.entry.path))
            #expect(SHA256.hexDigest(bytes) == SHA256.hexDigest(unpacked), "\(merged.entry.path)")
            read += 1
        }
        #expect(read >= 10)
        // A read from the middle of a multi-member layer, across a member boundary's neighbourhood.
        let big2 = try #require(index.entry(at: "usr/lib/big2.bin"))
        let middle = try await LayerReader(layer: index.layers[big2.layer], source: source)
            .read(big2.entry, offset: 1_000_003, count: 700_000)
        let expected = try Data(contentsOf: URL(fileURLWithPath: rootfs + "/usr/lib/big2.bin"))[1_000_003..<1_700_003]
        #expect(middle == [UInt8](expected))

        // A read whose cold spans are two stretches (the span between them here already) is one multi-range
        // request to docker-registry, not one per stretch, and its bytes are umoci's.
        let layer = index.layers[big2.layer]
        try #require(layer.compression == .gzip)
        let reader = LayerReader(layer: layer, source: source)
        let first = try #require(layer.spanIndex(containing: big2.entry.offset)) + 1
        let spans = layer.spans
        try #require(spans[first + 2].uncompressedOffset + 10 < big2.entry.offset + big2.entry.size)
        _ = try await reader.spanBytes(first + 1)
        let before = Self.rangeRequests(registry, layer.digest)
        let offset = spans[first].uncompressedOffset + 10 - big2.entry.offset
        let across = try await reader.read(
            big2.entry, offset: offset,
            count: Int(spans[first + 2].uncompressedOffset - spans[first].uncompressedOffset))
        let umoci = [UInt8](try Data(contentsOf: URL(fileURLWithPath: rootfs + "/usr/lib/big2.bin")))
        #expect(across[...] == umoci[Int(offset)..<(Int(offset) + across.count)])
        try await Task.sleep(for: .milliseconds(500))  // the registry logs a response once it is complete
        #expect(Self.rangeRequests(registry, layer.digest) - before == 1, "\(registry.log.suffix(3000))")
    }

    /// The ranged GETs of blob `digest` the registry answered so far.
    static func rangeRequests(_ registry: RegistryFixture, _ digest: String) -> Int {
        registry.log.split(separator: "\n").filter {
            $0.contains("response completed") && $0.contains("http.request.method=GET")
                && $0.contains("/blobs/" + digest) && $0.contains("http.response.status=206")
        }.count
    }
}
