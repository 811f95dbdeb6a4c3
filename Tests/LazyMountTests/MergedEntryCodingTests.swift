import Foundation
import Testing

@testable import LazyMount

/// Tree entries are written as arrays (index version 4) and read as arrays or as the objects version 3 wrote,
/// with every optional field kept: the tree is all a mount knows of the image's files.
@Suite struct MergedEntryCodingTests {
    static func entry(
        _ path: String, _ kind: TarEntry.Kind, linkName: String? = nil, device: (UInt32, UInt32)? = nil,
        xattrs: [String: Data]? = nil
    ) -> MergedEntry {
        MergedEntry(
            layer: 2,
            entry: TarEntry(
                path: path, kind: kind, mode: 0o4755, uid: 1000, gid: 100, mtime: 1_700_000_000,
                size: kind == .file ? 123_456 : 0, linkName: linkName, devMajor: device?.0, devMinor: device?.1,
                xattrs: xattrs, offset: 987_654_321))
    }

    static let entries: [MergedEntry] = [
        entry("usr/bin/passwd", .file),
        entry("usr/bin/pager", .symlink, linkName: "/etc/alternatives/pager"),
        entry("dev/null", .characterDevice, device: (1, 3)),
        entry("usr/bin/ping", .file, xattrs: ["security.capability": Data([1, 0, 0, 2, 0, 0x20])]),
        entry("usr/lib/hard", .hardlink, linkName: "usr/bin/passwd", xattrs: ["user.x": Data("é".utf8)]),
        entry("run/fifo", .fifo),
    ]

    @Test func entriesAreArraysAndReadBackWhole() throws {
        let encoded = try JSONEncoder().encode(Self.entries)
        let json = try #require(try JSONSerialization.jsonObject(with: encoded) as? [[Any]])
        #expect(json.map(\.count) == [9, 10, 12, 13, 13, 9], "trailing absent fields are left out")
        #expect(json[0][0] as? Int == 2 && json[0][1] as? String == "usr/bin/passwd" && json[0][2] as? String == "file")
        #expect(json[3][9] is NSNull && json[3][10] is NSNull && json[3][11] is NSNull)
        #expect(try JSONDecoder().decode([MergedEntry].self, from: encoded) == Self.entries)
    }

    @Test func versionThreeObjectsStillRead() throws {
        struct Object: Encodable {
            var layer: Int
            var entry: TarEntry
        }
        let objects = try JSONEncoder().encode(Self.entries.map { Object(layer: $0.layer, entry: $0.entry) })
        #expect(try JSONDecoder().decode([MergedEntry].self, from: objects) == Self.entries)
    }

    @Test func aShortOrMistypedArrayIsAnError() throws {
        let bad = [
            #"[[2,"a","file",493,0,0,0,1]]"#, #"[[2,"a","file",493,0,0,0,1,"x"]]"#,
            #"[[2,"a","nonsense",1,0,0,0,1,0]]"#, #"[{"layer":2}]"#,
        ]
        for json in bad {
            #expect(throws: DecodingError.self) { try JSONDecoder().decode([MergedEntry].self, from: Data(json.utf8)) }
        }
    }
}
