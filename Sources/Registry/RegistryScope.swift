/// A token scope, `resourcetype:resourcename:action[,action…]` (distribution's token scope documentation,
/// "Resource Scope Grammar"), e.g. `repository:library/ubuntu:pull,push`.
package struct RegistryScope: Hashable, Sendable, CustomStringConvertible {
    package var resourceType: String
    package var resourceName: String
    package var actions: [String]

    package init(resourceType: String, resourceName: String, actions: [String]) {
        self.resourceType = resourceType
        self.resourceName = resourceName
        self.actions = actions
    }

    package static func repository(_ name: String, actions: [String]) -> RegistryScope {
        RegistryScope(resourceType: "repository", resourceName: name, actions: actions)
    }

    /// Parses one scope; the name may itself hold `:` (the actions follow the last one).
    package init?(_ text: String) {
        guard let first = text.firstIndex(of: ":"), let last = text.lastIndex(of: ":"), first != last else {
            return nil
        }
        resourceType = String(text[..<first])
        resourceName = String(text[text.index(after: first)..<last])
        actions = text[text.index(after: last)...].split(separator: ",").map(String.init)
        guard !resourceType.isEmpty, !resourceName.isEmpty else { return nil }
    }

    package var description: String { "\(resourceType):\(resourceName):\(actions.joined(separator: ","))" }
}
