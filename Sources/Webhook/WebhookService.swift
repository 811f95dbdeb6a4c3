internal import Credentials
internal import Foundation
internal import Kubernetes
package import Logging
internal import Refresh
package import SystemSupport

/// What `ocicred webhook` was asked on the command line.
package struct WebhookOptions: Sendable {
    package var listen = ":8443"
    package var service = "ocicred-webhook"
    /// The webhook's own namespace (of its Service and Secret); default: the client's.
    package var namespace: String?
    package var secretName = "ocicred-webhook-tls"
    package var webhookConfiguration = "ocicred-webhook"
    /// A mounted certificate (cert-manager's Secret: tls.crt, tls.key) to serve instead of issuing one.
    package var certificateDirectory: String?
    /// How often the Secret is checked for a rotation (by this replica or another).
    package var checkInterval: Duration = .seconds(3600)
    package init() {}
}

/// The entry point of `ocicred webhook`: loads the refresh config's Secret outputs, gets the serving certificate
/// (`WebhookCertificateKeeper`), watches ServiceAccounts and namespaces, and serves AdmissionReviews over TLS
/// until SIGTERM. Returns the exit status.
package enum WebhookService {
    package static func run(options: WebhookOptions, environment: OcicredEnvironment, logger: Logger) async -> Int32 {
        let outputs: [RefreshConfig.SecretOutput]
        let client: KubernetesClient
        do {
            outputs = try RefreshConfig.load(environment: environment).1.outputs.compactMap {
                if case .secret(let output) = $0 { return output } else { return nil }
            }
            client = try KubernetesClient.fromEnvironment(environment, logger: logger)
        } catch {
            logger.error("cannot start the webhook", metadata: ["error": "\(error)"])
            return 2
        }
        guard !outputs.isEmpty else {
            logger.error("the config's `refresh: outputs:` has no `secret:` output; the webhook has nothing to add")
            return 2
        }
        let namespace = options.namespace ?? client.config.namespace
        let source: CertificateSource =
            options.certificateDirectory.map { .mounted(MountedCertificate(directory: $0)) }
            ?? .issued(
                WebhookCertificateKeeper(
                    client: client, namespace: namespace, secretName: options.secretName, service: options.service,
                    webhookConfiguration: options.webhookConfiguration, logger: logger))
        let cluster = WatchedCluster()
        let server: WebhookServer
        let material: ServingCertificate
        do {
            let (host, port) = try HealthServer.hostAndPort(options.listen)
            material = try await source.current()
            let admission = PullSecretAdmission(outputs: outputs, home: namespace, cluster: cluster, logger: logger)
            server = try await WebhookServer.start(
                host: host, port: port, context: try TLSServerContext(material), admission: admission, logger: logger)
        } catch {
            logger.error("cannot start the webhook", metadata: ["error": "\(error)"])
            return 1
        }
        logger.notice("serving admission reviews", metadata: ["listen": "\(options.listen)", "port": "\(server.port)"])
        let terminated = AsyncStream<Void>.makeStream()
        let restore = SignalWatcher.route([SIGTERM, SIGINT]) { _ in terminated.continuation.yield() }
        defer { restore() }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await cluster.run(client: client, logger: logger) }
            group.addTask {
                var served = material
                while !Task.isCancelled {
                    try? await Task.sleep(for: options.checkInterval)
                    if Task.isCancelled { return }
                    served = await source.rotate(served, server: server, logger: logger)
                }
            }
            for await _ in terminated.stream { break }
            group.cancelAll()
        }
        await server.stop()
        return 0
    }
}
