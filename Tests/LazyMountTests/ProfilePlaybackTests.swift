import Foundation
import Logging
import Registry
import Synchronization
import Testing

@testable import LazyMount

/// What a read waits for: a profile's ranges are all asked for when the mount starts (in its order, a few on the
/// wire at a time), a reader needing one still in line joins its fetch and starts it at once, and the cold spans
/// of one read are requested side by side. The source holds every ranged read until the test lets it go, so
/// what is on the wire at a given moment is seen, not guessed from timings.
@Suite struct ProfilePlaybackTests {
    /// Small enough for the fixture layer to hold more than a dozen spans.
    static let span: Int64 = 32 * 1024

    /// A registry whose answers wait for the test: each ranged read is recorded when it starts and held.
    final class HeldSource: BlobSource {
        private struct State {
            var started: [Range<Int64>] = []
            var held: [CheckedContinuation<Void, Never>] = []
            var open = false
        }
        let inner: MemoryBlobSource
        private let state = Mutex(State())

        init(_ inner: MemoryBlobSource) { self.inner = inner }

        func read(_ digest: String, range: Range<Int64>) async throws(LazyMountError) -> [UInt8] {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let go = state.withLock { state in
                    state.started.append(range)
                    if !state.open { state.held.append(continuation) }
                    return state.open
                }
                if go { continuation.resume() }
            }
            return try await inner.read(digest, range: range)
        }

        var started: [Range<Int64>] { state.withLock { $0.started } }

        /// Answers every held read; `open`: later reads are answered at once.
        func release(open: Bool) {
            let held = state.withLock { state in
                state.open = open
                defer { state.held = [] }
                return state.held
            }
            for continuation in held { continuation.resume() }
        }

