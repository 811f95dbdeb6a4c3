import Credentials
import Foundation
import Registry
import Testing

@testable import LazyMount

/// `ImageIndex.check`: an index is held to the manifest it is used with before any path, URL or cache name is built
/// from it. A real index of a gzip and a plain layer passes; each forgery a party who can push a referrer could make
/// is refused with a reason naming what is wrong.
@Suite struct IndexCheckTests {
    struct Genuine {
        var index: ImageIndex
        var image: ResolvedImage
    }

    static func genuine() async throws -> Genuine {
        var layers: [LayerIndex] = []
        var entries: [[TarEntry]] = []
        var descriptors: [Descriptor] = []
        for gzip in [true, false] {
            let fixture = try SpanReaderTests.makeLayer(gzip: gzip)
            let source = MemoryBlobSource(blobs: [fixture.descriptor.digest: fixture.blob])
            let (layer, layerEntries) = try await LayerIndexer(span: SpanReaderTests.span).index(
                fixture.descriptor, from: source)
            layers.append(layer)
            entries.append(layerEntries)
            descriptors.append(fixture.descriptor)
        }
        let config = Descriptor(
            mediaType: "application/vnd.oci.image.config.v1+json", digest: Digest.sha256(Array("{}".utf8)), size: 2)
        let manifest = ImageManifest(
            schemaVersion: 2, mediaType: MediaType.ociManifest, config: config, layers: descriptors)
        let manifestDigest = Digest.sha256(try RegistryClient.canonicalJSON(manifest))
        let reference = try Reference.parse("registry.example.test/team/app@\(manifestDigest)")
        let image = ResolvedImage(
            reference: reference, manifestDigest: manifestDigest, manifest: manifest, platform: .host,
            config: Array("{}".utf8))
        let index = ImageIndex(
            version: ImageIndex.currentVersion, reference: reference.description, manifestDigest: manifestDigest,
            configDigest: config.digest, platform: "linux/amd64", span: SpanReaderTests.span, layers: layers,
            tree: LayerMerge.merge(entries))
        return Genuine(index: index, image: image)
    }

    @Test func aGenuineIndexAndItsPublishedFormPass() async throws {
        let genuine = try await Self.genuine()
        try genuine.index.check(against: genuine.image, source: "built")
        let published = try IndexReferrer.publication(of: genuine.index).index
        try published.check(against: genuine.image, source: "published")
    }

    /// Each forgery, and a word its refusal must name.
    static let forgeries: [(String, String, @Sendable (inout ImageIndex) -> Void)] = [
        ("a traversal in a layer digest", "not sha256", { $0.layers[0].digest = "sha256:../../../../tmp/victim" }),
        ("a malformed digest", "not sha256", { $0.layers[1].digest = "sha256:ABC" }),
        (
            "another image's layer", "manifest's",
            { $0.layers[0].digest = "sha256:" + String(repeating: "c", count: 64) }
        ),
        ("the layers in another order", "manifest's", { $0.layers.swapAt(0, 1) }),
        ("a layer left out", "lists 1 layers", { $0.layers.removeLast() }),
        ("another size", "bytes", { $0.layers[0].compressedSize += 1 }),
        ("another media type", "media type", { $0.layers[0].mediaType = "application/vnd.oci.image.layer.v1.tar" }),
        (
            "another manifest", "made for manifest",
            { $0.manifestDigest = "sha256:" + String(repeating: "d", count: 64) }
        ),
        ("another config", "config", { $0.configDigest = "sha256:" + String(repeating: "e", count: 64) }),
        ("a gap between spans", "does not follow", { $0.layers[1].spans[1].uncompressedOffset += 1 }),
        ("spans swapped", "does not follow", { $0.layers[0].spans.swapAt(1, 2) }),
        (
            "a span past the layer", "does not follow",
            {
                let last = $0.layers[1].spans.count - 1
                $0.layers[1].spans[last].length += 1
            }
        ),
        ("spans that stop short", "spans end at", { $0.layers[1].spans.removeLast() }),
        ("a huge span", "does not follow", { $0.layers[1].spans[0].length = 1 << 40 }),
        ("a span digest that is not hex", "sha256 of 64", { $0.layers[0].spans[0].sha256 = "../x" }),
        (
            "a checkpoint outside the layer", "checkpoint",
            {
                let size = $0.layers[0].compressedSize
                $0.layers[0].spans[1].checkpoint?.compressedOffset = size + 10
            }
        ),
        ("a checkpoint with 9 bits", "checkpoint", { $0.layers[0].spans[1].checkpoint?.bits = 9 }),
        ("a gzip span without a checkpoint", "no checkpoint", { $0.layers[0].spans[1].checkpoint = nil }),
        (
            "a checkpoint in a plain layer", "outside gzip",
            {
                $0.layers[1].spans[0].checkpoint = LayerIndex.Checkpoint(compressedOffset: 0, bits: 0, window: nil)
            }
        ),
        (
            "an oversized window", "window",
            {
                $0.layers[0].spans[1].checkpoint?.window = Data(repeating: 0, count: 40_000)
            }
        ),
        (
            "a window outside any windows blob", "windows blob",
            {
                $0.layers[0].spans[1].checkpoint?.windowAt = LayerIndex.WindowLocation(offset: 0, length: 10)
            }
        ),
        ("a traversal in the windows blob", "windows blob", { $0.layers[0].windowsBlob = "../../blobs" }),
        ("a tree path that climbs out", "clean path", { $0.tree[0].entry.path = "../../etc/shadow" }),
        ("an absolute tree path", "clean path", { $0.tree[0].entry.path = "/etc/shadow" }),
        ("an unsorted tree", "not sorted", { $0.tree.swapAt(0, $0.tree.count - 1) }),
        ("an entry in a layer that is not there", "names layer", { $0.tree[0].layer = 7 }),
        (
            "file bytes past the layer", "outside its layer",
            {
                let last = $0.tree.lastIndex { $0.entry.kind == .file }!
                let size = $0.layers[$0.tree[last].layer].uncompressedSize
                $0.tree[last].entry.offset = size
                $0.tree[last].entry.size = 1
            }
        ),
        (
            "a negative size", "outside its layer",
            {
                let last = $0.tree.lastIndex { $0.entry.kind == .file }!
                $0.tree[last].entry.size = -5
            }
        ),
        (
            "a hard link out of the image", "hard link",
            {
                $0.tree[0].entry.kind = .hardlink
                $0.tree[0].entry.size = 0
                $0.tree[0].entry.linkName = "../../etc/passwd"
            }
        ),
        ("a version from the future", "version", { $0.version = 99 }),
    ]

