internal import FoundationEssentials

/// An OCI runtime configuration (runtime-spec config.md, config-linux.md): the `config.json` of a bundle, with the
/// fields `umoci unpack` writes.
package struct RuntimeSpec: Codable, Sendable, Equatable {
    package struct User: Codable, Sendable, Equatable {
        package var uid: UInt32
        package var gid: UInt32
        package var additionalGids: [UInt32]?
    }

    package struct Capabilities: Codable, Sendable, Equatable {
        package var bounding, effective, inheritable, permitted, ambient: [String]
    }

    package struct Rlimit: Codable, Sendable, Equatable {
        package var type: String
        package var hard: UInt64
        package var soft: UInt64
    }

    package struct Process: Codable, Sendable, Equatable {
        package var terminal: Bool
        package var user: User
        package var args: [String]
        package var env: [String]
        package var cwd: String
        package var capabilities: Capabilities?
        package var rlimits: [Rlimit]?
        package var noNewPrivileges: Bool?
    }

    package struct Root: Codable, Sendable, Equatable {
        package var path: String
        package var readonly: Bool?
    }

    package struct Mount: Codable, Sendable, Equatable {
        package var destination: String
        package var type: String
        package var source: String
        package var options: [String]?
    }

    package struct IDMapping: Codable, Sendable, Equatable {
        package var containerID: UInt32
        package var hostID: UInt32
        package var size: UInt32

        package init(containerID: UInt32, hostID: UInt32, size: UInt32) {
            self.containerID = containerID
            self.hostID = hostID
            self.size = size
        }

        /// `CONTAINER:HOST:SIZE`, as `--uid-map` and podman's `--uidmap` take it.
        package static func parse(_ text: String) -> IDMapping? {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false).map { UInt32($0) }
            guard parts.count == 3, let container = parts[0], let host = parts[1], let size = parts[2], size > 0
            else { return nil }
            return IDMapping(containerID: container, hostID: host, size: size)
        }
    }

    package struct Namespace: Codable, Sendable, Equatable {
        package var type: String
        package var path: String?
    }

    package struct DeviceRule: Codable, Sendable, Equatable {
        package var allow: Bool
        package var access: String?
    }

    package struct Resources: Codable, Sendable, Equatable {
        package var devices: [DeviceRule]?
    }

    package struct Linux: Codable, Sendable, Equatable {
        package var uidMappings: [IDMapping]?
        package var gidMappings: [IDMapping]?
        package var resources: Resources?
        package var namespaces: [Namespace]
        package var maskedPaths: [String]?
        package var readonlyPaths: [String]?
    }

    package var ociVersion: String
    package var process: Process
    package var root: Root
    package var hostname: String?
    package var mounts: [Mount]
    package var annotations: [String: String]?
    package var linux: Linux

    /// Sorted keys and two-space indentation: the same image gives the same file.
    package func encoded() throws(LazyMountError) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        do { return Array(try encoder.encode(self)) + [0x0A] } catch { throw .bundle(reason: "config.json: \(error)") }
    }

    package static func decode(_ bytes: [UInt8]) throws(LazyMountError) -> RuntimeSpec {
        do {
            return try JSONDecoder().decode(RuntimeSpec.self, from: Data(bytes))
        } catch {
            throw .bundle(reason: "config.json is not a runtime configuration ocicred wrote: \(error)")
        }
    }
}
