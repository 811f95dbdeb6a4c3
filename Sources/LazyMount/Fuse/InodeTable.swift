/// The merged tree of an index as the kernel sees it: inode numbers, directory listings, link counts. Built once
/// when the mount starts and never changed, because an image is immutable — so lookups need no lock and `forget`
/// has nothing to free.
///
/// Inode 1 is the root (FUSE_ROOT_ID). A hard link shares the inode of its target (as `umoci unpack` and the
/// kernel would show it), so `st_nlink` and `st_ino` agree with the unpacked tree. Directories a layer implies but
/// never lists get mode 0755, like the runtimes' unpackers create them.
struct InodeTable: Sendable {
    struct Node: Sendable {
        var entry: TarEntry
        /// The layer holding the bytes (for a hard link: its target's layer); -1 for synthesised directories.
        var layer: Int
        var parent: UInt64
        var linkCount: UInt32
        /// Directories only: children sorted by name, so `readdir` offsets are stable.
        var children: [(name: String, inode: UInt64)]
    }

    static let rootInode: UInt64 = 1

    private(set) var nodes: [Node] = []
    /// Sum of regular file sizes, for `statfs`.
    private(set) var totalBytes: Int64 = 0

    init(index: ImageIndex) {
        let root = TarEntry(
            path: "", kind: .directory, mode: 0o755, uid: 0, gid: 0, mtime: 0, size: 0, linkName: nil,
            devMajor: nil, devMinor: nil, xattrs: nil, offset: 0)
        nodes.append(Node(entry: root, layer: -1, parent: Self.rootInode, linkCount: 2, children: []))
        var byPath: [String: UInt64] = ["": Self.rootInode]
        var pendingChildren: [UInt64: [(String, UInt64)]] = [:]

        func directory(_ path: String) -> UInt64 {
            if let inode = byPath[path] { return inode }
            let (parentPath, name) = LayerMerge.split(path)
            let parent = directory(parentPath)
            var implied = nodes[0].entry
            implied.path = path
            let inode = UInt64(nodes.count + 1)
            nodes.append(Node(entry: implied, layer: -1, parent: parent, linkCount: 2, children: []))
            byPath[path] = inode
            pendingChildren[parent, default: []].append((name, inode))
            return inode
        }

        // Everything but hard links first: a link may sort before its target.
        for merged in index.tree where merged.entry.kind != .hardlink {
            let entry = merged.entry
            let (parentPath, name) = LayerMerge.split(entry.path)
            if let existing = byPath[entry.path], entry.kind == .directory {
                // A directory implied by a deeper path before its own entry was reached.
                nodes[Int(existing - 1)].entry = entry
                nodes[Int(existing - 1)].layer = merged.layer
                continue
            }
            let parent = directory(parentPath)
            let inode = UInt64(nodes.count + 1)
            nodes.append(
                Node(
                    entry: entry, layer: merged.layer, parent: parent, linkCount: entry.kind == .directory ? 2 : 1,
                    children: []))
            byPath[entry.path] = inode
            pendingChildren[parent, default: []].append((name, inode))
            if entry.kind == .file { totalBytes += entry.size }
        }
        for merged in index.tree where merged.entry.kind == .hardlink {
            let (parentPath, name) = LayerMerge.split(merged.entry.path)
            guard let target = merged.entry.linkName.flatMap({ byPath[$0] }),
                nodes[Int(target - 1)].entry.kind != .directory
            else { continue }  // a link to nothing the merged tree holds: not shown, as umoci cannot create it
            nodes[Int(target - 1)].linkCount += 1
            pendingChildren[directory(parentPath), default: []].append((name, target))
        }
        for (parent, children) in pendingChildren {
            let sorted = children.sorted { $0.0 < $1.0 }
            nodes[Int(parent - 1)].children = sorted.map { (name: $0.0, inode: $0.1) }
            let subdirectories = sorted.filter { nodes[Int($0.1 - 1)].entry.kind == .directory }.count
            nodes[Int(parent - 1)].linkCount = 2 + UInt32(subdirectories)
        }
    }

    func node(_ inode: UInt64) -> Node? {
        inode >= 1 && inode <= UInt64(nodes.count) ? nodes[Int(inode - 1)] : nil
    }

    /// The child `name` of directory `parent`: a binary search over the sorted listing.
    func lookup(_ parent: UInt64, _ name: String) -> UInt64? {
        guard let children = node(parent)?.children else { return nil }
        var low = 0
        var high = children.count
        while low < high {
            let mid = (low + high) / 2
            if children[mid].name < name { low = mid + 1 } else { high = mid }
        }
        return low < children.count && children[low].name == name ? children[low].inode : nil
    }

    var count: Int { nodes.count }
}
