import Crypto
import Foundation
import Registry
import Synchronization
import TestSupport
import Testing

@testable import LazyMount

/// zstd layers, compressed by the real `zstd` tool: indexed as they stream in, read back only whole — one fetch,
/// checked against the layer digest and every span's sha256 — in one frame, several, and with skippable frames.
@Suite struct ZstdLayerTests {
    static let span: Int64 = 64 * 1024
    static let mediaType = "application/vnd.oci.image.layer.v1.tar+zstd"

    /// The tar of `SpanReaderTests.makeLayer` (random and text files, an empty one), as a zstd layer.
    struct Fixture {
        var tar: SpanReaderTests.Fixture
        var blob: [UInt8]
        var descriptor: Descriptor
    }

    /// `zstd -c`: one frame per call, with the content checksum the tool writes by default.
    static func zstd(_ bytes: ArraySlice<UInt8>, level: Int = 3) throws -> [UInt8] {
        try FixtureError.requirePrograms(["zstd": "zstd"])
        let result = try ProcessRunner.run("zstd", ["-c", "-q", "-\(level)"], stdin: Data(bytes))
        try #require(result.status == 0, "zstd: \(result)")
        return [UInt8](result.stdout)
    }

    /// A skippable frame (RFC 8878 §3.1.2: magic 0x184D2A5?, 4-byte little-endian size, user data) — what
    /// zstd:chunked uses to carry its table of contents.
    static func skippableFrame(_ payload: [UInt8]) -> [UInt8] {
        let size = UInt32(payload.count)
        return [0x5a, 0x2a, 0x4d, 0x18] + (0..<4).map { UInt8(truncatingIfNeeded: size >> ($0 * 8)) } + payload
    }

    /// The tar cut at arbitrary (not entry-aligned) points into `frames` frames, each compressed on its own and
    /// concatenated; with `skippable`, a skippable frame goes before the first, between the others and at the end.
    static func makeLayer(frames: Int = 1, skippable: Bool = false) throws -> Fixture {
        let tar = try SpanReaderTests.makeLayer(gzip: false)
        let bytes = tar.blob
        var blob: [UInt8] = []
        if skippable { blob += skippableFrame(Array("toc".utf8)) }
        let cut = bytes.count / frames
        for frame in 0..<frames {
            let start = frame == 0 ? 0 : frame * cut + 777
            let end = frame == frames - 1 ? bytes.count : (frame + 1) * cut + 777
            blob += try zstd(bytes[start..<end], level: frame % 2 == 0 ? 3 : 19)
            if skippable { blob += skippableFrame([UInt8](repeating: UInt8(frame), count: 100 + frame)) }
        }
        return Fixture(
            tar: tar, blob: blob,
            descriptor: Descriptor(mediaType: mediaType, digest: Digest.sha256(blob), size: Int64(blob.count)))
    }

    static func indexed(_ descriptor: Descriptor, _ blob: [UInt8]) async throws
        -> (index: LayerIndex, entries: [TarEntry])
    {
        try await LayerIndexer(span: span).index(descriptor, from: MemoryBlobSource(blobs: [descriptor.digest: blob]))
    }

    static func index(_ descriptor: Descriptor, _ blob: [UInt8]) async throws -> LayerIndex {
        try await indexed(descriptor, blob).index
    }

    /// Counts the compressed bytes a reader asks for, to show a zstd layer is fetched once per `fetchSpans`.
    final class CountingSource: BlobSource {
        let inner: MemoryBlobSource
        let fetched = Mutex<Int64>(0)

        init(_ inner: MemoryBlobSource) { self.inner = inner }

        func read(_ digest: String, range: Range<Int64>) async throws(LazyMountError) -> [UInt8] {
            fetched.withLock { $0 += Int64(range.count) }
            return try await inner.read(digest, range: range)
        }
    }

    @Test(arguments: [(1, false), (3, false), (4, true)])
    func aZstdLayerIndexesLikeTheSameTarUncompressed(frames: Int, skippable: Bool) async throws {
        let fixture = try Self.makeLayer(frames: frames, skippable: skippable)
        let (zstd, zstdEntries) = try await Self.indexed(fixture.descriptor, fixture.blob)
        let (plain, plainEntries) = try await Self.indexed(fixture.tar.descriptor, fixture.tar.blob)

        #expect(zstd.compression == .zstd)
        #expect(zstd.fetchWholeOnFirstRead)
        #expect(zstd.compressedSize == Int64(fixture.blob.count))
        #expect(zstdEntries == plainEntries)
        #expect(zstdEntries.count == 8)
        #expect(zstd.uncompressedSize == plain.uncompressedSize)
        // Plain fixed spans without checkpoints: the same cut, hence the same digests, as the uncompressed tar.
        #expect(zstd.spans == plain.spans)
        #expect(zstd.spans.count >= 10 && zstd.spans.allSatisfy { $0.checkpoint == nil })
        let encoded = try JSONEncoder().encode(zstd)
        #expect(try JSONDecoder().decode(LayerIndex.self, from: encoded) == zstd)
    }

