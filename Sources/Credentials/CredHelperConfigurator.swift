package import SystemSupport

/// `ocicred configure`: wires ocicred in as the credential helper for chosen registries without touching
/// anything else in the file.
package enum CredHelperConfigurator {
    /// Google's registry hosts, as docker-credential-gcr's `configure-docker` lists them.
    package static let gcrHosts = ["gcr.io", "us.gcr.io", "eu.gcr.io", "asia.gcr.io", "marketplace.gcr.io"]

    package static func artifactRegistryHost(location: String) -> String { "\(location)-docker.pkg.dev" }

    /// The auth file `podman login` writes, which is the one `configure` edits by default: a `credHelpers` entry
    /// in any other file is not consulted when podman stores, and the password lands base64 in this one.
    /// podman 4.3 (containers/common's `GetDefaultAuthFile`, then containers/image's `getPathToAuth`):
    /// `$REGISTRY_AUTH_FILE`, else `$DOCKER_CONFIG/config.json` when DOCKER_CONFIG is set, else
    /// `$XDG_RUNTIME_DIR/containers/auth.json`, else `/run/containers/<uid>/auth.json`, which is what podman
    /// uses as root. nil for another user without XDG_RUNTIME_DIR: rootless podman then makes up a runtime
    /// directory of its own (`/run/user/<uid>`, else one under TMPDIR) that skopeo does not share, so no one
    /// file is right and the user has to say which.
    package static func podmanAuthFile(environment: OcicredEnvironment, userID: UInt32) -> String? {
        if let explicit = environment["REGISTRY_AUTH_FILE"] { return explicit }
        if let docker = environment["DOCKER_CONFIG"] { return docker + "/config.json" }
        if let runtime = environment.runtimeDirectory { return runtime + "/containers/auth.json" }
        return userID == 0 ? "/run/containers/0/auth.json" : nil
    }

    /// What `configure` did (or, in a dry run, would do).
    package struct Outcome: Sendable {
        package var result: AuthFileUpdater.Result
        /// Hosts whose clear-text `auths` entry (base64 of user:password) moved into the encrypted store.
        package var moved: [String] = []
        /// Hosts whose `auths` entry was dropped because the store already held credentials for them.
        package var droppedForStored: [String] = []
        package var changed: Bool { result.changed }
        package var after: [UInt8] { result.after }
    }

    /// Adds `credHelpers` entries naming ocicred for `hosts` to the auth file at `path` (containers or docker —
    /// the key is the same). Idempotent: a second run changes nothing and writes nothing.
    ///
    /// A password `podman login` already wrote into `auths` for one of `hosts` moves into `store` and leaves the
    /// file: once `credHelpers` names ocicred, podman and ocicred both ignore that entry, so it would only sit
    /// there in clear text (base64), and a later `podman login` through the helper would not remove it either.
    /// The store is written before the file, so a failure never loses the credential; an entry the store
    /// already has is kept from the store.
    package static func configure(path: String, hosts: [String], dryRun: Bool, store: EncryptedStore)
        async throws(CredentialError) -> Outcome
    {
        let keys = hosts.compactMap { try? CredentialKey(serverURL: $0) }
        let current = try await AuthFileUpdater.update(path: path, dryRun: true) { _ in }
        var found: [(key: CredentialKey, username: String, secret: Secret)] = []
        if let before = current.before, let file = try? AuthFile.parse(before) {
            for key in keys {
                for (name, entry) in file.auths where (try? CredentialKey(serverURL: name)) == key {
                    if let credential = AuthFile.decodeEntry(entry) {
                        found.append((key, credential.username, credential.secret))
                        break
                    }
                }
            }
        }
        var moved: [String] = []
        var dropped: [String] = []
        for credential in found {
            if try store.material(for: credential.key) != nil {
                dropped.append(credential.key.description)
                continue
            }
            moved.append(credential.key.description)
            if !dryRun {
                try store.store(
                    CredentialMaterial.fromHelper(
                        serverURL: credential.key.description, username: credential.username,
                        secret: credential.secret),
                    for: credential.key)
            }
        }
        let result = try await AuthFileUpdater.update(path: path, dryRun: dryRun) { file in
            for host in hosts { file.setHelper(Resolver.helperName, for: host) }
            // Only what was read above goes: an entry written in between was not stored anywhere.
            for credential in found {
                for (name, entry) in file.auths where (try? CredentialKey(serverURL: name)) == credential.key {
                    if let now = AuthFile.decodeEntry(entry), now.username == credential.username,
                        now.secret == credential.secret
                    {
                        file.auths[name] = nil
                    }
                }
            }
        }
        return Outcome(result: result, moved: moved, droppedForStored: dropped)
    }

    /// A `registries.conf.d` drop-in that makes ocicred the credential store of podman, buildah and skopeo.
    /// ocicred comes first because `podman login` stores into the first entry that accepts the credentials.
    package static var registriesConfSnippet: String {
        """
        # Written by `ocicred configure --registries-conf`; see containers-registries.conf(5).
        # ocicred first: podman login stores into the first helper, and ocicred keeps the secret encrypted.
        credential-helpers = [ "ocicred", "containers-auth.json" ]

        """
    }
}
