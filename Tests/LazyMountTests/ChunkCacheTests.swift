import Crypto
import Foundation
import Registry
import Synchronization
import TestSupport
import Testing

@testable import LazyMount

/// The chunk cache's promises: one download per span however many readers ask at once, spans kept on disk for
/// the next mount, and a span on disk that no longer hashes right is fetched again rather than served.
struct ChunkCacheTests {
    final class Count: Sendable {
        private let value = Mutex(0)
        func add() { value.withLock { $0 += 1 } }
        var current: Int { value.withLock { $0 } }
    }

    static func layer(spans: [[UInt8]]) -> LayerIndex {
        var offset: Int64 = 0
        var records: [LayerIndex.Span] = []
        for bytes in spans {
            records.append(
                LayerIndex.Span(
                    uncompressedOffset: offset, length: Int64(bytes.count), sha256: SHA256.hexDigest(bytes),
                    checkpoint: nil))
            offset += Int64(bytes.count)
        }
        return LayerIndex(
            digest: "sha256:" + String(repeating: "ab", count: 32), mediaType: "application/vnd.oci.image.layer.v1.tar",
            compression: .none, compressedSize: offset, uncompressedSize: offset, fetchWholeOnFirstRead: false,
            spans: records)
    }

    @Test func eightConcurrentReadersOfAColdSpanCauseOneFetch() async throws {
        let bytes = (0..<3).map { index in [UInt8](repeating: UInt8(index + 1), count: 4096) }
        let layer = Self.layer(spans: bytes)
        let cache = ChunkCache(directory: nil)
        let fetches = Count()
        let results = try await withThrowingTaskGroup(of: [UInt8].self) { group in
            for _ in 0..<8 {
                group.addTask {
                    try await cache.span(ChunkCache.Key(layer: 0, span: 1), layer: layer) {
                        () async throws(LazyMountError) -> [(index: Int, bytes: [UInt8])] in
                        fetches.add()
                        try? await Task.sleep(for: .milliseconds(200))  // slow enough that all eight wait on it
                        return [(1, bytes[1])]
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(fetches.current == 1)
        #expect(results.count == 8 && results.allSatisfy { $0 == bytes[1] })
        #expect(cache.statistics.fetches == 1 && cache.statistics.bytes == 4096)
    }

    /// A run fetched ahead: spans already here are left out, the first missing stretch comes in one fetch, a
    /// reader of any span in it waits for that fetch rather than starting its own, and a stretch on its way is
    /// not asked for twice. A failed run reaches its readers and is not remembered: the next reader fetches.
    @Test func aRunFetchedAheadIsOneFetchThatItsReadersWaitFor() async throws {
        let bytes = (0..<10).map { index in [UInt8](repeating: UInt8(index + 1), count: 4096) }
        let layer = Self.layer(spans: bytes)
        let cache = ChunkCache(directory: nil)
        _ = try await cache.span(ChunkCache.Key(layer: 0, span: 2), layer: layer) {
            () async throws(LazyMountError) -> [(index: Int, bytes: [UInt8])] in [(2, bytes[2])]
        }
        let asked = Mutex<[Range<Int>]>([])
        let stretch = cache.fetchAhead(2..<6, layer: 0, index: layer) {
            (run) async throws(LazyMountError) -> [(index: Int, bytes: [UInt8])] in
            asked.withLock { $0.append(run) }
            try? await Task.sleep(for: .milliseconds(200))
            return run.map { ($0, bytes[$0]) }
        }
        #expect(stretch == 3..<6)
        #expect(cache.isCachedOrComing(ChunkCache.Key(layer: 0, span: 4), layer: layer))
        #expect(cache.fetchAhead(3..<6, layer: 0, index: layer) { _ async throws(LazyMountError) in [] } == 0..<0)
        let singles = Count()
        for span in 3..<6 {
            let read = try await cache.span(ChunkCache.Key(layer: 0, span: span), layer: layer) {
                () async throws(LazyMountError) -> [(index: Int, bytes: [UInt8])] in
                singles.add()
                return [(span, bytes[span])]
            }
            #expect(read == bytes[span])
        }
        #expect(singles.current == 0)
        #expect(asked.withLock { $0 } == [3..<6])
        #expect(cache.statistics.fetches == 2)

        let failed = cache.fetchAhead(7..<9, layer: 0, index: layer) {
            (_) async throws(LazyMountError) -> [(index: Int, bytes: [UInt8])] in
            // Still on its way when the reader below asks (as the run above): it is the run's error it must get.
            try? await Task.sleep(for: .milliseconds(200))
            throw .fetchTimedOut(layer: layer.digest, seconds: 1)
        }
        #expect(failed == 7..<9)
        await #expect(throws: LazyMountError.self) {
            _ = try await cache.span(ChunkCache.Key(layer: 0, span: 8), layer: layer) {
                () async throws(LazyMountError) -> [(index: Int, bytes: [UInt8])] in [(8, bytes[8])]
            }
        }
        let again = try await cache.span(ChunkCache.Key(layer: 0, span: 8), layer: layer) {
            () async throws(LazyMountError) -> [(index: Int, bytes: [UInt8])] in [(8, bytes[8])]
        }
        #expect(again == bytes[8])
    }

    @Test func spansOutliveTheProcessOnDiskAndATamperedOneIsFetchedAgain() async throws {
        let directory = try TemporaryDirectory(prefix: "ocicred-chunks")
        defer { directory.remove() }
        let bytes = (0..<2).map { index in [UInt8](repeating: UInt8(index + 7), count: 8192) }
        let layer = Self.layer(spans: bytes)
        let fetches = Count()
        let fetch: @Sendable () async throws(LazyMountError) -> [(index: Int, bytes: [UInt8])] = {
            fetches.add()
            return [(0, bytes[0]), (1, bytes[1])]  // as a zstd layer does: every span at once
        }
        let first = ChunkCache(directory: directory.path)
        #expect(try await first.span(ChunkCache.Key(layer: 0, span: 0), layer: layer, fetch: fetch) == bytes[0])
        // Both spans reach the disk in one file (in the background, off the reader's path).
        let spanFile = directory.path + "/" + layer.digest + "/0+2"
        try Self.waitFor(spanFile, toHold: bytes[0] + bytes[1])
        let attributes = try FileManager.default.attributesOfItem(atPath: spanFile)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)

        // A new cache (the next mount) serves span 1 from disk without fetching.
        let second = ChunkCache(directory: directory.path)
        #expect(second.isCached(ChunkCache.Key(layer: 0, span: 1), layer: layer))
        #expect(try await second.span(ChunkCache.Key(layer: 0, span: 1), layer: layer, fetch: fetch) == bytes[1])
        #expect(fetches.current == 1)

        // Span 1 altered on disk: not served, fetched again, and the good bytes come back.
        var altered = bytes[0] + bytes[1]
        altered[8192 + 100] ^= 0xFF
        try Data(altered).write(to: URL(fileURLWithPath: spanFile))
        let third = ChunkCache(directory: directory.path)
        #expect(try await third.span(ChunkCache.Key(layer: 0, span: 1), layer: layer, fetch: fetch) == bytes[1])
        #expect(fetches.current == 2)
        // The good bytes replace the altered ones on disk, in the background: wait for them, so nothing is
        // written into the directory after the test removes it.
        try Self.waitFor(spanFile, toHold: bytes[0] + bytes[1])
    }

    /// A sequential reader's run is one file, not one per span (a file per span was a fifth of the mount's CPU in
    /// helpers/bench-mount); what earlier versions wrote, a file per span, is still served; a file whose name
    /// promises more than it holds, or other bytes, is never served: it is removed and its spans fetched again.
    @Test func aRunIsOneFileAnEarlierVersionsSpanFileIsReadAndAFileThatLiesIsFetchedAgain() async throws {
        let directory = try TemporaryDirectory(prefix: "ocicred-chunks")
        defer { directory.remove() }
        let bytes = (0..<10).map { index in (0..<5000).map { UInt8(truncatingIfNeeded: $0 * (index + 3)) } }
        let layer = Self.layer(spans: bytes)
        let layerDirectory = directory.path + "/" + layer.digest
        let fetches = Count()
        let writer = ChunkCache(directory: directory.path)
        let started = writer.fetchAhead(2..<6, layer: 0, index: layer) {
            (run) async throws(LazyMountError) -> [(index: Int, bytes: [UInt8])] in
            fetches.add()
            return run.map { ($0, bytes[$0]) }
        }
        #expect(started == 2..<6)
        #expect(
            try await writer.span(ChunkCache.Key(layer: 0, span: 5), layer: layer, fetch: Self.unexpected) == bytes[5])
        try Self.waitFor(layerDirectory + "/2+4", toHold: Array(bytes[2..<6].joined()))
        #expect(try FileManager.default.contentsOfDirectory(atPath: layerDirectory) == ["2+4"])

        // An earlier version's file per span, and two files that lie: one too short for its name, one whose
        // second span is another's bytes.
        try Data(bytes[7]).write(to: URL(fileURLWithPath: layerDirectory + "/7"))
        try Data(bytes[0]).write(to: URL(fileURLWithPath: layerDirectory + "/0+2"))
        try Data(bytes[8] + bytes[8]).write(to: URL(fileURLWithPath: layerDirectory + "/8+2"))
        let reader = ChunkCache(directory: directory.path)
        // Each file's first span holds its own bytes and is served; the span after it is not.
        for span in [3, 4, 7, 0, 8] {
            let key = ChunkCache.Key(layer: 0, span: span)
            #expect(reader.isCached(key, layer: layer), "span \(span)")
            #expect(try await reader.span(key, layer: layer, fetch: Self.unexpected) == bytes[span], "span \(span)")
        }
        #expect(fetches.current == 1)
        for span in [1, 9] {
            let refetched = try await reader.span(ChunkCache.Key(layer: 0, span: span), layer: layer) {
                () async throws(LazyMountError) -> [(index: Int, bytes: [UInt8])] in
                fetches.add()
                return [(span, bytes[span])]
            }
            #expect(refetched == bytes[span], "span \(span)")
        }
        #expect(fetches.current == 3)
        #expect(!FileManager.default.fileExists(atPath: layerDirectory + "/0+2"))
        #expect(!FileManager.default.fileExists(atPath: layerDirectory + "/8+2"))
        try Self.waitFor(layerDirectory + "/1", toHold: bytes[1])
        try Self.waitFor(layerDirectory + "/9", toHold: bytes[9])
    }

    /// For spans that must come from memory or disk: a fetch is a failure.
    static let unexpected: @Sendable () async throws(LazyMountError) -> [(index: Int, bytes: [UInt8])] = {
        () async throws(LazyMountError) -> [(index: Int, bytes: [UInt8])] in
        throw .outOfRange("fetched a span that should have come from disk")
    }

    /// Waits (up to 10 s) until the background writer has left exactly `bytes` at `path`.
    static func waitFor(_ path: String, toHold bytes: [UInt8]) throws {
        let deadline = Date() + 10
        while (try? Data(contentsOf: URL(fileURLWithPath: path))) != Data(bytes) && Date() < deadline {
            usleep(20_000)
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data(bytes), "\(path)")
    }

    @Test func aFailedFetchIsNotCachedAndTheNextReaderTriesAgain() async throws {
        let bytes = [[UInt8](repeating: 9, count: 1024)]
        let layer = Self.layer(spans: bytes)
        let cache = ChunkCache(directory: nil)
        await #expect(throws: LazyMountError.registry(.blobFetch(digest: layer.digest, status: 503))) {
            try await cache.span(ChunkCache.Key(layer: 0, span: 0), layer: layer) {
                () async throws(LazyMountError) -> [(index: Int, bytes: [UInt8])] in
                throw .registry(.blobFetch(digest: layer.digest, status: 503))
            }
        }
        let again = try await cache.span(ChunkCache.Key(layer: 0, span: 0), layer: layer) {
            () async throws(LazyMountError) -> [(index: Int, bytes: [UInt8])] in [(0, bytes[0])]
        }
        #expect(again == bytes[0])
    }
}
