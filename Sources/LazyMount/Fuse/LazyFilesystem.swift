internal import FoundationEssentials
internal import Logging
internal import Synchronization

/// The image as a read-only filesystem: metadata from the index (answered at once), file bytes from the chunk
/// cache, which fetches spans from the registry on demand.
///
/// Reads are answered from a task, so a FUSE worker never waits on the network. Each read is bounded by
/// `fetchTimeout`: retries with backoff run inside that bound, and when it passes the reader gets EIO — a registry
/// that stops answering never leaves `cat` stuck for minutes. Bad bytes (wrong digest, short range) are EIO too.
final class LazyFilesystem: FuseFilesystem {
    /// Content and metadata never change, so the kernel may keep them as long as it likes.
    static let cacheTimeout: Double = 86_400
    let index: ImageIndex
    let table: InodeTable
    let source: any BlobSource
    let cache: ChunkCache
    let fetchTimeout: Duration
    let logger: Logger
    /// Set while a start-up profile is recorded: every read through the kernel reports its file and spans.
    let recorder: ProfileRecorder?
    /// Each layer's read path, in the index's order.
    let readers: [LayerReader]
    private let outstanding = Mutex(0)
    /// Each inode's current run of reads, each starting where the last ended: its length is the lead it earns.
    /// Page faults in a mapped library jump about; fetching spans after each of them cost a container start-up
    /// more than its own reads (measured by helpers/bench-run: 67 of 97 MB for node and python3).
    private let runs = Mutex<[UInt64: Range<Int64>]>([:])

    init(
        index: ImageIndex, source: any BlobSource, cache: ChunkCache, fetchTimeout: Duration, logger: Logger,
        recorder: ProfileRecorder? = nil
    ) {
        self.index = index
        table = InodeTable(index: index)
        self.source = source
        self.cache = cache
        self.fetchTimeout = fetchTimeout
        self.logger = logger
        self.recorder = recorder
        readers = index.layers.enumerated().map { position, layer in
            LayerReader(
                position: position, layer: layer, source: source, cache: cache, fetchTimeout: fetchTimeout,
                logger: logger, recorder: recorder, span: index.span)
        }
    }

    /// Reads still to be answered; the session must outlive them.
    var outstandingReads: Int { outstanding.withLock { $0 } }

    func initialize() {}

    func lookup(_ request: FuseRequest, parent: UInt64, name: String) {
        guard let inode = table.lookup(parent, name), let attributes = attributes(inode) else {
            return request.fail(.noEntry)
        }
        request.entry(attributes, timeout: Self.cacheTimeout)
    }

    func getattr(_ request: FuseRequest, inode: UInt64) {
        guard let attributes = attributes(inode) else { return request.fail(.noEntry) }
        request.attributes(attributes, timeout: Self.cacheTimeout)
    }

    func readlink(_ request: FuseRequest, inode: UInt64) {
        guard let node = table.node(inode) else { return request.fail(.noEntry) }
        guard node.entry.kind == .symlink, let target = node.entry.linkName else { return request.fail(.invalid) }
        request.link(target)
    }

    func open(inode: UInt64, writing: Bool) -> FuseError? {
        guard let node = table.node(inode) else { return .noEntry }
        if writing { return .readOnly }
        return node.entry.kind == .directory ? .isDirectory : nil
    }

