internal import Credentials
package import FoundationEssentials
package import Kubernetes
package import Logging

/// Keeps the webhook's serving certificate in one `kubernetes.io/tls` Secret (plus `ca.crt`), so every replica
/// and every restart serves the same one, and the `caBundle` of its MutatingWebhookConfiguration in step with it.
///
/// The Secret's certificate is used while it names the Service and has more than `renewBefore` left; otherwise a
/// new CA and serving certificate are issued and written with the read resourceVersion (or created). A replica
/// that loses that race (409) reads the winner's and serves it, so replicas never overwrite each other.
package struct WebhookCertificateKeeper: Sendable {
    package let client: KubernetesClient
    package let namespace: String
    package let secretName: String
    package let service: String
    package let webhookConfiguration: String
    package var validity: TimeInterval = 365 * 86_400
    package var renewBefore: TimeInterval = 30 * 86_400
    let logger: Logger
    let now: @Sendable () -> Date

    package init(
        client: KubernetesClient, namespace: String, secretName: String, service: String,
        webhookConfiguration: String, logger: Logger, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.client = client
        self.namespace = namespace
        self.secretName = secretName
        self.service = service
        self.webhookConfiguration = webhookConfiguration
        self.logger = logger
        self.now = now
    }

    /// The names the API server calls the Service by (`<service>.<namespace>.svc`, its cluster.local form).
    package var dnsNames: [String] {
        ["\(service).\(namespace).svc", "\(service).\(namespace).svc.cluster.local"]
    }

    /// The certificate to serve now, issuing and storing a new one when the stored one will not do.
    package func current() async throws -> ServingCertificate {
        for _ in 1...3 {
            let stored = try await client.tlsSecret(namespace: namespace, name: secretName)
            if let stored, let material = usable(stored) { return material }
            var fresh = try CertificateAuthority.issue(dnsNames: dnsNames, validity: validity, now: now())
            // The replaced CA stays in the caBundle while replicas still serve what it signed (until they check).
            if let stored, ServingCertificate.isCertificate(stored.certificateAuthority) {
                fresh.previousCertificateAuthority = stored.certificateAuthority
            }
            var contents = KubernetesClient.TLSSecret(
                certificate: fresh.certificate, privateKey: fresh.privateKey,
                certificateAuthority: fresh.certificateAuthority, resourceVersion: stored?.resourceVersion)
            contents.previousCertificateAuthority = fresh.previousCertificateAuthority
            do {
                _ = try await client.writeTLSSecret(
                    namespace: namespace, name: secretName, contents,
                    labels: ["app.kubernetes.io/managed-by": "ocicred-webhook"])
                logger.notice(
                    stored == nil
                        ? "issued the webhook's serving certificate" : "rotated the webhook's serving certificate",
                    metadata: ["secret": "\(namespace)/\(secretName)", "names": "\(dnsNames)"])
                return fresh
            } catch KubernetesError.alreadyExists, KubernetesError.conflict {
                // Another replica wrote first: read again and serve its certificate.
                continue
            }
        }
        throw KubernetesError.conflict(resource: "secrets", namespace: namespace, name: secretName, attempts: 3)
    }

    /// Writes the CA into the configuration's `caBundle` when it differs; returns whether it wrote.
    package func publish(_ material: ServingCertificate) async throws -> Bool {
        let written = try await client.setCABundle(
            webhookConfiguration: webhookConfiguration, service: service, namespace: namespace,
            caBundle: material.caBundle(at: now()))
        if written {
            logger.notice(
                "updated the caBundle of the webhook configuration",
                metadata: ["configuration": "\(webhookConfiguration)"])
        }
        return written
    }

    /// The stored certificate when it names the Service, lives longer than `renewBefore` and its key matches.
    func usable(_ stored: KubernetesClient.TLSSecret) -> ServingCertificate? {
        var material = ServingCertificate(
            certificateAuthority: stored.certificateAuthority, certificate: stored.certificate,
            privateKey: stored.privateKey)
        material.previousCertificateAuthority = stored.previousCertificateAuthority
        guard let remaining = try? material.remainingLifetime(at: now()), remaining > renewBefore,
            (try? material.names(dnsNames)) == true, (try? TLSServerContext(material)) != nil
        else { return nil }
        return material
    }
}
