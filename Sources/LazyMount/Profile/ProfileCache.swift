package import SystemSupport

/// Start-up profiles beside the indexes: `$XDG_CACHE_HOME/ocicred/profile/<manifest digest>`.
package struct ProfileCache: Sendable {
    package let directory: String

    package init(environment: OcicredEnvironment) {
        directory = environment.cacheHome + "/ocicred/profile"
    }

    package func path(forManifest digest: String) -> String { directory + "/" + digest }

    /// The cached profile for `digest` recorded with this span size, if there is a readable one.
    package func load(manifestDigest digest: String, span: Int64) -> StartupProfile? {
        guard (try? PrivatePath.checkDirectory(directory)) != nil,
            let bytes = BundleFiles.read(path(forManifest: digest), limit: 64 << 20),
            let profile = try? StartupProfile.decode(bytes, what: path(forManifest: digest)),
            profile.manifestDigest == digest, profile.span == span
        else { return nil }
        return profile
    }

    @discardableResult
    package func store(_ profile: StartupProfile) throws(LazyMountError) -> String {
        do {
            try PrivatePath.prepareDirectory(directory)
        } catch {
            throw .profile(reason: error.description)
        }
        let file = path(forManifest: profile.manifestDigest)
        try BundleFiles.write(try profile.encoded(), to: file)
        return file
    }
}