    func read(_ request: FuseRequest, inode: UInt64, size: Int, offset: Int64) {
        guard let node = table.node(inode) else { return request.fail(.noEntry) }
        guard node.entry.kind == .file, node.layer >= 0 else { return request.fail(.isDirectory) }
        let end = min(offset + Int64(size), node.entry.size)
        guard offset < end else { return request.data([]) }
        outstanding.withLock { $0 += 1 }
        let start = node.entry.offset + offset
        let fileEnd = node.entry.offset + node.entry.size
        recorder?.record(file: node.entry.path)
        let lead = runs.withLock { runs in
            let run = runs[inode].flatMap { $0.upperBound == offset && offset > 0 ? $0.lowerBound..<end : nil }
            runs[inode] = run ?? offset..<end
            return min(max(LayerReader.readaheadBytes, 2 * index.span), Int64(run?.count ?? 0))
        }
        let reader = readers[node.layer]
        Task {
            defer { outstanding.withLock { $0 -= 1 } }
            do throws(LazyMountError) {
                let bytes = try await Deadline.race(fetchTimeout, layer: reader.layer.digest) {
                    () async throws(LazyMountError) -> [UInt8] in
                    try await reader.read(
                        range: start..<(start + (end - offset)), lead: lead, fileEnd: fileEnd, record: true)
                }
                request.data(bytes)
            } catch {
                logger.error(
                    "read failed, answering EIO",
                    metadata: ["path": "\(node.entry.path)", "offset": "\(offset)", "error": "\(error)"])
                request.fail(.io)
            }
        }
    }

    func readdirplus(_ request: FuseRequest, inode: UInt64, size: Int, offset: Int64) {
        guard let node = table.node(inode) else { return request.fail(.noEntry) }
        guard node.entry.kind == .directory else { return request.fail(.notDirectory) }
        // Offsets: 0 → ".", 1 → "..", 2 + i → children[i]; each entry's nextOffset is its position + 1.
        var entries: [FuseDirectoryEntry] = []
        var position = Int(max(0, offset))
        let total = 2 + node.children.count
        while position < total && entries.count < 512 {
            let (name, child) =
                position == 0 ? (".", inode) : position == 1 ? ("..", node.parent) : node.children[position - 2]
            if let attributes = attributes(child) {
                entries.append(FuseDirectoryEntry(name: name, attributes: attributes, nextOffset: Int64(position + 1)))
            }
            position += 1
        }
        request.directory(entries, size: size, timeout: Self.cacheTimeout)
    }

    func statfs(_ request: FuseRequest) {
        request.statfs(blocks: UInt64((table.totalBytes + 4095) / 4096), files: UInt64(table.count))
    }

    func getxattr(_ request: FuseRequest, inode: UInt64, name: String, size: Int) {
        guard let node = table.node(inode) else { return request.fail(.noEntry) }
        guard let value = node.entry.xattrs?[name] else { return request.fail(.noData) }
        if size == 0 { return request.xattrSize(value.count) }
        guard value.count <= size else { return request.fail(.range) }
        request.data([UInt8](value))
    }

    func listxattr(_ request: FuseRequest, inode: UInt64, size: Int) {
        guard let node = table.node(inode) else { return request.fail(.noEntry) }
        var list: [UInt8] = []
        for name in (node.entry.xattrs ?? [:]).keys.sorted() { list += Array(name.utf8) + [0] }
        if size == 0 { return request.xattrSize(list.count) }
        guard list.count <= size else { return request.fail(.range) }
        request.data(list)
    }

    private func attributes(_ inode: UInt64) -> FuseAttributes? {
        guard let node = table.node(inode) else { return nil }
        let entry = node.entry
        let kind: FuseAttributes.Kind
        var size: Int64 = 0
        switch entry.kind {
        case .file:
            kind = .regular
            size = entry.size
        case .directory:
            kind = .directory
            size = 4096
        case .symlink:
            kind = .symlink
            size = Int64(entry.linkName?.utf8.count ?? 0)
        case .characterDevice: kind = .characterDevice
        case .blockDevice: kind = .blockDevice
        case .fifo: kind = .fifo
        case .hardlink: kind = .regular
        }
        // Linux shows every symlink as 0777 whatever the tar header said (symlink(7)).
        let permissions = entry.kind == .symlink ? 0o777 : entry.mode & 0o7777
        return FuseAttributes(
            inode: inode, kind: kind, permissions: permissions, linkCount: node.linkCount,
            uid: UInt32(truncatingIfNeeded: entry.uid), gid: UInt32(truncatingIfNeeded: entry.gid), size: size,
            deviceMajor: entry.devMajor ?? 0, deviceMinor: entry.devMinor ?? 0, mtime: entry.mtime)
    }
}
