import Testing

@testable import LazyMount

@Suite struct LayerMergeTests {
    static func entry(_ spec: String) -> TarEntry {
        // "d:path", "f:path", "l:path>target"
        let kind: TarEntry.Kind = spec.hasPrefix("d:") ? .directory : spec.hasPrefix("l:") ? .symlink : .file
        let body = String(spec.dropFirst(2))
        let parts = body.split(separator: ">", maxSplits: 1).map(String.init)
        return TarEntry(
            path: parts[0], kind: kind, mode: kind == .directory ? 0o755 : 0o644, uid: 0, gid: 0, mtime: 0, size: 0,
            linkName: parts.count > 1 ? parts[1] : nil, devMajor: nil, devMinor: nil, xattrs: nil, offset: 0)
    }

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var layers: [[String]]
        var expected: [String]
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "upper file replaces lower", layers: [["f:a"], ["f:a"]], expected: ["a@1"]),
        Case(name: "whiteout removes lower file", layers: [["f:a", "f:b"], ["f:.wh.a"]], expected: ["b@0"]),
        Case(
            name: "whiteout removes a lower directory's subtree",
            layers: [["d:d", "f:d/x", "d:d/e", "f:d/e/y"], ["f:.wh.d"]],
            expected: []),
        Case(
            name: "whiteout does not hide the same layer's entry", layers: [["f:a"], ["f:a", "f:.wh.a"]],
            expected: ["a@1"]),
        Case(
            name: "whiteout listed after the entry in the same layer still only hits lower",
            layers: [["d:d", "f:d/old"], ["f:d/.wh.old", "f:d/old"]], expected: ["d@0", "d/old@1"]),
        Case(
            name: "opaque directory hides lower children, keeps its own",
            layers: [["d:o", "f:o/a", "d:o/s", "f:o/s/b"], ["d:o", "f:o/new", "f:o/.wh..wh..opq"]],
            expected: ["o@1", "o/new@1"]),
        Case(
            name: "opaque only affects that directory",
            layers: [["d:o", "f:o/a", "d:p", "f:p/a"], ["f:o/.wh..wh..opq"]],
            expected: ["o@0", "p@0", "p/a@0"]),
        Case(
            name: "directory over directory keeps children", layers: [["d:d", "f:d/a"], ["d:d"]],
            expected: ["d@1", "d/a@0"]),
        Case(
            name: "file over directory replaces the subtree", layers: [["d:d", "f:d/a"], ["f:d"]], expected: ["d@1"]),
        Case(
            name: "whiteout in a later layer removes what an earlier upper added",
            layers: [["f:a"], ["f:b"], ["f:.wh.b", "l:c>a"]], expected: ["a@0", "c@2"]),
        Case(
            name: "re-adding after a whiteout in a higher layer", layers: [["f:a"], ["f:.wh.a"], ["f:a"]],
            expected: ["a@2"]),
    ]

    @Test(arguments: cases) func mergesLikeTheImageSpec(_ testCase: Case) {
        let merged = LayerMerge.merge(testCase.layers.map { $0.map(Self.entry) })
        #expect(merged.map { "\($0.entry.path)@\($0.layer)" } == testCase.expected)
    }
}
