import Foundation
import SystemSupport
import Testing

/// The private-path rule (ssh's StrictModes) on real directories: what is accepted, what is refused with the fix,
/// and that a refusal changes nothing on disk.
@Suite("PrivatePath")
struct PrivatePathTests {
    static func mode(_ path: String) throws -> Int {
        try #require(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
    }

    static func chmod(_ path: String, _ mode: Int) throws {
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
    }

    @Test func aMissingDirectoryIsMadePrivateWithItsParents() throws {
        let root = try TemporaryRoot()
        defer { root.remove() }
        let store = root.path + "/a/b/store"
        try PrivatePath.prepareDirectory(store)
        #expect(try Self.mode(store) == 0o700)
        #expect(try Self.mode(root.path + "/a/b") == 0o700)
    }

    @Test func anOtherWritableDirectoryIsRefusedWithTheFixAndLeftAsItWas() throws {
        let root = try TemporaryRoot()
        defer { root.remove() }
        let store = root.path + "/store"
        try FileManager.default.createDirectory(atPath: store, withIntermediateDirectories: false)
        try Self.chmod(store, 0o777)
        let error = try #require(throws: PrivatePath.Unsafe.self) { try PrivatePath.prepareDirectory(store) }
        #expect(error.path == store)
        #expect(error.description.contains("chmod go-w \(store)"))
        #expect(try Self.mode(store) == 0o777, "nothing is tightened behind the user's back")
    }

    @Test func aFileWhereTheDirectoryBelongsIsRefused() throws {
        let root = try TemporaryRoot()
        defer { root.remove() }
        let store = root.path + "/store"
        try Data("keep".utf8).write(to: URL(fileURLWithPath: store))
        let error = try #require(throws: PrivatePath.Unsafe.self) { try PrivatePath.checkDirectory(store) }
        #expect(error.description.contains("a regular file"), "\(error)")
        #expect(try String(contentsOfFile: store, encoding: .utf8) == "keep")
    }

    @Test func anOtherWritableParentIsRefusedUnlessSticky() throws {
        let root = try TemporaryRoot()
        defer { root.remove() }
        let shared = root.path + "/shared"
        let store = shared + "/store"
        try FileManager.default.createDirectory(atPath: store, withIntermediateDirectories: true)
        try Self.chmod(store, 0o700)
        try Self.chmod(shared, 0o777)
        let error = try #require(throws: PrivatePath.Unsafe.self) { try PrivatePath.checkDirectory(store) }
        #expect(error.path == shared)
        #expect(error.description.contains("could replace store"), "\(error)")
        // /tmp's rule: in a sticky directory nobody renames or removes an entry they do not own.
        try Self.chmod(shared, 0o1777)
        try PrivatePath.checkDirectory(store)
    }

    @Test func aDirectoryOfAnotherUserIsRefused() throws {
        let root = try TemporaryRoot()
        defer { root.remove() }
        let store = root.path + "/store"
        try FileManager.default.createDirectory(atPath: store, withIntermediateDirectories: false)
        try Self.chmod(store, 0o700)
        try #require(getuid() == 0, "handing the directory to another uid needs root, which helpers/test has")
        try FileManager.default.setAttributes([.ownerAccountID: 54_321], ofItemAtPath: store)
        let error = try #require(throws: PrivatePath.Unsafe.self) { try PrivatePath.checkDirectory(store) }
        #expect(error.description.contains("belongs to uid 54321"), "\(error)")
    }

    @Test(arguments: [(0o600, true), (0o400, true), (0o640, true), (0o660, false), (0o604, false), (0o644, false)])
    func aKeyFileMayBeGroupReadableButNeverMore(mode: Int, accepted: Bool) throws {
        let root = try TemporaryRoot()
        defer { root.remove() }
        let key = root.path + "/key"
        try Data(repeating: 7, count: 32).write(to: URL(fileURLWithPath: key))
        try Self.chmod(key, mode)
        if accepted {
            try PrivatePath.checkKeyFile(key)
        } else {
            let error = try #require(throws: PrivatePath.Unsafe.self) { try PrivatePath.checkKeyFile(key) }
            #expect(error.description.contains("chmod 600 \(key)"), "\(error)")
            #expect(try Self.mode(key) == mode)
        }
    }

    @Test func aMissingKeyFileOrDirectoryPasses() throws {
        let root = try TemporaryRoot()
        defer { root.remove() }
        try PrivatePath.checkKeyFile(root.path + "/none/key")
        try PrivatePath.checkDirectory(root.path + "/none")
    }
}
