package import Credentials
package import Logging
package import Transport

/// The two entry points the CLI calls: check the credentials ocicred would hand out (`verify`), and check a
/// typed-in password before keeping it (`login`).
package enum RegistryLogin {
    /// A credential source that asks `resolver` exactly as the helper's `get` does. "No credentials" becomes
    /// `.noCredentials` (exit 2); any other resolver failure keeps its own message.
    package static func credentialSource(resolver: Resolver, key: CredentialKey) -> RegistryCredentialSource {
        { _ async throws(RegistryError) -> RegistryCredential? in
            do throws(CredentialError) {
                return RegistryCredential(try await resolver.resolve(key))
            } catch .notFound {
                throw .noCredentials(host: key.description)
            } catch {
                throw .credentials(error)
            }
        }
    }

    /// Verifies `username`/`password` against the registry (as `verify` does without a repository) and only
    /// then stores them in `store` under `key`, as `podman login` + the helper's `store` would. A password the
    /// registry rejects is never stored.
    package static func login(
        key: CredentialKey, username: String, password: Secret, endpoint: RegistryEndpoint, http: any HTTPClient,
        store: EncryptedStore, logger: Logger, configure: (inout RegistryClient) -> Void = { _ in }
    ) async throws(RegistryError) -> VerificationReport {
        let credential = RegistryCredential.basic(username: username, password: password)
        var client = RegistryClient(endpoint: endpoint, http: http, credentials: { _ in credential }, logger: logger)
        configure(&client)
        let report = try await client.verify(repository: nil, push: false)
        do throws(CredentialError) {
            try store.store(
                CredentialMaterial.fromHelper(serverURL: key.description, username: username, secret: password),
                for: key)
        } catch {
            throw .credentials(error)
        }
        logger.info("stored credentials", metadata: ["host": "\(key)"])
        return report
    }
}