    @Test(arguments: [1, 3])
    func everyFileReadThroughTheSpanReaderHashesLikeTheOriginal(frames: Int) async throws {
        let fixture = try Self.makeLayer(frames: frames)
        let (layer, entries) = try await Self.indexed(fixture.descriptor, fixture.blob)
        let source = CountingSource(MemoryBlobSource(blobs: [fixture.descriptor.digest: fixture.blob]))
        let reader = LayerReader(layer: layer, source: source)
        var files = 0
        for entry in entries where entry.kind == .file {
            let expected = try #require(fixture.tar.files[entry.path])
            let before = source.fetched.withLock { $0 }
            let bytes = try await reader.read(entry, offset: 0, count: Int(entry.size))
            #expect(SHA256.hexDigest(bytes) == SHA256.hexDigest(expected), "\(entry.path)")
            // A read over many spans costs one download of the blob, not one per span (none for an empty file).
            let fetched = source.fetched.withLock { $0 } - before
            #expect(fetched == (entry.size == 0 ? 0 : Int64(fixture.blob.count)), "\(entry.path)")
            if entry.size > 100_000 {
                let middle = try await reader.read(entry, offset: 70_001, count: 90_000)
                #expect(middle == Array(expected[70_001..<min(expected.count, 160_001)]))
            }
            files += 1
        }
        #expect(files == 7)
        // One span on its own reads back too.
        #expect(try await reader.spanBytes(5) == Array(fixture.tar.blob[Int(5 * Self.span)..<Int(6 * Self.span)]))
    }

    @Test func fetchSpansReturnsEverySpanOfTheLayerVerified() async throws {
        let fixture = try Self.makeLayer(frames: 2)
        let layer = try await Self.index(fixture.descriptor, fixture.blob)
        let source = CountingSource(MemoryBlobSource(blobs: [fixture.descriptor.digest: fixture.blob]))
        let spans = try await SpanReader(layer: layer, source: source).fetchSpans(3)

        #expect(spans.map(\.index) == Array(layer.spans.indices))
        for (index, bytes) in spans {
            #expect(bytes.count == Int(layer.spans[index].length))
            #expect(SHA256.hexDigest(bytes) == layer.spans[index].sha256, "span \(index)")
        }
        #expect(spans.flatMap(\.bytes) == fixture.tar.blob)
        #expect(source.fetched.withLock { $0 } == Int64(fixture.blob.count), "the blob is fetched exactly once")
    }

    @Test func aCorruptedZstdBlobIsAnErrorNeverWrongBytes() async throws {
        let fixture = try Self.makeLayer(frames: 2)
        let layer = try await Self.index(fixture.descriptor, fixture.blob)
        // The registry (or a proxy) serves altered bytes under the layer's digest.
        var corrupted = fixture.blob
        corrupted[corrupted.count / 3] ^= 0x5a
        corrupted[corrupted.count / 3 + 1] ^= 0xa5
        let reader = LayerReader(
            layer: layer, source: MemoryBlobSource(blobs: [fixture.descriptor.digest: corrupted]))
        for attempt in 0..<3 {
            do throws(LazyMountError) {
                let bytes: [UInt8]
                switch attempt {
                case 0: bytes = try await SpanReader(layer: layer, source: reader.source).fetchSpans(0).flatMap(\.bytes)
                case 1: bytes = try await reader.read(offset: 10, count: 100)
                default: bytes = try await reader.spanBytes(7)
                }
                Issue.record("a corrupted blob returned \(bytes.count) bytes")
            } catch {
                switch error {
                case .zstd(.corrupt), .registry(.digestMismatch): break
                default: Issue.record("unexpected error: \(error)")
                }
                #expect(!error.description.isEmpty)
            }
        }

        // Another valid zstd stream under this digest decompresses fine but is caught by the layer digest.
        var other = fixture.tar.blob
        other[1000] ^= 1
        let impostor = try Self.zstd(other[...])
        let impostorReader = SpanReader(
            layer: layer, source: MemoryBlobSource(blobs: [fixture.descriptor.digest: impostor]))
        var wrongSize = layer
        wrongSize.compressedSize = Int64(impostor.count)
        let mismatch = await #expect(throws: LazyMountError.self) {
            _ = try await SpanReader(layer: wrongSize, source: impostorReader.source).fetchSpans(0)
        }
        guard case .registry(.digestMismatch(let what, _, _)) = mismatch else {
            Issue.record("expected a digest mismatch, got \(String(describing: mismatch))")
            return
        }
        #expect(what.contains(fixture.descriptor.digest))

