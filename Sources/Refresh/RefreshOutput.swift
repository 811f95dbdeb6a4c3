package import Credentials
internal import FoundationEssentials
package import Kubernetes
internal import Logging

/// One place the refresh writes credentials to. `write` gets the last good credential of each of the output's
/// registries that has one (registries that never succeeded are left as they are in the target).
package protocol RefreshOutput: Sendable {
    /// For logs and metrics: the path or namespace/name, never content.
    var name: String { get }
    var registries: [String] { get }
    /// Writes; returns false when it deliberately did not (a standby replica without the lease).
    func write(_ credentials: [String: Credential]) async throws -> Bool
}

/// An auth file, merged under its lock, atomic, 0600 (`AuthFileUpdater`), then its `.status` beside it.
package struct AuthFileOutput: RefreshOutput {
    package let path: String
    package let format: AuthFileFormat
    package let registries: [String]
    package var name: String { path }

    package init(path: String, format: AuthFileFormat, registries: [String]) {
        self.path = path
        self.format = format
        self.registries = registries
    }

    package func write(_ credentials: [String: Credential]) async throws -> Bool {
        var written = [(CredentialKey, Credential)]()
        for registry in registries {
            guard let credential = credentials[registry], let key = try? CredentialKey(serverURL: registry) else {
                continue
            }
            written.append((key, credential))
        }
        guard !written.isEmpty else { return false }
        _ = try await AuthFileUpdater.update(path: path) { file in
            for (key, credential) in written {
                file.setCredential(username: credential.username, secret: credential.secret, for: key, format: format)
            }
        }
        // Entries of earlier writes that this one did not touch (a registry failing now) keep their status.
        var entries = [String: AuthFileStatus.Entry]()
        if let previous = try? AuthFileStatus.read(beside: path) {
            for entry in previous.entries { entries[entry.key] = entry }
        }
        for (key, credential) in written {
            let entryKey = format == .docker ? key.dockerConfigKey : key.description
            entries[entryKey] = .init(key: entryKey, expiresAt: credential.expiresAt?.timeIntervalSince1970)
        }
        let status = AuthFileStatus(
            writtenAt: Date().timeIntervalSince1970, entries: entries.values.sorted { $0.key < $1.key })
        try status.write(beside: path)
        return true
    }
}

/// A `kubernetes.io/dockerconfigjson` Secret in each chosen namespace, optionally named in service accounts'
/// `imagePullSecrets`. With a leader elector, only the leader writes: two replicas must not race each other.
package struct SecretOutput: RefreshOutput {
    package let config: RefreshConfig.SecretOutput
    package let client: KubernetesClient
    package let elector: LeaderElector?
    /// Set for the long-running refresh: it watches and writes; without one (`--once`), a pass reads and writes.
    let controller: SecretController?
    let logger: Logger
    package var registries: [String] { config.registries }
    package var name: String { "secret/" + config.name }

    init(
        config: RefreshConfig.SecretOutput, client: KubernetesClient, elector: LeaderElector?,
        controller: SecretController? = nil, logger: Logger
    ) {
        self.config = config
        self.client = client
        self.elector = elector
        self.controller = controller
        self.logger = logger
    }

    package func write(_ credentials: [String: Credential]) async throws -> Bool {
        if let elector, await !elector.isLeader { return false }
        var file = AuthFile()
        var expiries = [Date]()
        for registry in registries {
            guard let credential = credentials[registry], let key = try? CredentialKey(serverURL: registry) else {
                continue
            }
            file.setCredential(username: credential.username, secret: credential.secret, for: key, format: .docker)
            // `kubectl create secret docker-registry` writes username and password beside auth; tools reading
            // the Secret (not only the kubelet, which takes either) expect all three.
            if case .object(var entry)? = file.auths[key.dockerConfigKey], entry["auth"] != nil {
                entry["username"] = .string(credential.username)
                entry["password"] = .string(credential.secret.exposedValue)
                file.auths[key.dockerConfigKey] = .object(entry)
            }
            if let expiresAt = credential.expiresAt { expiries.append(expiresAt) }
        }
        guard !file.auths.isEmpty else { return false }
        var annotations = [String: String]()
        if let soonest = expiries.min() {
            annotations["ocicred.io/expires-at"] = String(Int(soonest.timeIntervalSince1970))
        }
        if let controller {
            return try await controller.update(
                SecretController.Content(dockerConfigJSON: file.serialized(), annotations: annotations))
        }
        let everyAccount = try await allServiceAccounts()
        for namespace in try await namespaces() {
            let outcome = try await client.writeDockerConfigSecret(
                namespace: namespace, name: config.name, dockerConfigJSON: file.serialized(),
                labels: [KubernetesClient.managedByKey: KubernetesClient.managedByValue], annotations: annotations)
            logger.info("secret written", metadata: ["secret": "\(namespace)/\(config.name)", "outcome": "\(outcome)"])
            for account in config.serviceAccounts + (everyAccount[namespace] ?? []) {
                try await client.ensureImagePullSecret(
                    namespace: namespace, serviceAccount: account, secretName: config.name)
            }
        }
        return true
    }

    /// Listed each time: a namespace created since the last refresh gets its Secret at the next one.
    func namespaces() async throws -> [String] {
        if !config.namespaces.isEmpty { return config.namespaces }
        guard let selector = config.namespaceSelector else { return [client.config.namespace] }
        guard selector.usesLabels else { return try await client.namespaceNames().filter { selector.matches($0) } }
        return try await client.list(.namespaces).items.compactMap { namespace in
            guard let name = namespace.name, selector.matches(name, labels: namespace.labels) else { return nil }
            return name
        }
    }

    /// With `serviceAccounts: all`, the names of every ServiceAccount by namespace; empty otherwise.
    func allServiceAccounts() async throws -> [String: [String]] {
        guard config.allServiceAccounts else { return [:] }
        var byNamespace = [String: [String]]()
        for account in try await client.list(.serviceAccounts(named: nil)).items {
            guard let name = account.name, let namespace = account.namespace else { continue }
            byNamespace[namespace, default: []].append(name)
        }
        return byNamespace
    }
}
