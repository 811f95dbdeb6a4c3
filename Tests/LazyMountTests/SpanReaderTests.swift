import Foundation
import Registry
import TestSupport
import Testing

@testable import LazyMount

/// zran-style resumption on layers built here: a tar of random and compressible files, gzipped by the real
/// `gzip` in several members, indexed with small spans and read back from every checkpoint.
@Suite struct SpanReaderTests {
    static let span: Int64 = 64 * 1024

    struct Fixture {
        var blob: [UInt8]
        var files: [String: [UInt8]]
        var descriptor: Descriptor
    }

    static func makeLayer(gzip: Bool, members: Int = 3) throws -> Fixture {
        var seed: UInt64 = 42
        var tar = TestTar()
        var files: [String: [UInt8]] = [:]
        tar.directory("data/")
        for index in 0..<6 {
            let data =
                index % 2 == 0
                ? TestTar.random(150_000 + index * 7_001, seed: &seed) : TestTar.text(300_000 + index * 3, seed: &seed)
            tar.file("data/f\(index)", data)
            files["data/f\(index)"] = data
        }
        tar.file("data/empty", [])
        files["data/empty"] = []
        tar.finish()
        var blob = tar.bytes
        var mediaType = "application/vnd.oci.image.layer.v1.tar"
        if gzip {
            // Members split at arbitrary (not block- or entry-aligned) points, as concatenating writers do.
            let cut = tar.bytes.count / members
            blob = []
            for member in 0..<members {
                let end = member == members - 1 ? tar.bytes.count : (member + 1) * cut + 333
                let start = member == 0 ? 0 : member * cut + 333
                let result = try ProcessRunner.run("gzip", ["-c", "-6", "-n"], stdin: Data(tar.bytes[start..<end]))
                try #require(result.status == 0, "gzip: \(result)")
                blob += [UInt8](result.stdout)
            }
            mediaType += "+gzip"
        }
        let digest = Digest.sha256(blob)
        return Fixture(
            blob: blob, files: files,
            descriptor: Descriptor(mediaType: mediaType, digest: digest, size: Int64(blob.count)))
    }

    /// `layer` as a pushed index has it: its windows in a blob of their own.
    static func publish(_ layer: LayerIndex) throws -> (index: ImageIndex, indexBlob: [UInt8], windowsBlob: [UInt8]?) {
        try IndexReferrer.publication(
            of: ImageIndex(
                version: ImageIndex.currentVersion, reference: "example.test/a:b",
                manifestDigest: "sha256:" + String(repeating: "a", count: 64),
                configDigest: "sha256:" + String(repeating: "b", count: 64), platform: "linux/amd64", span: span,
                layers: [layer], tree: []))
    }

    /// A byte in the middle of span `index`'s compressed (or, for a plain tar, stored) bytes.
    static func middle(of index: Int, in layer: LayerIndex) -> Int {
        let target = layer.spans[index]
        let from = target.checkpoint?.compressedOffset ?? target.uncompressedOffset
        let to = layer.spans[index + 1].checkpoint?.compressedOffset ?? layer.spans[index + 1].uncompressedOffset
        return Int((from + to) / 2)
    }

    func index(_ fixture: Fixture) async throws -> (LayerIndex, MemoryBlobSource, [TarEntry]) {
        let source = MemoryBlobSource(blobs: [fixture.descriptor.digest: fixture.blob])
        let (layer, entries) = try await LayerIndexer(span: Self.span).index(fixture.descriptor, from: source)
        return (layer, source, entries)
    }

