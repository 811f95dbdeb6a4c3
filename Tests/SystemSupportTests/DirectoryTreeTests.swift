import Foundation
import SystemSupport
import Testing

/// DirectoryTree's contract: it makes directories with exactly the mode asked, refuses a link where a directory
/// belongs, and empties or removes a tree without following any link in it — a link's target is never entered,
/// changed or removed — while a directory it did not find stays as it was.
@Suite struct DirectoryTreeTests {
    static func scratch() throws -> String {
        let path = NSTemporaryDirectory() + "/directory-tree-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        return path
    }

    static func mode(_ path: String) throws -> Int {
        try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
    }

    @Test func createMakesTheModeAskedAndRefusesALinkOrAFile() throws {
        let root = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let previous = umask(0o077)
        defer { umask(previous) }
        #expect(try DirectoryTree.create(root + "/new", mode: 0o755))
        #expect(try Self.mode(root + "/new") == 0o755, "the umask does not narrow it")
        #expect(try !DirectoryTree.create(root + "/new", mode: 0o700), "an existing directory is reported, not made")
        #expect(try Self.mode(root + "/new") == 0o755, "and left as it was")
        try FileManager.default.createSymbolicLink(atPath: root + "/link", withDestinationPath: root + "/new")
        #expect(throws: SystemError.self) { try DirectoryTree.create(root + "/link") }
        #expect(throws: SystemError.self) { try DirectoryTree.setMode(root + "/link", 0o700) }
        #expect(try Self.mode(root + "/new") == 0o755, "a link's target is never changed")
        try Data().write(to: URL(fileURLWithPath: root + "/file"))
        #expect(throws: SystemError.self) { try DirectoryTree.create(root + "/file") }
    }

    @Test func removeAndEmptyNeverEnterOrTouchWhatALinkPointsTo() throws {
        let root = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let victim = root + "/victim"
        try FileManager.default.createDirectory(atPath: victim + "/inner", withIntermediateDirectories: true)
        try Data("keep".utf8).write(to: URL(fileURLWithPath: victim + "/inner/file"))
        let victimMode = try Self.mode(victim)
        let tree = root + "/tree"
        try FileManager.default.createDirectory(atPath: tree + "/a/b", withIntermediateDirectories: true)
        try Data("x".utf8).write(to: URL(fileURLWithPath: tree + "/a/b/file"))
        try FileManager.default.createSymbolicLink(atPath: tree + "/a/escape", withDestinationPath: victim)
        try FileManager.default.createSymbolicLink(
            atPath: tree + "/a/b/file-link", withDestinationPath: victim + "/inner/file")
        try FileManager.default.createDirectory(atPath: tree + "/locked", withIntermediateDirectories: false)
        chmod(tree + "/locked", 0o000)

        try DirectoryTree.empty(tree)
        #expect(try FileManager.default.contentsOfDirectory(atPath: tree) == [], "emptied, the directory kept")
        #expect((try? String(contentsOfFile: victim + "/inner/file", encoding: .utf8)) == "keep")
        #expect(try Self.mode(victim) == victimMode)

        try FileManager.default.createSymbolicLink(atPath: tree + "/escape", withDestinationPath: victim)
        try DirectoryTree.remove(tree)
        #expect(!FileManager.default.fileExists(atPath: tree))
        #expect((try? String(contentsOfFile: victim + "/inner/file", encoding: .utf8)) == "keep")
        try DirectoryTree.remove(tree)  // nothing there is not an error

        // A link where the tree's own root should be is removed as the link it is.
        try FileManager.default.createSymbolicLink(atPath: tree, withDestinationPath: victim)
        try DirectoryTree.remove(tree)
        #expect(
            !FileManager.default.fileExists(atPath: tree) && FileManager.default.fileExists(atPath: victim + "/inner"))
        #expect(throws: SystemError.self) { try DirectoryTree.empty(root + "/nothing") }
    }

    @Test func isEmptyAndRemoveIfEmpty() throws {
        let root = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/d", withIntermediateDirectories: false)
        #expect(try DirectoryTree.isEmpty(root + "/d"))
        try Data().write(to: URL(fileURLWithPath: root + "/d/x"))
        #expect(try !DirectoryTree.isEmpty(root + "/d"))
        #expect(!DirectoryTree.removeIfEmpty(root + "/d"))
        #expect(FileManager.default.fileExists(atPath: root + "/d/x"))
        try FileManager.default.createSymbolicLink(atPath: root + "/l", withDestinationPath: root + "/d")
        #expect(throws: SystemError.self) { try DirectoryTree.isEmpty(root + "/l") }
    }
}
