internal import ArgumentParser
internal import SystemSupport
internal import Webhook

/// `ocicred webhook`: the admission webhook that adds the refresh config's pull Secret to Pods whose
/// ServiceAccount does not carry it yet. Everything but argument parsing lives in `WebhookService`.
struct WebhookCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhook",
        abstract: "Serve a mutating admission webhook that adds the pull Secret to new Pods.",
        discussion: """
            Reads the Secret outputs of the config's `refresh:` section (the same file `ocicred refresh` reads). \
            Its serving certificate is issued by ocicred into --tls-secret and rotated before it expires; the \
            caBundle of --webhook-configuration follows it. It never blocks a Pod: every review is allowed. \
            SIGTERM stops it.
            """)

    @Option(help: "Serve HTTPS on this host:port (POST /mutate, GET /healthz).")
    var listen = ":8443"

    @Option(help: "The webhook's Service name (the certificate names <service>.<namespace>.svc).")
    var service = "ocicred-webhook"

    @Option(help: "The namespace of the Service and the Secret (default: the pod's own).")
    var namespace: String?

    @Option(name: .customLong("tls-secret"), help: "The kubernetes.io/tls Secret holding the serving certificate.")
    var tlsSecret = "ocicred-webhook-tls"

    @Option(
        name: .customLong("webhook-configuration"),
        help: "The MutatingWebhookConfiguration whose caBundle follows the certificate.")
    var webhookConfiguration = "ocicred-webhook"

    @Option(
        name: .customLong("certificate-dir"),
        help: """
            Serve the certificate mounted here (tls.crt, tls.key: cert-manager's Secret) instead of issuing one; \
            re-read at every check. Its caBundle is then cert-manager's to keep (cainjector).
            """)
    var certificateDirectory: String?

    @Option(
        name: .customLong("check-interval"), help: "Seconds between checks of the certificate for rotation.")
    var checkInterval: Int = 3600

    func validate() throws {
        guard checkInterval > 0 else { throw ValidationError("--check-interval must be a positive number of seconds") }
    }

    func run() async throws {
        var options = WebhookOptions()
        options.listen = listen
        options.service = service
        options.namespace = namespace
        options.secretName = tlsSecret
        options.webhookConfiguration = webhookConfiguration
        options.checkInterval = .seconds(checkInterval)
        options.certificateDirectory = certificateDirectory
        let status = await WebhookService.run(
            options: options, environment: OcicredEnvironment.current, logger: OcicredCommand.logger)
        if status != 0 { throw ExitCode(status) }
    }
}