    @Test func gzipCheckpointsResumeAcrossMembersAndEveryFileReadsBack() async throws {
        let fixture = try Self.makeLayer(gzip: true)
        let (layer, source, entries) = try await index(fixture)
        #expect(layer.spans.count >= 10, "spans: \(layer.spans.count)")
        #expect(layer.spans.allSatisfy { $0.checkpoint != nil })
        #expect(layer.spans.contains { ($0.checkpoint?.bits ?? 0) != 0 }, "no mid-byte checkpoint exercised")
        #expect(layer.spans.contains { $0.checkpoint?.window?.count == 32 * 1024 })
        // Spans tile the stream.
        for (previous, next) in zip(layer.spans, layer.spans.dropFirst()) {
            #expect(previous.uncompressedOffset + previous.length == next.uncompressedOffset)
        }
        #expect(layer.spans.last.map { $0.uncompressedOffset + $0.length } == layer.uncompressedSize)

        let reader = LayerReader(layer: layer, source: source)
        for index in layer.spans.indices { _ = try await reader.spanBytes(index) }
        for entry in entries where entry.kind == .file {
            let expected = try #require(fixture.files[entry.path])
            let whole = try await reader.read(entry, offset: 0, count: Int(entry.size))
            #expect(whole == expected, "\(entry.path)")
            if entry.size > 100_000 {
                let middle = try await reader.read(entry, offset: 70_001, count: 90_000)
                #expect(middle == Array(expected[70_001..<min(expected.count, 160_001)]))
            }
        }
    }

    /// A pushed index keeps its windows in a separate blob, read by range when a span is inflated: every file
    /// reads back the same, and an altered window is an error naming the span, never other bytes.
    @Test func windowsReadFromTheWindowsBlobGiveTheSameBytesAndATamperedOneIsAnError() async throws {
        let fixture = try Self.makeLayer(gzip: true)
        let (layer, _, entries) = try await index(fixture)
        let published = try Self.publish(layer)
        let windows = try #require(published.windowsBlob)
        let remote = published.index.layers[0]
        let windowsDigest = try #require(remote.windowsBlob)
        #expect(remote.spans.dropFirst().allSatisfy { $0.checkpoint?.window == nil && $0.checkpoint?.windowAt != nil })

        let source = MemoryBlobSource(blobs: [fixture.descriptor.digest: fixture.blob, windowsDigest: windows])
        let reader = LayerReader(layer: remote, source: source)
        for entry in entries where entry.kind == .file {
            #expect(try await reader.read(entry, offset: 0, count: Int(entry.size)) == fixture.files[entry.path])
        }

        // Each span in turn, with a flipped byte inside its stored window, then pointed at another valid window
        // (32 KiB of zeros). A span that never refers back into its window (random bytes) still reads right;
        // the others fail loudly. Never different bytes.
        let zeros = try ZStream.deflate([UInt8](repeating: 0, count: 32 * 1024), .raw)
        var refused = 0
        for (spanNumber, span) in remote.spans.enumerated() {
            guard let location = span.checkpoint?.windowAt else { continue }
            var flipped = windows
            flipped[Int(location.offset + location.length / 2)] ^= 0x5a
            var pointedElsewhere = remote
            pointedElsewhere.spans[spanNumber].checkpoint?.windowAt = LayerIndex.WindowLocation(
                offset: Int64(windows.count), length: Int64(zeros.count))
            let attacks = [
                SpanReader(
                    layer: remote,
                    source: MemoryBlobSource(blobs: [fixture.descriptor.digest: fixture.blob, windowsDigest: flipped])),
                SpanReader(
                    layer: pointedElsewhere,
                    source: MemoryBlobSource(blobs: [
                        fixture.descriptor.digest: fixture.blob, windowsDigest: windows + zeros,
                    ])),
            ]
            for (attack, tampered) in attacks.enumerated() {
                do {
                    let bytes = try await tampered.spanBytes(spanNumber)
                    #expect(bytes == (try await reader.spanBytes(spanNumber)), "span \(spanNumber), attack \(attack)")
                } catch {
                    if attack == 1 { refused += 1 }
                }
            }
        }
        #expect(refused >= 3, "spans that begin in text refer back into their windows: \(refused)")

        // An index that lost its windows blob is refused when pushed again, not republished without windows.
        #expect(throws: LazyMountError.self) { _ = try IndexReferrer.publication(of: published.index) }
    }

