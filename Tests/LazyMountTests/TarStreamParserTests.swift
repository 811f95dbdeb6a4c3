import Foundation
import Testing

@testable import LazyMount

@Suite struct TarStreamParserTests {
    func parse(_ bytes: [UInt8], pieces: Int = 7) throws -> [TarEntry] {
        var parser = TarStreamParser()
        // Odd piece sizes: headers and PAX bodies straddle every boundary.
        var index = 0
        while index < bytes.count {
            let end = min(bytes.count, index + pieces)
            try parser.consume(Array(bytes[index..<end]))
            index = end
        }
        try parser.finish()
        return parser.entries
    }

    @Test func ustarEntriesKeepMetadataAndDataOffsets() throws {
        var tar = TestTar()
        tar.directory("./etc/", mode: 0o755)
        tar.file("./etc/hosts", Array("127.0.0.1 localhost\n".utf8), mode: 0o4755)
        tar.add(TestTar.header(name: "etc/link", type: "2", link: "/etc/hosts"))
        tar.add(TestTar.header(name: "etc/hard", type: "1", link: "./etc/hosts"))
        tar.add(TestTar.header(name: "dev/null", type: "3", mode: 0o666, devMajor: 1, devMinor: 3))
        tar.add(TestTar.header(name: "dev/sda", type: "4", mode: 0o660, devMajor: 8, devMinor: 0))
        tar.add(TestTar.header(name: "run/fifo", type: "6", mode: 0o600))
        tar.file("empty", [])
        tar.add(TestTar.header(name: "name", size: 3, prefix: "a/prefix/from/ustar"), data: Array("abc".utf8))
        tar.finish()
        let entries = try parse(tar.bytes)
        #expect(
            entries.map(\.path) == [
                "etc", "etc/hosts", "etc/link", "etc/hard", "dev/null", "dev/sda", "run/fifo", "empty",
                "a/prefix/from/ustar/name",
            ])
        #expect(
            entries.map(\.kind) == [
                .directory, .file, .symlink, .hardlink, .characterDevice, .blockDevice, .fifo, .file, .file,
            ])
        #expect(entries[1].mode == 0o4755 && entries[1].size == 20 && entries[1].offset == 1024)
        #expect(entries[1].mtime == 1_700_000_000)
        #expect(entries[2].linkName == "/etc/hosts")
        #expect(entries[3].linkName == "etc/hosts")
        #expect(entries[4].devMajor == 1 && entries[4].devMinor == 3)
        #expect(entries[7].size == 0)
        #expect(entries[8].offset == Int64(tar.bytes.count - 1024 - 512))
    }

    @Test func paxOverridesPathLinkUidAndCarriesXattrs() throws {
        let longPath = (0..<12).map { "directory-\($0)" }.joined(separator: "/") + "/file.txt"
        #expect(longPath.utf8.count > 100)
        var tar = TestTar()
        tar.pax([
            ("path", Array(longPath.utf8)), ("uid", Array("1000001".utf8)), ("mtime", Array("1700000123.5".utf8)),
            ("SCHILY.xattr.user.comment", Array("hello".utf8)),
            ("SCHILY.xattr.security.capability", [0x01, 0x00, 0x00, 0x02, 0xff, 0x00]),
        ])
        tar.file("truncated-name", Array("x".utf8))
        tar.pax([("linkpath", Array((String(repeating: "t", count: 150)).utf8))])
        tar.add(TestTar.header(name: "long-link", type: "2", link: "short"))
        tar.file("plain", [])
        tar.finish()
        let entries = try parse(tar.bytes)
        #expect(entries.count == 3)
        #expect(entries[0].path == longPath)
        #expect(entries[0].uid == 1_000_001)
        #expect(entries[0].mtime == 1_700_000_123)
        #expect(entries[0].xattrs?["user.comment"] == Data("hello".utf8))
        #expect(entries[0].xattrs?["security.capability"] == Data([0x01, 0x00, 0x00, 0x02, 0xff, 0x00]))
        #expect(entries[1].linkName == String(repeating: "t", count: 150))
        #expect(entries[2].path == "plain" && entries[2].xattrs == nil, "PAX records apply to one entry only")
    }

    @Test func gnuLongNamesAndBase256Sizes() throws {
        let longName = String(repeating: "n", count: 120) + "/file"
        let longLink = String(repeating: "l", count: 130)
        var tar = TestTar()
        tar.add(
            TestTar.header(name: "././@LongLink", type: "L", size: longName.utf8.count + 1, gnu: true),
            data: Array(longName.utf8) + [0])
        var base256 = [UInt8](repeating: 0, count: 12)
        base256[0] = 0x80
        base256[11] = 5
        tar.add(TestTar.header(name: "cut", gnu: true, sizeField: base256), data: Array("12345".utf8))
        tar.add(
            TestTar.header(name: "././@LongLink", type: "K", size: longLink.utf8.count, gnu: true),
            data: Array(longLink.utf8))
        tar.add(TestTar.header(name: "sym", type: "2", link: "cut", gnu: true))
        tar.finish()
        let entries = try parse(tar.bytes)
        #expect(entries.map(\.path) == [longName, "sym"])
        #expect(entries[0].size == 5)
        #expect(entries[1].linkName == longLink)
    }

    @Test func aBadChecksumIsAnError() throws {
        var tar = TestTar()
        tar.file("a", [1, 2, 3])
        tar.bytes[0] = UInt8(ascii: "b")
        #expect(throws: TarError.badChecksum(offset: 0)) { _ = try parse(tar.bytes) }
    }

    @Test func aStreamEndingInsideAFileIsTruncated() throws {
        var tar = TestTar()
        tar.file("a", [UInt8](repeating: 7, count: 2000))
        #expect(throws: TarError.self) { _ = try parse(Array(tar.bytes.prefix(1000))) }
    }
}
