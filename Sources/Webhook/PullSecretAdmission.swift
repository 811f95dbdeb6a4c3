internal import Logging
internal import Refresh
internal import SystemSupport

/// The webhook's one decision: for a Pod created in a namespace a Secret output of the refresh config selects,
/// add that output's Secret unless the Pod's ServiceAccount already carries it or the Pod lists it. This closes
/// the race the refresh controller cannot: a ServiceAccount and a Deployment applied together, whose first Pods
/// are admitted before the controller has patched the ServiceAccount.
struct PullSecretAdmission: Sendable {
    let outputs: [RefreshConfig.SecretOutput]
    /// The namespace a Secret output without `namespaces` or `namespaceSelector` writes to (the refresh's own).
    let home: String
    let cluster: WatchedCluster
    let logger: Logger

    /// The AdmissionReview response for `body`; a body that is no review throws.
    func respond(to body: [UInt8]) throws(AdmissionReviewError) -> [UInt8] {
        let review = try AdmissionReview.parse(body)
        var patch: [JSONValue] = []
        if review.isPodCreation, let pod = review.object {
            let namespace = review.namespace
            let labels = cluster.labels(ofNamespace: namespace)
            let wanted = outputs.filter { $0.selects(namespace, labels: labels, home: home) }.map(\.name)
            let account = PullSecretPatch.serviceAccount(of: pod)
            let missing = PullSecretPatch.missing(
                wanted, pod: pod, accountSecrets: cluster.pullSecrets(namespace: namespace, serviceAccount: account))
            patch = PullSecretPatch.operations(adding: missing, to: pod)
            if !missing.isEmpty {
                logger.info(
                    "adding pull secrets to a pod",
                    metadata: [
                        "namespace": "\(namespace)", "serviceAccount": "\(account)", "secrets": "\(missing)",
                        "uid": "\(review.uid)",
                    ])
            }
        }
        do {
            return try review.response(patch: patch)
        } catch {
            throw .notJSON("cannot encode the response: \(error)")
        }
    }
}
