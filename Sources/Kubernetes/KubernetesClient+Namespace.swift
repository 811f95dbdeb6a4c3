/// Namespaces, for the refresh loop's include/exclude patterns.
extension KubernetesClient {
    /// Every namespace name, following `metadata.continue` through the pages.
    package func namespaceNames() async throws(KubernetesError) -> [String] {
        var names = [String]()
        var continueToken: String?
        repeat {
            var path = "/api/v1/namespaces?limit=\(listPageSize)"
            if let continueToken { path += "&continue=" + Self.segment(continueToken) }
            let list = try await send(.listNamespaces, "GET", path: path, namespace: nil, name: nil)
            guard case .array(let items)? = list["items"] else {
                throw .invalidResponse(resource: "namespaces", reason: "the list has no `items`")
            }
            names += items.compactMap { $0["metadata"]?["name"]?.stringValue }
            continueToken = list.metadata["continue"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        } while continueToken != nil
        return names
    }
}