        // Indexing the corrupted blob (its own digest, so only libzstd can tell) fails too.
        let descriptor = Descriptor(
            mediaType: Self.mediaType, digest: Digest.sha256(corrupted), size: Int64(corrupted.count))
        await #expect(throws: LazyMountError.self) { _ = try await Self.index(descriptor, corrupted) }
    }

    @Test func anIndexThatDoesNotMatchTheBlobIsAnError() async throws {
        let fixture = try Self.makeLayer()
        let layer = try await Self.index(fixture.descriptor, fixture.blob)
        let source = MemoryBlobSource(blobs: [fixture.descriptor.digest: fixture.blob])

        var tamperedSpan = layer
        tamperedSpan.spans[4].sha256 = String(repeating: "0", count: 64)
        await #expect(throws: LazyMountError.spanDigestMismatch(layer: layer.digest, span: 4)) {
            _ = try await SpanReader(layer: tamperedSpan, source: source).fetchSpans(0)
        }

        var shorter = layer
        shorter.spans.removeLast()
        shorter.uncompressedSize = shorter.spans.last.map { $0.uncompressedOffset + $0.length } ?? 0
        let error = await #expect(throws: LazyMountError.self) {
            _ = try await SpanReader(layer: shorter, source: source).fetchSpans(0)
        }
        guard case .uncompressedSizeMismatch(_, let expected, let actual) = error else {
            Issue.record("expected a size mismatch, got \(String(describing: error))")
            return
        }
        #expect(expected == shorter.uncompressedSize && actual > expected)
    }

    @Test func aTruncatedZstdStreamIsAnError() async throws {
        let fixture = try Self.makeLayer(frames: 1)
        // Cut inside the last block (the frame's checksum and some data gone).
        var cut = fixture.blob
        cut.removeLast(100)
        let descriptor = Descriptor(mediaType: Self.mediaType, digest: Digest.sha256(cut), size: Int64(cut.count))
        await #expect(throws: LazyMountError.zstd(.truncated)) { _ = try await Self.index(descriptor, cut) }
        #expect(LazyMountError.zstd(.truncated).description.contains("truncated"))

        // No frame at all.
        let empty = Descriptor(mediaType: Self.mediaType, digest: Digest.sha256([]), size: 0)
        await #expect(throws: LazyMountError.zstd(.truncated)) { _ = try await Self.index(empty, []) }

        // A whole frame missing: valid zstd, but the tar inside ends mid-entry.
        let frames = try Self.makeLayer(frames: 3)
        let lastFrame = try Self.zstd(
            frames.tar.blob[(2 * (frames.tar.blob.count / 3) + 777)...], level: 3)
        let withoutLast = Array(frames.blob.dropLast(lastFrame.count))
        let short = Descriptor(
            mediaType: Self.mediaType, digest: Digest.sha256(withoutLast), size: Int64(withoutLast.count))
        let error = await #expect(throws: LazyMountError.self) { _ = try await Self.index(short, withoutLast) }
        guard case .tar = error else {
            Issue.record("expected a truncated tar, got \(String(describing: error))")
            return
        }

        // Reading a layer whose blob now ends early (the registry serves fewer bytes): an error, not a short read.
        let layer = try await Self.index(fixture.descriptor, fixture.blob)
        let reader = LayerReader(layer: layer, source: MemoryBlobSource(blobs: [fixture.descriptor.digest: cut]))
        await #expect(throws: LazyMountError.self) { _ = try await reader.read(offset: 0, count: 10) }
        var claimsShorter = layer
        claimsShorter.compressedSize = Int64(cut.count)
        await #expect(throws: LazyMountError.zstd(.truncated)) {
            _ = try await SpanReader(layer: claimsShorter, source: reader.source).fetchSpans(0)
        }
    }
}
