import FoundationEssentials

/// The parts of an image's config blob (image-spec config.md, Docker's field names) that decide how a container
/// of the image runs: what `umoci unpack` and podman read from it.
public struct ImageConfiguration: Decodable, Sendable, Equatable {
    public struct Execution: Decodable, Sendable, Equatable {
        public var user: String?
        public var exposedPorts: [String: EmptyObject]?
        public var env: [String]?
        public var entrypoint: [String]?
        public var cmd: [String]?
        public var volumes: [String: EmptyObject]?
        public var workingDir: String?
        public var labels: [String: String]?
        public var stopSignal: String?

        enum CodingKeys: String, CodingKey {
            case user = "User", exposedPorts = "ExposedPorts", env = "Env", entrypoint = "Entrypoint", cmd = "Cmd"
            case volumes = "Volumes", workingDir = "WorkingDir", labels = "Labels", stopSignal = "StopSignal"
        }
    }

    /// `{}` in ExposedPorts and Volumes: only the keys matter.
    public struct EmptyObject: Decodable, Sendable, Equatable {}

    public var created: String?
    public var author: String?
    public var architecture: String?
    public var os: String?
    public var config: Execution?

    public static func decode(_ bytes: [UInt8]) throws(LazyMountError) -> ImageConfiguration {
        do {
            return try JSONDecoder().decode(ImageConfiguration.self, from: Data(bytes))
        } catch {
            throw .bundle(reason: "the image config is not usable: \(error)")
        }
    }

    /// Entrypoint followed by Cmd, the process the image runs by default (image-spec config.md, "Cmd").
    public var defaultArguments: [String] { (config?.entrypoint ?? []) + (config?.cmd ?? []) }
}
