/// `os/arch[/variant]`, as `--platform` takes it and as an image index's descriptors carry it
/// (image-spec image-index.md, `platform`).
package struct Platform: Codable, Sendable, Equatable, CustomStringConvertible {
    package var os: String
    package var architecture: String
    package var variant: String?

    package init(os: String, architecture: String, variant: String? = nil) {
        self.os = os
        self.architecture = architecture
        self.variant = variant
    }

    package static func parse(_ text: String) throws(RegistryError) -> Platform {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard (2...3).contains(parts.count), parts.allSatisfy({ !$0.isEmpty }) else { throw .invalidPlatform(text) }
        return Platform(os: parts[0], architecture: parts[1], variant: parts.count == 3 ? parts[2] : nil)
    }

    /// The host's platform in Go's (and so the OCI's) architecture names.
    package static var host: Platform {
        #if arch(x86_64)
            return Platform(os: "linux", architecture: "amd64")
        #elseif arch(arm64)
            return Platform(os: "linux", architecture: "arm64", variant: "v8")
        #elseif arch(arm)
            return Platform(os: "linux", architecture: "arm", variant: "v7")
        #else
            return Platform(os: "linux", architecture: "unknown")
        #endif
    }

    package var description: String { [os, architecture, variant].compactMap { $0 }.joined(separator: "/") }

    /// containerd's platform matching, simplified: os and architecture equal; a requested variant must match,
    /// where arm64 without a variant means v8.
    package func matches(_ candidate: Platform) -> Bool {
        guard os == candidate.os, architecture == candidate.architecture else { return false }
        guard let variant else { return true }
        let other = candidate.variant ?? (candidate.architecture == "arm64" ? "v8" : nil)
        return other == variant
    }
}
