internal import FoundationEssentials

/// The parts of an image's config blob (image-spec config.md, Docker's field names) that decide how a container
/// of the image runs: what `umoci unpack` and podman read from it.
package struct ImageConfiguration: Decodable, Sendable, Equatable {
    package struct Execution: Decodable, Sendable, Equatable {
        package var user: String?
        package var exposedPorts: [String: EmptyObject]?
        package var env: [String]?
        package var entrypoint: [String]?
        package var cmd: [String]?
        package var volumes: [String: EmptyObject]?
        package var workingDir: String?
        package var labels: [String: String]?
        package var stopSignal: String?

        enum CodingKeys: String, CodingKey {
            case user = "User", exposedPorts = "ExposedPorts", env = "Env", entrypoint = "Entrypoint", cmd = "Cmd"
            case volumes = "Volumes", workingDir = "WorkingDir", labels = "Labels", stopSignal = "StopSignal"
        }
    }

    /// `{}` in ExposedPorts and Volumes: only the keys matter.
    package struct EmptyObject: Decodable, Sendable, Equatable {}

    package var created: String?
    package var author: String?
    package var architecture: String?
    package var os: String?
    package var config: Execution?

    package static func decode(_ bytes: [UInt8]) throws(LazyMountError) -> ImageConfiguration {
        do {
            return try JSONDecoder().decode(ImageConfiguration.self, from: Data(bytes))
        } catch {
            throw .bundle(reason: "the image config is not usable: \(error)")
        }
    }

    /// Entrypoint followed by Cmd, the process the image runs by default (image-spec config.md, "Cmd").
    package var defaultArguments: [String] { (config?.entrypoint ?? []) + (config?.cmd ?? []) }
}
