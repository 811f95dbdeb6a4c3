package import FoundationEssentials
package import SystemSupport

/// Builds auth-file entries for CI jobs and build pods: each registry's credentials resolved exactly as `get`
/// resolves them (or read from named environment variables), then merged into a containers or docker file.
package struct AuthFileGenerator: Sendable {
    /// One registry's outcome, for the report the command prints (never the secret).
    package struct Entry: Sendable, Equatable {
        package let registry: String
        package let username: String
        package let expiresAt: Date?
        package let source: CredentialSource
    }

    let resolver: Resolver

    package init(resolver: Resolver) { self.resolver = resolver }

    /// The registries a command without `--registry` covers: every exact host the config's rules name
    /// (wildcard rules have no single host to write).
    package static func configuredRegistries(environment: OcicredEnvironment) throws(CredentialError) -> [String] {
        try ConfigLoader.load(environment: environment).rules.filter(\.pattern.isExact).map(\.pattern.text)
    }

    /// Resolves every registry first and only then touches the file, so one failing registry leaves the file
    /// as it was rather than half-updated.
    /// - Parameter fromEnvironment: names of variables holding [username, secret] (or one well-known key such
    ///   as NGC_API_KEY) to use for every registry instead of resolving.
    /// - Parameter allowExpired: write a credential whose expiry has passed anyway; otherwise it is refused
    ///   before anything is written (a build would fail much later with a registry's 401).
    package func generate(
        registries: [String], fromEnvironment: [String], format: AuthFileFormat, into path: String?,
        replace: Bool, allowExpired: Bool = false, now: @Sendable () -> Date = { Date() }
    ) async throws(CredentialError) -> (entries: [Entry], bytes: [UInt8]) {
        var resolved = [(CredentialKey, Credential)]()
        for registry in registries {
            let key: CredentialKey
            do {
                key = try CredentialKey(serverURL: registry)
            } catch {
                throw .invalidServerURL(reason: error.description)
            }
            let credential: Credential
            if fromEnvironment.isEmpty {
                credential = try await resolver.resolve(key)
            } else {
                let rule = RegistryRule(
                    pattern: HostPattern(key.host) ?? HostPattern("invalid")!, provider: .static,
                    credentialVariables: fromEnvironment, location: "--from-env")
                credential = try resolver.staticCredential(rule: rule, host: key.host)
            }
            if !allowExpired, let expiresAt = credential.expiresAt, expiresAt <= now() {
                throw .credentialExpired(host: key.description, expiredAt: RFC3339.format(expiresAt))
            }
            resolved.append((key, credential))
        }
        let apply = { (file: inout AuthFile) in
            for (key, credential) in resolved {
                file.setCredential(username: credential.username, secret: credential.secret, for: key, format: format)
            }
        }
        let bytes: [UInt8]
        if let path {
            bytes = try await AuthFileUpdater.update(path: path, replace: replace, apply).after
        } else {
            var file = AuthFile()
            apply(&file)
            bytes = file.serialized()
        }
        let entries = resolved.map { key, credential in
            Entry(
                registry: format.entryKey(for: key), username: credential.username, expiresAt: credential.expiresAt,
                source: credential.source)
        }
        return (entries, bytes)
    }
}
