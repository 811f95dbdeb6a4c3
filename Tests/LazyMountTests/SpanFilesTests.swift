import Testing

@testable import LazyMount

/// Names in a layer's chunk directory are not trusted: only `<first>+<count>` and a bare `<span>` within the layer
/// name span files, and a fetch's spans are grouped into files by stretch and size.
struct SpanFilesTests {
    @Test func onlyWellFormedNamesWithinTheLayerAreSpanFiles() {
        let names = [
            "0+4", "7", "9+2", ".0+4.ocicred-tmp-0123456789abcdef", "a+1", "1+0", "-1", "2+-1", "1+2+3", "+3", "3+",
            "\(Int.max)+2", "12", "10+3",
        ]
        let files = SpanFiles(names: names, spanCount: 12)
        #expect(
            (0..<4).map { files.file(holding: $0) } == Array(repeating: SpanFiles.File(first: 0, count: 4), count: 4))
        #expect(files.file(holding: 7) == SpanFiles.File(first: 7, count: 1))
        #expect(files.file(holding: 10) == SpanFiles.File(first: 9, count: 2))
        #expect(files.file(holding: 11) == nil)  // "10+3" and "12" reach past the layer's 12 spans
        for span in [4, 5, 6, 8] { #expect(files.file(holding: span) == nil, "span \(span)") }
        #expect(SpanFiles.File(first: 7, count: 1).name == "7")
        #expect(SpanFiles.File(first: 2, count: 4).name == "2+4")
    }

    @Test func removingAFileForgetsOnlyTheSpansItStillHolds() {
        var files = SpanFiles(names: ["0+4"], spanCount: 8)
        files.add(SpanFiles.File(first: 2, count: 4))
        files.remove(SpanFiles.File(first: 0, count: 4))
        #expect(files.file(holding: 0) == nil && files.file(holding: 1) == nil)
        #expect(files.file(holding: 3) == SpanFiles.File(first: 2, count: 4))
    }

    @Test func aFetchIsGroupedByStretchAndCutAtTheLimit() {
        let spans = [5, 1, 2, 3, 9, 10, 11, 12, 2].map { (index: $0, bytes: [UInt8](repeating: 1, count: 100)) }
        let groups = SpanFiles.files(for: spans, limit: 250).map { $0.map(\.index) }
        #expect(groups == [[1, 2], [3], [5], [9, 10], [11, 12]])
        let large = [
            (index: 0, bytes: [UInt8](repeating: 1, count: 300)), (index: 1, bytes: [UInt8](repeating: 1, count: 10)),
        ]
        #expect(SpanFiles.files(for: large, limit: 250).map { $0.map(\.index) } == [[0], [1]])
    }
}