    @Test(arguments: forgeries.indices) func aForgedIndexIsRefusedSayingWhy(_ number: Int) async throws {
        let (name, word, forge) = Self.forgeries[number]
        let genuine = try await Self.genuine()
        var forged = genuine.index
        forge(&forged)
        #expect(forged != genuine.index, "\(name): the forgery changed nothing")
        let error = #expect(throws: LazyMountError.self, "\(name)") {
            try forged.check(against: genuine.image, source: "the pushed index")
        }
        guard case .index(let path, let reason)? = error else {
            Issue.record("\(name): expected an index error, got \(String(describing: error))")
            return
        }
        #expect(path == "the pushed index")
        #expect(reason.hasPrefix("refused: ") && reason.contains(word), "\(name): \(reason)")
    }

    @Test func aManifestWhoseDigestsAreNotDigestsIsRefusedToo() async throws {
        let genuine = try await Self.genuine()
        var image = genuine.image
        var index = genuine.index
        image.manifest.layers[0].digest = "sha256:../../x"
        index.layers[0].digest = "sha256:../../x"
        #expect(throws: LazyMountError.self) { try index.check(against: image, source: "x") }
    }

    @Test func aMessageQuotesHostileTextWithoutControlCharacters() {
        let quoted = ImageIndex.quoted("\u{1B}[31mred\u{7}" + String(repeating: "x", count: 300))
        #expect(!quoted.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7f })
        #expect(quoted.count < 130)
    }

    @Test func aProfileIsHeldToItsIndex() async throws {
        let genuine = try await Self.genuine()
        let index = genuine.index
        let layer = index.layers[0].digest
        let good = StartupProfile(
            manifestDigest: index.manifestDigest, span: index.span,
            spans: [.init(layer: layer, span: 0), .init(layer: layer, span: 1)], files: [index.tree[0].entry.path])
        try good.check(against: index, source: "profile")
        let forgeries: [(String, StartupProfile)] = [
            (
                "another layer",
                StartupProfile(
                    manifestDigest: index.manifestDigest, span: index.span,
                    spans: [.init(layer: "sha256:" + String(repeating: "f", count: 64), span: 0)], files: [])
            ),
            (
                "a span past the layer",
                StartupProfile(
                    manifestDigest: index.manifestDigest, span: index.span,
                    spans: [.init(layer: layer, span: index.layers[0].spans.count)], files: [])
            ),
            (
                "a negative span",
                StartupProfile(
                    manifestDigest: index.manifestDigest, span: index.span, spans: [.init(layer: layer, span: -1)],
                    files: [])
            ),
            (
                "a span twice",
                StartupProfile(
                    manifestDigest: index.manifestDigest, span: index.span,
                    spans: [.init(layer: layer, span: 0), .init(layer: layer, span: 0)], files: [])
            ),
            (
                "a file outside",
                StartupProfile(
                    manifestDigest: index.manifestDigest, span: index.span, spans: [], files: ["../../etc/passwd"])
            ),
            (
                "another image",
                StartupProfile(
                    manifestDigest: "sha256:" + String(repeating: "1", count: 64), span: index.span, spans: [],
                    files: [])
            ),
        ]
        for (name, profile) in forgeries {
            #expect(throws: LazyMountError.self, "\(name)") { try profile.check(against: index, source: "profile") }
        }
    }
}
