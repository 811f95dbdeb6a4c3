import Foundation

/// A private (0700) directory under the system temp dir, removed by `remove()`; tests call it in `defer`.
public struct TemporaryDirectory: Sendable {
    public let path: String

    public init(prefix: String = "ocicred-test") throws {
        var template = Array((NSTemporaryDirectory() + "/\(prefix)-XXXXXX").utf8CString)
        guard let result = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
        path = String(cString: result)
    }

    public func file(_ name: String) -> String { path + "/" + name }

    public func remove() { try? FileManager.default.removeItem(atPath: path) }
}
