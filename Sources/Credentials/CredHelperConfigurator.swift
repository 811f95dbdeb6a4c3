/// `ocicred configure`: wires ocicred in as the credential helper for chosen registries without touching
/// anything else in the file.
public enum CredHelperConfigurator {
    /// Google's registry hosts, as docker-credential-gcr's `configure-docker` lists them.
    public static let gcrHosts = ["gcr.io", "us.gcr.io", "eu.gcr.io", "asia.gcr.io", "marketplace.gcr.io"]

    public static func artifactRegistryHost(location: String) -> String { "\(location)-docker.pkg.dev" }

    /// Adds `credHelpers` entries naming ocicred for `hosts` to the auth file at `path` (containers or docker —
    /// the key is the same). Idempotent: a second run changes nothing and writes nothing.
    public static func configure(path: String, hosts: [String], dryRun: Bool) async throws(CredentialError)
        -> AuthFileUpdater.Result
    {
        try await AuthFileUpdater.update(path: path, dryRun: dryRun) { file in
            for host in hosts { file.setHelper(Resolver.helperName, for: host) }
        }
    }

    /// A `registries.conf.d` drop-in that makes ocicred the credential store of podman, buildah and skopeo.
    /// ocicred comes first because `podman login` stores into the first entry that accepts the credentials.
    public static var registriesConfSnippet: String {
        """
        # Written by `ocicred configure --registries-conf`; see containers-registries.conf(5).
        # ocicred first: podman login stores into the first helper, and ocicred keeps the secret encrypted.
        credential-helpers = [ "ocicred", "containers-auth.json" ]

        """
    }
}
