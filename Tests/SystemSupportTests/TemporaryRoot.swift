import Foundation

/// A private scratch directory under the system's temporary directory, removed by the test.
struct TemporaryRoot {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.path + "/ocicred-systemsupport-" + UUID().uuidString
        try FileManager.default.createDirectory(
            atPath: path, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}
