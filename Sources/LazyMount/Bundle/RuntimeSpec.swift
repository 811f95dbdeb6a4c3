import FoundationEssentials

/// An OCI runtime configuration (runtime-spec config.md, config-linux.md): the `config.json` of a bundle, with the
/// fields `umoci unpack` writes.
public struct RuntimeSpec: Codable, Sendable, Equatable {
    public struct User: Codable, Sendable, Equatable {
        public var uid: UInt32
        public var gid: UInt32
        public var additionalGids: [UInt32]?
    }

    public struct Capabilities: Codable, Sendable, Equatable {
        public var bounding, effective, inheritable, permitted, ambient: [String]
    }

    public struct Rlimit: Codable, Sendable, Equatable {
        public var type: String
        public var hard: UInt64
        public var soft: UInt64
    }

    public struct Process: Codable, Sendable, Equatable {
        public var terminal: Bool
        public var user: User
        public var args: [String]
        public var env: [String]
        public var cwd: String
        public var capabilities: Capabilities?
        public var rlimits: [Rlimit]?
        public var noNewPrivileges: Bool?
    }

    public struct Root: Codable, Sendable, Equatable {
        public var path: String
        public var readonly: Bool?
    }

    public struct Mount: Codable, Sendable, Equatable {
        public var destination: String
        public var type: String
        public var source: String
        public var options: [String]?
    }

    public struct IDMapping: Codable, Sendable, Equatable {
        public var containerID: UInt32
        public var hostID: UInt32
        public var size: UInt32

        public init(containerID: UInt32, hostID: UInt32, size: UInt32) {
            self.containerID = containerID
            self.hostID = hostID
            self.size = size
        }

        /// `CONTAINER:HOST:SIZE`, as `--uid-map` and podman's `--uidmap` take it.
        public static func parse(_ text: String) -> IDMapping? {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false).map { UInt32($0) }
            guard parts.count == 3, let container = parts[0], let host = parts[1], let size = parts[2], size > 0
            else { return nil }
            return IDMapping(containerID: container, hostID: host, size: size)
        }
    }

    public struct Namespace: Codable, Sendable, Equatable {
        public var type: String
        public var path: String?
    }

    public struct DeviceRule: Codable, Sendable, Equatable {
        public var allow: Bool
        public var access: String?
    }

    public struct Resources: Codable, Sendable, Equatable {
        public var devices: [DeviceRule]?
    }

    public struct Linux: Codable, Sendable, Equatable {
        public var uidMappings: [IDMapping]?
        public var gidMappings: [IDMapping]?
        public var resources: Resources?
        public var namespaces: [Namespace]
        public var maskedPaths: [String]?
        public var readonlyPaths: [String]?
    }

    public var ociVersion: String
    public var process: Process
    public var root: Root
    public var hostname: String?
    public var mounts: [Mount]
    public var annotations: [String: String]?
    public var linux: Linux

    /// Sorted keys and two-space indentation: the same image gives the same file.
    public func encoded() throws(LazyMountError) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        do { return Array(try encoder.encode(self)) + [0x0A] } catch { throw .bundle(reason: "config.json: \(error)") }
    }

    public static func decode(_ bytes: [UInt8]) throws(LazyMountError) -> RuntimeSpec {
        do {
            return try JSONDecoder().decode(RuntimeSpec.self, from: Data(bytes))
        } catch {
            throw .bundle(reason: "config.json is not a runtime configuration ocicred wrote: \(error)")
        }
    }
}
