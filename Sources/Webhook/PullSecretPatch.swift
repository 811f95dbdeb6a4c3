package import SystemSupport

/// The JSON Patch (RFC 6902) that adds pull Secrets to a Pod's `spec.imagePullSecrets` and changes nothing else:
/// `add /spec/imagePullSecrets` with the whole list when the Pod has none, else one `add …/-` per name, which
/// appends after the entries the Pod already has, in their order.
package enum PullSecretPatch {
    /// The names of `wanted` the Pod needs: not already on its ServiceAccount (`accountSecrets`: the
    /// ServiceAccount admission plugin copies those into a Pod that lists none) and not already in the Pod.
    package static func missing(
        _ wanted: [String], pod: [String: JSONValue], accountSecrets: Set<String>
    ) -> [String] {
        let listed = Set(podPullSecrets(pod))
        var seen = Set<String>()
        return wanted.filter { !listed.contains($0) && !accountSecrets.contains($0) && seen.insert($0).inserted }
    }

    package static func operations(adding names: [String], to pod: [String: JSONValue]) -> [JSONValue] {
        guard !names.isEmpty else { return [] }
        let entries = names.map { JSONValue.object(["name": .string($0)]) }
        if case .array? = pod["spec"]?["imagePullSecrets"] {
            return entries.map {
                .object(["op": .string("add"), "path": .string("/spec/imagePullSecrets/-"), "value": $0])
            }
        }
        return [.object(["op": .string("add"), "path": .string("/spec/imagePullSecrets"), "value": .array(entries)])]
    }

    /// `spec.serviceAccountName`, else the deprecated `spec.serviceAccount`, else `default` (as the
    /// ServiceAccount admission plugin decides it).
    package static func serviceAccount(of pod: [String: JSONValue]) -> String {
        for key in ["serviceAccountName", "serviceAccount"] {
            if let name = pod["spec"]?[key]?.stringValue, !name.isEmpty { return name }
        }
        return "default"
    }

    static func podPullSecrets(_ pod: [String: JSONValue]) -> [String] {
        guard case .array(let entries)? = pod["spec"]?["imagePullSecrets"] else { return [] }
        return entries.compactMap { $0["name"]?.stringValue }
    }
}
