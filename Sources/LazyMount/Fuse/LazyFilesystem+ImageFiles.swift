/// Files of the image read by path without going through the kernel: how a bundle reads the image's
/// `/etc/passwd` and `/etc/group` before anything is mounted on top, fetching only their spans.
extension LazyFilesystem {
    /// The bytes of the regular file at `path` inside the image, nil when there is none. Symlinks are followed
    /// inside the image as a chroot would (an absolute target starts again at the image's root, `..` stops
    /// there), never into the host's files; files over `limit` bytes are refused.
    func contents(ofImagePath path: String, limit: Int64 = 4 << 20) async throws(LazyMountError) -> [UInt8]? {
        guard let inode = resolve(path) else { return nil }
        guard let node = table.node(inode), node.entry.kind == .file, node.layer >= 0 else { return nil }
        guard node.entry.size <= limit else {
            throw .bundle(reason: "\(path) in the image is \(node.entry.size) bytes, more than \(limit)")
        }
        guard node.entry.size > 0 else { return [] }
        let start = node.entry.offset
        let end = start + node.entry.size
        return try await readers[node.layer].read(range: start..<end)
    }

    /// The inode `path` names, following symlinks within the image (at most 40, like the kernel).
    func resolve(_ path: String) -> UInt64? {
        var pending = path.split(separator: "/").map(String.init)
        var stack: [UInt64] = [InodeTable.rootInode]
        var links = 0
        while !pending.isEmpty {
            let name = pending.removeFirst()
            if name == "." || name.isEmpty { continue }
            if name == ".." {
                if stack.count > 1 { stack.removeLast() }
                continue
            }
            guard let current = stack.last, let child = table.lookup(current, name), let node = table.node(child)
            else { return nil }
            if node.entry.kind == .symlink {
                links += 1
                guard links <= 40, let target = node.entry.linkName else { return nil }
                if target.hasPrefix("/") { stack = [InodeTable.rootInode] }
                pending = target.split(separator: "/").map(String.init) + pending
                continue
            }
            if !pending.isEmpty && node.entry.kind != .directory { return nil }
            stack.append(child)
        }
        return stack.last
    }
}
