import Foundation
import Synchronization
import SystemSupport
import Testing

/// The lock beside the store and the token cache: one holder at a time (flock is per open file, so two holders
/// in one process exclude each other as two processes do), and a lock file someone else planted is refused.
@Suite("FileLock")
struct FileLockTests {
    @Test func aSecondHolderWaitsUntilTheFirstLetsGo() async throws {
        let root = try TemporaryRoot()
        defer { root.remove() }
        let path = root.path + "/store.lock"
        var first: FileLock? = try FileLock(path: path)
        let released = Atomic<Bool>(false)
        let second = Task { () throws(SystemError) -> Bool in
            let lock = try await FileLock.acquire(path: path)
            withExtendedLifetime(lock) {}
            return released.load(ordering: .sequentiallyConsistent)
        }
        // Give the waiter many polls (it starts at 2 ms) to take a lock that is not free.
        try await Task.sleep(for: .milliseconds(100))
        released.store(true, ordering: .sequentiallyConsistent)
        withExtendedLifetime(first) {}
        first = nil
        #expect(try await second.value, "the second holder got the lock while the first still held it")
    }

    @Test func aWaiterThatIsCancelledGivesUpWithoutTheLock() async throws {
        let root = try TemporaryRoot()
        defer { root.remove() }
        let path = root.path + "/store.lock"
        let first = try FileLock(path: path)
        let waiter = Task { () throws(SystemError) -> Bool in
            let lock = try await FileLock.acquire(path: path)
            withExtendedLifetime(lock) {}
            return true
        }
        waiter.cancel()
        let error = try await #require(throws: SystemError.self) { _ = try await waiter.value }
        #expect(error.code == ECANCELED)
        withExtendedLifetime(first) {}
    }

    @Test func aLockFileThatIsASymlinkIsRefusedAndItsTargetUntouched() throws {
        let root = try TemporaryRoot()
        defer { root.remove() }
        let target = root.path + "/victim"
        try Data("precious".utf8).write(to: URL(fileURLWithPath: target))
        let path = root.path + "/store.lock"
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: target)
        let error = try #require(throws: SystemError.self) { _ = try FileLock(path: path) }
        #expect(error.code == ELOOP)
        #expect(error.description.contains("symbolic link"), "\(error)")
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "precious")
        // A dangling link must not create its target either.
        let dangling = root.path + "/other.lock"
        try FileManager.default.createSymbolicLink(atPath: dangling, withDestinationPath: root.path + "/planted")
        #expect(throws: SystemError.self) { _ = try FileLock(path: dangling) }
        #expect(!FileManager.default.fileExists(atPath: root.path + "/planted"))
    }

    @Test func aLockFileThatIsAFIFOIsRefusedWithoutBlocking() async throws {
        let root = try TemporaryRoot()
        defer { root.remove() }
        let path = root.path + "/store.lock"
        try #require(mkfifo(path, 0o600) == 0)
        let error = try await #require(throws: SystemError.self) { _ = try await FileLock.acquire(path: path) }
        #expect(error.description.contains("not a regular file"), "\(error)")
    }
}
