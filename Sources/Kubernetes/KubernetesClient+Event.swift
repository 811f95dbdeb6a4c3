internal import Credentials
internal import FoundationEssentials
internal import SystemSupport

/// core/v1 Events, so what the controller decided about an object shows where operators look for it
/// (`kubectl describe secret`, `kubectl get events`), not only in ocicred's own log.
extension KubernetesClient {
    /// A Warning or Normal Event about `kind` `namespace/name` (its uid when known). The message never holds
    /// Secret data: callers pass what they decided, not what the object contains.
    package func recordEvent(
        about kind: String, namespace: String, name: String, uid: String?, type: String, reason: String,
        message: String
    ) async throws(KubernetesError) {
        var involved: [String: JSONValue] = [
            "apiVersion": .string("v1"), "kind": .string(kind), "namespace": .string(namespace), "name": .string(name),
        ]
        if let uid { involved["uid"] = .string(uid) }
        let time = JSONValue.string(RFC3339.format(now()))
        let event: [String: JSONValue] = [
            "apiVersion": .string("v1"), "kind": .string("Event"),
            "metadata": .object(["generateName": .string(name + "."), "namespace": .string(namespace)]),
            "involvedObject": .object(involved), "type": .string(type), "reason": .string(reason),
            "message": .string(message), "source": .object(["component": .string("ocicred")]),
            "reportingComponent": .string("ocicred"), "firstTimestamp": time, "lastTimestamp": time,
            "count": .integer(1),
        ]
        _ = try await send(
            .createEvent, "POST", path: "/api/v1/namespaces/\(Self.segment(namespace))/events", namespace: namespace,
            name: nil, body: event)
    }
}