    /// The span before a checkpoint ends with that checkpoint's window, so a reader that has it needs no stored
    /// window: every span inflates from its predecessor with the windows blob gone, to the same bytes. Anything
    /// that is not the whole predecessor is not taken for a window, and a wrong predecessor is an error naming
    /// the span, never other bytes.
    @Test func theSpanBeforeStandsInForTheStoredWindow() async throws {
        let fixture = try Self.makeLayer(gzip: true)
        let (layer, _, _) = try await index(fixture)
        let published = try Self.publish(layer)
        let remote = published.index.layers[0]
        let windowsDigest = try #require(remote.windowsBlob)
        let withWindows = SpanReader(
            layer: remote,
            source: MemoryBlobSource(blobs: [
                fixture.descriptor.digest: fixture.blob, windowsDigest: try #require(published.windowsBlob),
            ]))
        // No windows blob at all: a stored window asked for is an error.
        let withoutWindows = SpanReader(
            layer: remote, source: MemoryBlobSource(blobs: [fixture.descriptor.digest: fixture.blob]))
        var spans: [[UInt8]] = []
        for index in remote.spans.indices { spans.append(try await withWindows.spanBytes(index)) }
        try #require(spans.count >= 10)
        var sawTextSpan = false
        for index in 1..<spans.count {
            #expect(try await withoutWindows.spanBytes(index, preceding: spans[index - 1]) == spans[index])
            await #expect(throws: LazyMountError.self, "span \(index) without its predecessor") {
                _ = try await withoutWindows.spanBytes(index)
            }
            // A part of the predecessor, or another span, is not a window: the stored one is read instead.
            #expect(
                try await withWindows.spanBytes(index, preceding: Array(spans[index - 1].dropFirst())) == spans[index])
            // A predecessor of the right length with other contents: the digest refuses what it inflates to.
            var wrong = spans[index - 1]
            for position in wrong.count - 32 * 1024..<wrong.count { wrong[position] = 0 }
            do throws(LazyMountError) {
                #expect(try await withoutWindows.spanBytes(index, preceding: wrong) == spans[index])
            } catch .spanDigestMismatch(_, let span) {
                sawTextSpan = true
                #expect(span == index)
            } catch .inflate {
                sawTextSpan = true  // a distance too far back into a window of zeros
            } catch {
                Issue.record("span \(index): \(error)")
            }
        }
        #expect(sawTextSpan, "spans that begin in text refer back into their windows")
    }

    /// A span long enough to hold several whole gzip members (concatenating writers make small ones): zlib
    /// checks each later member's trailer itself, so only the first member's, begun raw, is skipped by hand.
    @Test func aSpanHoldingSeveralGzipMembersReadsBack() async throws {
        let fixture = try Self.makeLayer(gzip: true, members: 12)
        let source = MemoryBlobSource(blobs: [fixture.descriptor.digest: fixture.blob])
        let (layer, entries) = try await LayerIndexer(span: 1 << 20).index(fixture.descriptor, from: source)
        #expect(layer.spans.count >= 1 && layer.spans.count <= 2, "\(layer.spans.count) spans")
        let reader = LayerReader(layer: layer, source: source)
        for entry in entries where entry.kind == .file {
            #expect(try await reader.read(entry, offset: 0, count: Int(entry.size)) == fixture.files[entry.path])
        }
    }

    /// Consecutive spans from one ranged read and one inflate are the spans one by one, for gzip across member
    /// boundaries and for plain tar; a corrupted span inside a run is an error naming it, never other bytes.
    @Test(arguments: [true, false]) func aRunOfSpansIsTheSpansOneByOne(_ gzip: Bool) async throws {
        var fixture = try Self.makeLayer(gzip: gzip)
        let (layer, source, _) = try await index(fixture)
        let reader = SpanReader(layer: layer, source: source)
        var spans: [[UInt8]] = []
        for index in layer.spans.indices { spans.append(try await reader.spanBytes(index)) }
        for length in [2, 3, 7] {
            for start in stride(from: 0, to: layer.spans.count - length + 1, by: length) {
                let run = try await reader.fetchRun(start..<(start + length))
                #expect(run.map(\.index) == Array(start..<(start + length)))
                #expect(run.map(\.bytes) == Array(spans[start..<(start + length)]), "\(start)..<\(start + length)")
            }
        }
        // The whole layer in one run: three members, so a run that crosses more than one member boundary.
        let all = try await reader.fetchRun(0..<layer.spans.count)
        #expect(all.map(\.bytes) == spans)

        fixture.blob[Self.middle(of: 4, in: layer)] ^= 0x5a
        let tampered = SpanReader(
            layer: layer, source: MemoryBlobSource(blobs: [fixture.descriptor.digest: fixture.blob]))
        do {
            let run = try await tampered.fetchRun(2..<7)
            Issue.record("a run over a corrupted span yielded \(run.count) spans")
        } catch .spanDigestMismatch(_, let span) {
            #expect(span == 4)
        } catch {
            #expect(gzip, "a plain tar fails on the digest of span 4, not with \(error)")
        }
    }

    @Test func uncompressedLayersHaveFixedSpansAndReadBack() async throws {
        let fixture = try Self.makeLayer(gzip: false)
        let (layer, source, entries) = try await index(fixture)
        #expect(layer.spans.allSatisfy { $0.checkpoint == nil })
        #expect(layer.spans.dropLast().allSatisfy { $0.length == Self.span })
        let reader = LayerReader(layer: layer, source: source)
        for entry in entries where entry.kind == .file {
            #expect(try await reader.read(entry, offset: 0, count: Int(entry.size)) == fixture.files[entry.path])
        }
    }

    @Test(arguments: [true, false]) func aCorruptedSpanIsAnErrorNeverWrongBytes(_ gzip: Bool) async throws {
        var fixture = try Self.makeLayer(gzip: gzip)
        let (layer, _, _) = try await index(fixture)
        // Flip bytes in the middle of span 4's compressed range.
        let target = layer.spans[4]
        let position = Self.middle(of: 4, in: layer)
        fixture.blob[position] ^= 0x5a
        fixture.blob[position + 1] ^= 0xa5
        let reader = LayerReader(
            layer: layer, source: MemoryBlobSource(blobs: [fixture.descriptor.digest: fixture.blob]))
        await #expect(throws: LazyMountError.self) { _ = try await reader.spanBytes(4) }
        await #expect(throws: LazyMountError.self) {
            _ = try await reader.read(offset: target.uncompressedOffset + 10, count: 100)
        }
        // Neighbouring spans stay readable.
        _ = try await reader.spanBytes(2)
    }

    @Test func aTruncatedGzipLayerFailsToIndex() async throws {
        var fixture = try Self.makeLayer(gzip: true, members: 1)
        fixture.blob.removeLast(100)
        fixture.descriptor.size = Int64(fixture.blob.count)
        fixture.descriptor.digest = Digest.sha256(fixture.blob)
        await #expect(throws: LazyMountError.self) { _ = try await index(fixture) }
    }

    /// Indexing reads the whole blob once, so it checks the blob against its digest: bytes altered in transit
    /// (here one flipped byte in a plain tar, which would still parse) never become an index.
    @Test(arguments: [false, true])
    func aLayerThatDoesNotMatchItsDigestIsNotIndexed(gzip: Bool) async throws {
        var fixture = try Self.makeLayer(gzip: gzip, members: 1)
        let expected = fixture.descriptor.digest
        fixture.blob[fixture.blob.count / 2] ^= 0x01
        let source = MemoryBlobSource(blobs: [expected: fixture.blob])
        do {
            _ = try await LayerIndexer(span: Self.span).index(fixture.descriptor, from: source)
            Issue.record("an altered layer was indexed")
        } catch .registry(.digestMismatch(let what, let wanted, let actual)) {
            #expect(what == "layer \(expected)" && wanted == expected && actual == Digest.sha256(fixture.blob))
        } catch {
            // A flipped byte inside deflate data may break the stream before the end; that is refused too.
            #expect(gzip, "a plain tar must fail on its digest, not with \(error)")
        }
    }
}
