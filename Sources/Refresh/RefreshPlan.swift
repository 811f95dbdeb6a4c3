internal import Credentials
internal import Kubernetes
internal import Logging
internal import SystemSupport

/// The Kubernetes side of a refresh: a client when some output is a Secret, and a leader elector when a Lease
/// is named for the long-running refresh.
struct Cluster: Sendable {
    var client: KubernetesClient?
    var elector: LeaderElector?

    static func connect(
        for refresh: RefreshConfig, options: RefreshOptions, environment: OcicredEnvironment, logger: Logger
    ) throws(KubernetesError) -> Cluster {
        let needsKubernetes =
            options.secretName != nil
            || refresh.outputs.contains {
                if case .secret = $0 { return true } else { return false }
            }
        guard needsKubernetes else { return Cluster() }
        let client = try KubernetesClient.fromEnvironment(environment, logger: logger)
        var elector: LeaderElector?
        if let lease = options.leaseName, !options.once {
            // Without a name given, the host name (the pod's, in a pod) plus the process id; a host whose name
            // cannot be read still gets an identity unique on it.
            let host = (try? ProcessIdentity.hostName()) ?? "ocicred"
            let identity = options.identity ?? environment["POD_NAME"] ?? "\(host)-\(ProcessIdentity.processID)"
            elector = LeaderElector(client: client, namespace: client.config.namespace, name: lease, identity: identity)
        }
        return Cluster(client: client, elector: elector)
    }
}

/// The outputs of the config plus those the flags name, the policy, and — for the long-running refresh — one
/// controller per Secret output, which `start` sets watching and `stop` ends.
struct RefreshPlan: Sendable {
    var outputs: [any RefreshOutput]
    var policy: RefreshPolicy
    var controllers: [SecretController]

    func start() async { for controller in controllers { await controller.start() } }
    func stop() async { for controller in controllers { await controller.stop() } }

    /// Stops this plan for `next`: first a Secret output `next` no longer has removes what it wrote (unless it
    /// said `prune: false`).
    func retire(for next: RefreshPlan) async {
        let kept = Set(next.controllers.map(\.config.name))
        for controller in controllers where !kept.contains(controller.config.name) {
            await controller.removeEverything()
        }
        await stop()
    }

    enum NothingToWrite: Error, CustomStringConvertible {
        /// No output anywhere: not in the config, not as a flag, not as REGISTRY_AUTH_FILE.
        case noOutputs
        /// Outputs given (`output` names them) but every rule's host is a wildcard, so they have no registry to
        /// write; the wildcards are named.
        case onlyWildcards(output: String, patterns: [String])
        /// A Secret output, but this process has no Kubernetes client: it started without one (no Secret output
        /// then) and a reload added it.
        case noKubernetes(output: String)

        var description: String {
            switch self {
            case .noOutputs:
                return "no outputs: add `refresh: {outputs: [...]}` to the config, or pass --authfile, set "
                    + "REGISTRY_AUTH_FILE, or pass --secret-name"
            case .onlyWildcards(let output, let patterns):
                return "\(output) has no registry to write: every rule's host is a pattern ("
                    + patterns.joined(separator: ", ") + "); list the hosts under the output's `registries:` in "
                    + "`refresh: outputs:`, or add a rule with the exact host"
            case .noKubernetes(let output):
                return "\(output) is a Secret, but this refresh started without Kubernetes access (it had no Secret "
                    + "output then); restart it to connect to the cluster"
            }
        }
    }

    /// Flags write every exact host of the rules.
    static func make(
        _ loaded: (OcicredConfig, RefreshConfig), options: RefreshOptions, environment: OcicredEnvironment,
        cluster: Cluster, status: RefreshStatus, logger: Logger
    ) throws -> RefreshPlan {
        let (config, refresh) = loaded
        var outputs = refresh.outputs
        let exactHosts = config.rules.filter(\.pattern.isExact).map(\.pattern.text)
        let authFile =
            options.authFile ?? (outputs.isEmpty && options.secretName == nil ? environment["REGISTRY_AUTH_FILE"] : nil)
        if exactHosts.isEmpty,
            let named = authFile.map({ "the auth file \($0)" }) ?? options.secretName.map({ "the Secret \($0)" })
        {
            throw NothingToWrite.onlyWildcards(output: named, patterns: config.rules.map(\.pattern.text))
        }
        if let authFile {
            outputs.append(.authFile(.init(path: authFile, format: options.format, registries: exactHosts)))
        }
        if let name = options.secretName {
            outputs.append(
                .secret(
                    .init(
                        name: name, namespaces: options.secretNamespaces, serviceAccounts: options.serviceAccounts,
                        registries: exactHosts)))
        }
        guard !outputs.isEmpty else { throw NothingToWrite.noOutputs }
        var made = [any RefreshOutput]()
        var controllers = [SecretController]()
        for output in outputs {
            switch output {
            case .authFile(let file):
                made.append(AuthFileOutput(path: file.path, format: file.format, registries: file.registries))
            case .secret(let secret):
                guard let client = cluster.client else {
                    throw NothingToWrite.noKubernetes(output: "secret/" + secret.name)
                }
                let controller =
                    options.once
                    ? nil
                    : SecretController(
                        config: secret, client: client, elector: cluster.elector, status: status, logger: logger)
                if let controller { controllers.append(controller) }
                made.append(
                    SecretOutput(
                        config: secret, client: client, elector: cluster.elector, controller: controller, logger: logger
                    ))
            }
        }
        let defaults = RefreshPolicy()
        let policy = RefreshPolicy(
            minInterval: refresh.minInterval ?? defaults.minInterval,
            retryInitial: refresh.retryInitial ?? defaults.retryInitial, retryMax: refresh.retryMax ?? defaults.retryMax
        )
        return RefreshPlan(outputs: made, policy: policy, controllers: controllers)
    }
}
