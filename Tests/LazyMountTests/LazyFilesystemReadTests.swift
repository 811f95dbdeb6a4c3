import Foundation
import Logging
import Registry
import Synchronization
import Testing

@testable import LazyMount

/// The one read path (what a FUSE read calls), on a gzip layer built and indexed here, with a source
/// that counts the ranged reads a registry would answer.
@Suite struct LazyFilesystemReadTests {
    /// Counts the ranged reads a registry would answer: single ranges, and the calls asking for several ranges
    /// at once (one multi-range request where the registry allows it).
    final class CountingSource: BlobSource {
        let inner: MemoryBlobSource
        let reads = Mutex<[Range<Int64>]>([])
        let batches = Mutex<[[Range<Int64>]]>([])

        init(_ inner: MemoryBlobSource) { self.inner = inner }

        func read(_ digest: String, range: Range<Int64>) async throws(LazyMountError) -> [UInt8] {
            reads.withLock { $0.append(range) }
            return try await inner.read(digest, range: range)
        }

        func read(_ digest: String, ranges: [Range<Int64>]) async throws(LazyMountError) -> [[UInt8]] {
            batches.withLock { $0.append(ranges) }
            var answers: [[UInt8]] = []
            for range in ranges { answers.append(try await inner.read(digest, range: range)) }
            return answers
        }
    }

    /// A gzip layer of at least 8 spans behind a mount's reader, and its uncompressed bytes.
    static func mounted() async throws -> (
        reader: LayerReader, source: CountingSource, layer: LayerIndex, reference: [UInt8]
    ) {
        let fixture = try SpanReaderTests.makeLayer(gzip: true, members: 1)
        let memory = MemoryBlobSource(blobs: [fixture.descriptor.digest: fixture.blob])
        let (layer, entries) = try await LayerIndexer(span: SpanReaderTests.span).index(
            fixture.descriptor, from: memory)
        try #require(layer.spans.count >= 8, "\(layer.spans.count) spans")
        let index = Self.image(of: layer, entries, span: SpanReaderTests.span)
        let source = CountingSource(memory)
        let filesystem = LazyFilesystem(
            index: index, source: source, cache: ChunkCache(directory: nil, memorySpans: 16),
            fetchTimeout: .seconds(20), logger: Logger(label: "test"))
        let reference = try ZStream.inflateWhole(fixture.blob, .gzip, limit: Int(layer.uncompressedSize))
        return (filesystem.readers[0], source, layer, reference)
    }

    @Test func aReadOverSeveralColdSpansIsOneFetch() async throws {
        let (reader, source, layer, reference) = try await Self.mounted()

        // Three cold spans: one ranged read, not three one after another.
        let spans = layer.spans
        let first = spans[2].uncompressedOffset + 100..<spans[4].uncompressedOffset + 100
        let bytes = try await reader.read(range: first)
        #expect(bytes[...] == reference[Int(first.lowerBound)..<Int(first.upperBound)])
        #expect(source.reads.withLock { $0.count } == 1, "\(source.reads.withLock { $0 })")

        // The first span here, the next two cold: those two are one more read, and nothing is fetched twice.
        let second = spans[4].uncompressedOffset + 200..<spans[6].uncompressedOffset + 200
        let more = try await reader.read(range: second)
        #expect(more[...] == reference[Int(second.lowerBound)..<Int(second.upperBound)])
        let reads = source.reads.withLock { $0 }
        #expect(reads.count == 2, "\(reads)")
        // Runs may share the byte holding a checkpoint's first bits, never more.
        #expect(zip(reads, reads.dropFirst()).allSatisfy { $0.upperBound <= $1.lowerBound + 1 }, "\(reads)")
        #expect(source.batches.withLock { $0.isEmpty })
    }

    /// A read whose cold spans are two stretches (a page fault elsewhere brought the span between them) asks
    /// for both in one call: one multi-range request where the registry allows it, not one request each.
    @Test func theColdStretchesOfOneReadAreAskedForInOneCall() async throws {
        let (reader, source, layer, reference) = try await Self.mounted()
        _ = try await reader.spanBytes(4)
        try #require(source.reads.withLock { $0.count } == 1)

        let spans = layer.spans
        let wanted = spans[2].uncompressedOffset + 100..<spans[6].uncompressedOffset + 100
        let bytes = try await reader.read(range: wanted)
        #expect(bytes[...] == reference[Int(wanted.lowerBound)..<Int(wanted.upperBound)])
        let batches = source.batches.withLock { $0 }
        #expect(source.reads.withLock { $0.count } == 1, "\(source.reads.withLock { $0 }), batches \(batches)")
        // Spans 2...3 and 5...6, each from its checkpoint (less the byte holding its first bits).
        let starts = [2, 5].map { (span: Int) -> Int64 in
            let checkpoint = spans[span].checkpoint!
            return checkpoint.compressedOffset - (checkpoint.bits > 0 ? 1 : 0)
        }
        #expect(batches.map { $0.map(\.lowerBound) } == [starts], "\(batches)")
        #expect(batches.first?.first?.upperBound == spans[4].checkpoint?.compressedOffset, "\(batches)")
    }

    /// A one-layer image around `layer`.
    static func image(of layer: LayerIndex, _ entries: [TarEntry], span: Int64) -> ImageIndex {
        ImageIndex(
            version: ImageIndex.currentVersion, reference: "example.test/a:b",
            manifestDigest: "sha256:" + String(repeating: "a", count: 64),
            configDigest: "sha256:" + String(repeating: "b", count: 64), platform: "linux/amd64",
            span: span, layers: [layer], tree: LayerMerge.merge([entries]))
    }
}
