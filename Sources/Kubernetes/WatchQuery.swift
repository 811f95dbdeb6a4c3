package import SystemSupport

/// A collection the refresh controller lists and watches across every namespace, narrowed by selectors: the
/// `fieldSelector` `metadata.name=NAME` is what lets RBAC's `resourceNames` grant a list or watch (RBAC docs,
/// "Referring to resources"), so a watch of one Secret name needs no right to read every Secret.
package struct WatchQuery: Sendable, Hashable, CustomStringConvertible {
    /// namespaces, secrets or serviceaccounts (core/v1).
    package let resource: String
    package let labelSelector: String?
    package let fieldSelector: String?

    package init(resource: String, labelSelector: String? = nil, fieldSelector: String? = nil) {
        self.resource = resource
        self.labelSelector = labelSelector
        self.fieldSelector = fieldSelector
    }

    /// Namespaces, all of them (their names and labels decide the selection).
    package static let namespaces = WatchQuery(resource: "namespaces")

    /// The Secrets named `name` that carry `label` (key=value): the ones this output owns.
    package static func ownedSecrets(named name: String, label: String) -> WatchQuery {
        WatchQuery(resource: "secrets", labelSelector: label, fieldSelector: "metadata.name=" + name)
    }

    /// ServiceAccounts named `name`, or every one when nil.
    package static func serviceAccounts(named name: String?) -> WatchQuery {
        WatchQuery(resource: "serviceaccounts", fieldSelector: name.map { "metadata.name=" + $0 })
    }

    package var description: String {
        ([resource] + [labelSelector, fieldSelector].compactMap { $0 }).joined(separator: " ")
    }

    var listCall: KubernetesAPICall { KubernetesAPICall("list", resource) }
    var watchCall: KubernetesAPICall { KubernetesAPICall("watch", resource) }

    func path(_ parameters: [(String, String)]) -> String {
        var query = parameters
        if let labelSelector { query.append(("labelSelector", labelSelector)) }
        if let fieldSelector { query.append(("fieldSelector", fieldSelector)) }
        let text = query.map { $0.0 + "=" + KubernetesClient.segment($0.1) }.joined(separator: "&")
        return "/api/v1/\(resource)" + (text.isEmpty ? "" : "?" + text)
    }
}

/// One line of a watch stream, as the API server sends it (API concepts, "Efficient detection of changes").
package enum WatchEvent: Sendable {
    /// The server accepted the watch (200 and its head): from here on, changes arrive.
    case opened
    case added([String: JSONValue])
    case modified([String: JSONValue])
    case deleted([String: JSONValue])
    /// Nothing changed that this watch sees up to `resourceVersion`: resume from there.
    case bookmark(resourceVersion: String)
    /// 410 Expired/Gone: the resourceVersion is older than the server keeps; list again.
    case expired(message: String)
}
