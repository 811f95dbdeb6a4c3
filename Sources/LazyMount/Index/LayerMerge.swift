/// Applies layers' changesets bottom-up into one tree (image-spec layer.md, "Applying Changesets" and
/// "Whiteouts"): in each layer, `.wh.NAME` removes NAME and `.wh..wh..opq` removes a directory's children — both
/// from the layers *below* only, whatever their order within the layer — then the layer's own entries are added,
/// a directory over a directory keeping the children, anything else replacing the whole subtree.
struct LayerMerge {
    static let whiteoutPrefix = ".wh."
    static let opaqueMarker = ".wh..wh..opq"

    private var nodes: [String: MergedEntry] = [:]
    private var children: [String: Set<String>] = [:]

    static func merge(_ layers: [[TarEntry]]) -> [MergedEntry] {
        var merge = LayerMerge()
        for (index, entries) in layers.enumerated() { merge.apply(entries, layer: index) }
        return merge.nodes.values.sorted { $0.entry.path < $1.entry.path }
    }

    static func split(_ path: String) -> (parent: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return ("", path) }
        return (String(path[..<slash]), String(path[path.index(after: slash)...]))
    }

    static func join(_ parent: String, _ name: String) -> String { parent.isEmpty ? name : parent + "/" + name }

    mutating func apply(_ entries: [TarEntry], layer: Int) {
        var additions: [TarEntry] = []
        var opaque: [String] = []
        var whiteouts: [String] = []
        for entry in entries where !entry.path.isEmpty {
            let (parent, name) = Self.split(entry.path)
            if name == Self.opaqueMarker {
                opaque.append(parent)
            } else if name.hasPrefix(Self.whiteoutPrefix) {
                whiteouts.append(Self.join(parent, String(name.dropFirst(Self.whiteoutPrefix.count))))
            } else {
                additions.append(entry)
            }
        }
        for directory in opaque {
            for child in children[directory] ?? [] { removeSubtree(child) }
        }
        for path in whiteouts { removeSubtree(path) }
        for entry in additions {
            if let existing = nodes[entry.path], !(existing.entry.kind == .directory && entry.kind == .directory) {
                removeSubtree(entry.path)
            }
            nodes[entry.path] = MergedEntry(layer: layer, entry: entry)
            children[Self.split(entry.path).parent, default: []].insert(entry.path)
        }
    }

    private mutating func removeSubtree(_ path: String) {
        for child in children[path] ?? [] { removeSubtree(child) }
        children[path] = nil
        if nodes.removeValue(forKey: path) != nil {
            children[Self.split(path).parent]?.remove(path)
        }
    }
}
