internal import Credentials
internal import Crypto
internal import SystemSupport

/// The `caBundle` of a MutatingWebhookConfiguration (admissionregistration.k8s.io/v1): the API server trusts the
/// webhook's serving certificate only through it, so it must follow every rotation. Written by GET and PUT with
/// the read resourceVersion (the one retry loop for conflicts), and only when it differs.
extension KubernetesClient {
    static func webhookConfigurationPath(_ name: String) -> String {
        "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/" + segment(name)
    }

    /// Sets `caBundle` (PEM) on every webhook of the configuration `name` that calls the Service
    /// `namespace/service`. Returns whether anything was written; a configuration calling no such Service is
    /// an error, since the webhook would then never be called with a certificate it can prove.
    package func setCABundle(
        webhookConfiguration name: String, service: String, namespace: String, caBundle: [UInt8]
    ) async throws(KubernetesError) -> Bool {
        let encoded = JSONValue.string(Base64.encode(caBundle))
        let path = Self.webhookConfigurationPath(name)
        return try await retryingConflicts(resource: "mutatingwebhookconfigurations", namespace: "", name: name) {
            () async throws(KubernetesError) -> Attempt<Bool> in
            var object = try await send(.getWebhookConfiguration, "GET", path: path, namespace: nil, name: name)
            guard case .array(var webhooks)? = object["webhooks"] else {
                throw .invalidResponse(resource: "mutatingwebhookconfigurations", reason: "\(name) has no webhooks")
            }
            var matched = false
            var changed = false
            for index in webhooks.indices {
                guard var webhook = webhooks[index].objectValue,
                    var clientConfig = webhook["clientConfig"]?.objectValue,
                    clientConfig["service"]?["name"]?.stringValue == service,
                    clientConfig["service"]?["namespace"]?.stringValue == namespace
                else { continue }
                matched = true
                if clientConfig["caBundle"] == encoded { continue }
                clientConfig["caBundle"] = encoded
                webhook["clientConfig"] = .object(clientConfig)
                webhooks[index] = .object(webhook)
                changed = true
            }
            guard matched else {
                throw .invalidResponse(
                    resource: "mutatingwebhookconfigurations",
                    reason: "\(name) has no webhook calling the Service \(namespace)/\(service); "
                        + "check --service and --webhook-configuration against the overlay")
            }
            guard changed else { return .done(false) }
            object["webhooks"] = .array(webhooks)
            _ = try await send(
                .updateWebhookConfiguration, "PUT", path: path, namespace: nil, name: name, body: object)
            return .done(true)
        }
    }
}