        /// The reads started once there are at least `count` (or after 20 s, however many there are).
        func started(atLeast count: Int) async -> [Range<Int64>] {
            let giveUp = ContinuousClock.now + .seconds(20)
            while started.count < count && ContinuousClock.now < giveUp { try? await Task.sleep(for: .milliseconds(5)) }
            return started
        }
    }

    struct Mount {
        var filesystem: LazyFilesystem
        var source: HeldSource
        var layer: LayerIndex
        var uncompressed: [UInt8]

        /// Where span `span`'s ranged read starts: its checkpoint (less the byte holding its first bits).
        func start(of span: Int) -> Int64 {
            let checkpoint = layer.spans[span].checkpoint!
            return checkpoint.compressedOffset - (checkpoint.bits > 0 ? 1 : 0)
        }

        func bytes(of range: Range<Int64>) -> [UInt8] {
            Array(uncompressed[Int(range.lowerBound)..<Int(range.upperBound)])
        }
    }

    static func mount() async throws -> Mount {
        let fixture = try SpanReaderTests.makeLayer(gzip: true, members: 1)
        let memory = MemoryBlobSource(blobs: [fixture.descriptor.digest: fixture.blob])
        let (layer, entries) = try await LayerIndexer(span: Self.span).index(
            fixture.descriptor, from: memory)
        try #require(layer.spans.count >= 12, "\(layer.spans.count) spans")
        try #require(layer.spans.allSatisfy { $0.checkpoint?.window != nil }, "windows kept in the index")
        let index = LazyFilesystemReadTests.image(of: layer, entries, span: Self.span)
        let source = HeldSource(memory)
        let filesystem = LazyFilesystem(
            index: index, source: source, cache: ChunkCache(directory: nil, memorySpans: 64),
            fetchTimeout: .seconds(60), logger: Logger(label: "test"))
        let uncompressed = try ZStream.inflateWhole(fixture.blob, .gzip, limit: Int(layer.uncompressedSize))
        return Mount(filesystem: filesystem, source: source, layer: layer, uncompressed: uncompressed)
    }

    @Test func aProfileIsAskedForAtOnceInItsOrderAndAReaderJoinsTheFetchStillInLine() async throws {
        let mount = try await Self.mount()
        let digest = mount.layer.digest
        // Five runs: four single spans, then 8...11 (consecutive, so one request).
        let listed = [0, 2, 4, 6, 8, 9, 10, 11]
        let profile = StartupProfile(
            manifestDigest: mount.filesystem.index.manifestDigest, span: Self.span,
            spans: listed.map { StartupProfile.Span(layer: digest, span: $0) }, files: [])
        let playback = Task { await mount.filesystem.playBack(profile) }

        // The first runs in the profile's order are on the wire, as many as the window allows.
        let first = await mount.source.started(atLeast: LazyFilesystem.profileWindow)
        try #require(first.count == LazyFilesystem.profileWindow, "\(first)")
        #expect(Set(first.map(\.lowerBound)) == Set([0, 2, 4, 6].map(mount.start(of:))), "\(first)")

        // The container reads span 9 while its run waits its turn: that run goes out now, whole, and the read
        // waits for it rather than asking for span 9 on its own.
        let span9 = mount.layer.spans[9]
        let wanted = (span9.uncompressedOffset + 10)..<(span9.uncompressedOffset + 1000)
        let read = Task { try await mount.filesystem.readers[0].read(range: wanted) }
        let joined = await mount.source.started(atLeast: LazyFilesystem.profileWindow + 1)
        try #require(joined.count == LazyFilesystem.profileWindow + 1, "\(joined)")
        #expect(joined.last?.lowerBound == mount.start(of: 8), "\(joined)")
        #expect(joined.last?.upperBound == mount.layer.spans[12].checkpoint?.compressedOffset, "\(joined)")

        mount.source.release(open: true)
        #expect(try await read.value == mount.bytes(of: wanted))
        #expect(await playback.value == listed.count)
        // One request per run, none twice.
        #expect(mount.source.started.count == 5, "\(mount.source.started)")
    }

    /// Consecutive spans the profile lists apart are one run, placed where the first of them is needed: a span
    /// fetched alone while the one before it is still on the wire costs a stored window (helpers/bench-run: the
    /// start with a profile read more windows than the start without one).
    @Test func consecutiveSpansListedApartAreOneRunWhereTheFirstOfThemIsNeeded() async throws {
        let mount = try await Self.mount()
        let listed = [9, 5, 3, 4, 11, 6, 3]
        let profile = StartupProfile(
            manifestDigest: mount.filesystem.index.manifestDigest, span: Self.span,
            spans: listed.map { StartupProfile.Span(layer: mount.layer.digest, span: $0) }, files: [])
        let (runs, wanted) = mount.filesystem.playbackRuns(profile)
        #expect(runs.map(\.spans) == [9..<10, 3..<7, 11..<12])
        #expect(wanted.map(\.span) == listed)

        mount.source.release(open: true)
        #expect(await mount.filesystem.playBack(profile) == listed.count)
        #expect(mount.source.started.count == 3, "one request per run: \(mount.source.started)")
        #expect(LazyFilesystem.stretches([1, 2, 3, 4, 5, 7], longest: 2) == [1..<3, 3..<5, 5..<6, 7..<8])
        #expect(LazyFilesystem.stretches([1, 2, 3, 7], longest: .max) == [1..<8])
    }

    @Test func theColdStretchesOfOneReadAreRequestedSideBySide() async throws {
        let mount = try await Self.mount()
        let reader = mount.filesystem.readers[0]
        // Span 4 is here already (a page fault elsewhere brought it).
        mount.source.release(open: true)
        _ = try await reader.spanBytes(4)
        mount.source.release(open: false)
        try #require(mount.source.started.count == 1)

        // A read over spans 2...6: 2-3 and 5-6 are cold, and both are asked for before either arrives.
        let spans = mount.layer.spans
        let wanted = (spans[2].uncompressedOffset + 100)..<(spans[6].uncompressedOffset + 100)
        let read = Task { try await reader.read(range: wanted) }
        let started = await mount.source.started(atLeast: 3)
        try #require(started.count == 3, "\(started)")
        #expect(Set(started.dropFirst().map(\.lowerBound)) == [mount.start(of: 2), mount.start(of: 5)], "\(started)")

        mount.source.release(open: true)
        #expect(try await read.value == mount.bytes(of: wanted))
        #expect(mount.source.started.count == 3, "\(mount.source.started)")
    }
}
