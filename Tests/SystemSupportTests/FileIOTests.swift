import Foundation
import SystemSupport
import Testing

/// The one reader and the one writer, on their own: the reader takes regular files only and stops at its cap;
/// the writer makes 0600 files whatever the umask, replaces a link at the target instead of writing through it,
/// leaves no temporary file, and creates exclusively when asked; the sweep takes dead writers' files only.
@Suite(.serialized) struct FileIOTests {
    static func scratch() throws -> String {
        let path = NSTemporaryDirectory() + "/file-io-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        return path
    }

    @Test func theReaderTakesRegularFilesOnlyAndStopsAtItsCap() throws {
        let root = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(try FileIO.read(root + "/missing") == nil)
        try Data("hello".utf8).write(to: URL(fileURLWithPath: root + "/file"))
        #expect(try FileIO.read(root + "/file") == Array("hello".utf8))
        #expect(throws: SystemError.self) { try FileIO.read(root + "/file", limit: 4) }
        #expect(mkfifo(root + "/fifo", 0o600) == 0)
        // A FIFO with no writer would block an ordinary open forever; the reader refuses it at once.
        let error = #expect(throws: SystemError.self) { try FileIO.read(root + "/fifo") }
        #expect(error?.description.contains("FIFO") == true && error?.description.contains(root + "/fifo") == true)
        #expect(throws: SystemError.self) { try FileIO.read(root) }
    }

    /// The chunk cache reads one span of a file holding several: the same refusals, only the bytes asked for.
    @Test func aRangedReadTakesRegularFilesOnlyAndStopsAtTheFilesEnd() throws {
        let root = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(try FileIO.read(root + "/missing", at: 0, count: 4) == nil)
        try Data("0123456789".utf8).write(to: URL(fileURLWithPath: root + "/file"))
        #expect(try FileIO.read(root + "/file", at: 3, count: 4) == Array("3456".utf8))
        #expect(try FileIO.read(root + "/file", at: 8, count: 4) == Array("89".utf8))
        #expect(try FileIO.read(root + "/file", at: 12, count: 4) == [])
        #expect(mkfifo(root + "/fifo", 0o600) == 0)
        let error = #expect(throws: SystemError.self) { try FileIO.read(root + "/fifo", at: 0, count: 4) }
        #expect(error?.description.contains("FIFO") == true && error?.description.contains(root + "/fifo") == true)
        #expect(throws: SystemError.self) { try FileIO.read(root, at: 0, count: 4) }
    }

    @Test func theWriterMakesPrivateFilesReplacesLinksAndLeavesNoTemporary() throws {
        let root = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let previous = umask(0)
        defer { umask(previous) }
        let victim = root + "/victim"
        try Data("keep".utf8).write(to: URL(fileURLWithPath: victim))
        try FileManager.default.createSymbolicLink(atPath: root + "/target", withDestinationPath: victim)
        try FileIO.writeAtomically(Array("secret".utf8), to: root + "/target")
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "keep", "the link's target is untouched")
        let attributes = try FileManager.default.attributesOfItem(atPath: root + "/target")
        #expect(attributes[.type] as? FileAttributeType == .typeRegular)
        #expect(attributes[.posixPermissions] as? Int == 0o600)
        #expect(try FileIO.read(root + "/target") == Array("secret".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: root).sorted() == ["target", "victim"])
        #expect(try FileIO.createExclusively(Array("first".utf8), at: root + "/once"))
        #expect(try !FileIO.createExclusively(Array("second".utf8), at: root + "/once"))
        #expect(try FileIO.read(root + "/once") == Array("first".utf8))
    }

    @Test func theSweepTakesDeadWritersFilesOnly() throws {
        let root = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let dead = root + "/.entry.ocicred-tmp-00000000000000aa"
        let young = root + "/.entry.ocicred-tmp-00000000000000bb"
        let locked = root + "/.entry.ocicred-tmp-00000000000000cc"
        let other = root + "/.entry.not-ours"
        FileManager.default.createFile(
            atPath: dead, contents: Data("bytes".utf8), attributes: [.posixPermissions: 0o600])
        FileManager.default.createFile(atPath: young, contents: Data(), attributes: [.posixPermissions: 0o600])
        FileManager.default.createFile(
            atPath: locked, contents: Data("bytes".utf8), attributes: [.posixPermissions: 0o600])
        FileManager.default.createFile(
            atPath: other, contents: Data("bytes".utf8), attributes: [.posixPermissions: 0o600])
        let holder = open(locked, O_RDONLY)
        #expect(holder >= 0 && flock(holder, LOCK_EX) == 0)
        defer { close(holder) }
        FileIO.sweepStaleTemporaries(in: root)
        #expect(!FileManager.default.fileExists(atPath: dead), "unlocked and holding bytes: a dead writer's")
        #expect(FileManager.default.fileExists(atPath: young), "empty and young: maybe a writer before its flock")
        #expect(FileManager.default.fileExists(atPath: locked), "locked: a live writer's")
        #expect(FileManager.default.fileExists(atPath: other), "not ours")
    }
}
