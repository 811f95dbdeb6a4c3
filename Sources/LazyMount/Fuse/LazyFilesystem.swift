import FoundationEssentials
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The image as a read-only filesystem: metadata from the index (answered at once), file bytes from the chunk
/// cache, which fetches spans from the registry on demand.
///
/// Reads are answered from a task, so a FUSE worker never waits on the network. Each read is bounded by
/// `fetchTimeout`: retries with backoff run inside that bound, and when it passes the reader gets EIO — a registry
/// that stops answering never leaves `cat` stuck for minutes. Bad bytes (wrong digest, short range) are EIO too.
final class LazyFilesystem: FuseFilesystem {
    /// Content and metadata never change, so the kernel may keep them as long as it likes.
    static let cacheTimeout: Double = 86_400
    /// The most a sequential reader is read ahead of, in uncompressed bytes of its file, or two spans if more:
    /// spans inflating on both cores while the reader copies are how a sequential read keeps up with
    /// `curl | gzip -d`. The lead grows with the run read so far, as the kernel's own readahead does: page
    /// faults walking a library's relocations look sequential for a few pages, and a fixed lead after each of
    /// them fetched spans nobody read.
    static let readaheadBytes: Int64 = 2 << 20

    let index: ImageIndex
    let table: InodeTable
    let source: any BlobSource
    let cache: ChunkCache
    let fetchTimeout: Duration
    let logger: Logger
    /// Set while a start-up profile is recorded: every read through the kernel reports its file and spans.
    let recorder: ProfileRecorder?
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
    }

    /// Reads still to be answered; the session must outlive them.
    var outstandingReads: Int { outstanding.withLock { $0 } }

    func initialize() {}

    func lookup(_ request: FuseRequest, parent: UInt64, name: String) {
        guard let inode = table.lookup(parent, name), let attributes = attributes(inode) else {
            return request.fail(ENOENT)
        }
        request.entry(attributes, timeout: Self.cacheTimeout)
    }

    func getattr(_ request: FuseRequest, inode: UInt64) {
        guard let attributes = attributes(inode) else { return request.fail(ENOENT) }
        request.attributes(attributes, timeout: Self.cacheTimeout)
    }

    func readlink(_ request: FuseRequest, inode: UInt64) {
        guard let node = table.node(inode) else { return request.fail(ENOENT) }
        guard node.entry.kind == .symlink, let target = node.entry.linkName else { return request.fail(EINVAL) }
        request.link(target)
    }

    func open(inode: UInt64, flags: Int32) -> Int32 {
        guard let node = table.node(inode) else { return ENOENT }
        if flags & O_ACCMODE != O_RDONLY || flags & O_TRUNC != 0 { return EROFS }
        return node.entry.kind == .directory ? EISDIR : 0
    }

    func read(_ request: FuseRequest, inode: UInt64, size: Int, offset: Int64) {
        guard let node = table.node(inode) else { return request.fail(ENOENT) }
        guard node.entry.kind == .file, node.layer >= 0 else { return request.fail(EISDIR) }
        let end = min(offset + Int64(size), node.entry.size)
        guard offset < end else { return request.data([]) }
        outstanding.withLock { $0 += 1 }
        let layer = node.layer
        let start = node.entry.offset + offset
        let fileEnd = node.entry.offset + node.entry.size
        recorder?.record(file: node.entry.path)
        let lead = runs.withLock { runs in
            let run = runs[inode].flatMap { $0.upperBound == offset && offset > 0 ? $0.lowerBound..<end : nil }
            runs[inode] = run ?? offset..<end
            return min(max(Self.readaheadBytes, 2 * index.span), Int64(run?.count ?? 0))
        }
        Task {
            defer { outstanding.withLock { $0 -= 1 } }
            do throws(LazyMountError) {
                let bytes = try await Deadline.race(fetchTimeout, layer: index.layers[layer].digest) {
                    () async throws(LazyMountError) -> [UInt8] in
                    try await self.read(
                        layer: layer, range: start..<(start + (end - offset)), lead: lead, fileEnd: fileEnd,
                        record: true)
                }
                request.data(bytes)
            } catch {
                logger.error(
                    "read failed, answering EIO",
                    metadata: ["path": "\(node.entry.path)", "offset": "\(offset)", "error": "\(error)"])
                request.fail(EIO)
            }
        }
    }

    func readdirplus(_ request: FuseRequest, inode: UInt64, size: Int, offset: Int64) {
        guard let node = table.node(inode) else { return request.fail(ENOENT) }
        guard node.entry.kind == .directory else { return request.fail(ENOTDIR) }
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
        guard let node = table.node(inode) else { return request.fail(ENOENT) }
        guard let value = node.entry.xattrs?[name] else { return request.fail(ENODATA) }
        if size == 0 { return request.xattrSize(value.count) }
        guard value.count <= size else { return request.fail(ERANGE) }
        request.data([UInt8](value))
    }

    func listxattr(_ request: FuseRequest, inode: UInt64, size: Int) {
        guard let node = table.node(inode) else { return request.fail(ENOENT) }
        var list: [UInt8] = []
        for name in (node.entry.xattrs ?? [:]).keys.sorted() { list += Array(name.utf8) + [0] }
        if size == 0 { return request.xattrSize(list.count) }
        guard list.count <= size else { return request.fail(ERANGE) }
        request.data(list)
    }

    /// Uncompressed bytes `range` of layer `layer`, span by span through the cache. With a `lead`, the spans
    /// after it up to `lead` bytes further (never past `fileEnd`) are fetched in the background, so a sequential
    /// reader finds them ready.
    /// `record`: a reader's demand (not a readahead or the image-file reader), which a profile being recorded keeps.
    func read(layer: Int, range: Range<Int64>, lead: Int64 = 0, fileEnd: Int64 = 0, record: Bool = false)
        async throws(LazyMountError)
        -> [UInt8]
    {
        let layerIndex = index.layers[layer]
        guard var spanIndex = layerIndex.spanIndex(containing: range.lowerBound) else {
            throw .outOfRange("no span holds offset \(range.lowerBound) of layer \(layerIndex.digest)")
        }
        // The spans of one read that are neither here nor coming are fetched as one run, one request and one
        // inflate, not one after another on the reader's path (a kernel read crossing a span's end).
        if layerIndex.compression != .zstd, !range.isEmpty,
            let last = layerIndex.spanIndex(containing: range.upperBound - 1), last > spanIndex
        {
            fetchRun(layer: layer, spans: spanIndex..<(last + 1))
        }
        var result: [UInt8] = []
        result.reserveCapacity(range.count)
        var position = range.lowerBound
        while position < range.upperBound {
            let span = layerIndex.spans[spanIndex]
            if record { recorder?.record(layer: layerIndex.digest, span: spanIndex) }
            let bytes = try await spanBytes(layer: layer, span: spanIndex)
            let from = Int(position - span.uncompressedOffset)
            let to = Int(min(range.upperBound, span.uncompressedOffset + span.length) - span.uncompressedOffset)
            result.append(contentsOf: bytes[from..<to])
            position = span.uncompressedOffset + Int64(to)
            if position >= span.uncompressedOffset + span.length { spanIndex += 1 }
        }
        let last = layerIndex.spans[min(spanIndex, layerIndex.spans.count - 1)]
        let next = last.uncompressedOffset + last.length <= range.upperBound ? spanIndex : spanIndex + 1
        if lead > 0 { readAhead(layer: layer, from: next, before: min(fileEnd, range.upperBound + lead), lead: lead) }
        return result
    }

    /// When a span the reader will reach within `lead` (before `horizon`) is neither here nor coming, fetches it
    /// and those after it, up to `lead` bytes and the file's end, in runs of `runBytes`: the next runs start when
    /// the reader is again `lead` from the end of what it has, so a sequential reader costs one request per
    /// `runBytes`, not one per span.
    private func readAhead(layer: Int, from next: Int, before horizon: Int64, lead: Int64) {
        let layerIndex = index.layers[layer]
        guard layerIndex.compression != .zstd else { return prefetch(layer: layer, span: next, before: horizon) }
        var first = next
        while first < layerIndex.spans.count, layerIndex.spans[first].uncompressedOffset < horizon,
            cache.isCachedOrComing(ChunkCache.Key(layer: layer, span: first), layer: layerIndex)
        {
            first += 1
        }
        guard first < layerIndex.spans.count, layerIndex.spans[first].uncompressedOffset < horizon else { return }
        let stop = layerIndex.spans[first].uncompressedOffset + lead
        var end = first + 1
        while end < layerIndex.spans.count, layerIndex.spans[end].uncompressedOffset < stop { end += 1 }
        // In runs of at most `runBytes`, fetched side by side: one inflate is one core.
        let runSpans = max(1, Int(Self.runBytes / max(1, index.span)))
        for start in stride(from: first, to: end, by: runSpans) {
            fetchRun(layer: layer, spans: start..<min(start + runSpans, end))
        }
    }

    /// The most one request and one inflate bring (or one span, if larger). A lead of large spans (two, at 4 MiB)
    /// is then fetched span by span side by side, inflating on both cores, as before runs existed (one run of
    /// two 4 MiB spans inflated on one core: bench-mount 0.80x curl|gzip instead of 1.26x); a lead of small
    /// spans is one run, whose data arrives in the order it is read.
    static let runBytes: Int64 = readaheadBytes

    /// Starts fetching the first stretch of `spans` not here nor coming as one run; readers that reach those
    /// spans wait on this fetch, each within its own `fetchTimeout`.
    func fetchRun(layer: Int, spans: Range<Int>) {
        cache.fetchAhead(spans, layer: layer, index: index.layers[layer]) {
            (stretch) async throws(LazyMountError) -> [(index: Int, bytes: [UInt8])] in
            try await self.withRetries(layer: layer, first: stretch.lowerBound) {
                (reader, preceding) async throws(LazyMountError) -> [(index: Int, bytes: [UInt8])] in
                try await reader.fetchRun(stretch, preceding: preceding)
            }
        }
    }

    /// Starts fetching a span if it is not cached or on its way (a zstd layer's first span brings all of them);
    /// errors are left for the reader who needs it.
    private func prefetch(layer: Int, span: Int, before horizon: Int64) {
        let layerIndex = index.layers[layer]
        guard span < layerIndex.spans.count, layerIndex.spans[span].uncompressedOffset < horizon,
            !cache.isCachedOrComing(ChunkCache.Key(layer: layer, span: span), layer: layerIndex)
        else { return }
        Task {
            _ = try? await Deadline.race(fetchTimeout, layer: layerIndex.digest) {
                () async throws(LazyMountError) -> [UInt8] in try await self.spanBytes(layer: layer, span: span)
            }
        }
    }

    /// One verified span: from the cache, or fetched with retries.
    func spanBytes(layer: Int, span: Int) async throws(LazyMountError) -> [UInt8] {
        try await cache.span(ChunkCache.Key(layer: layer, span: span), layer: index.layers[layer]) {
            () async throws(LazyMountError) -> [(index: Int, bytes: [UInt8])] in
            try await self.withRetries(layer: layer, first: span) {
                (reader, preceding) async throws(LazyMountError) -> [(index: Int, bytes: [UInt8])] in
                try await reader.fetchSpans(span, preceding: preceding)
            }
        }
    }

    /// `fetch` with retries on transient failures (a digest mismatch will not improve by asking again), within
    /// `fetchTimeout` of its own: it is shared by every reader waiting on its spans. It is handed the span before
    /// `first` when that is already here: its last 32 KiB stand in for the stored window (a request and ~11 KB
    /// saved).
    private func withRetries(
        layer: Int, first: Int,
        _ fetch: (SpanReader, [UInt8]?) async throws(LazyMountError) -> [(index: Int, bytes: [UInt8])]
    ) async throws(LazyMountError) -> [(index: Int, bytes: [UInt8])] {
        let layerIndex = index.layers[layer]
        let reader = SpanReader(layer: layerIndex, source: source)
        let preceding =
            first > 0 && layerIndex.compression == .gzip && layerIndex.spans[first].checkpoint?.window == nil
            ? cache.cached(ChunkCache.Key(layer: layer, span: first - 1), layer: layerIndex) : nil
        var delay = Duration.milliseconds(250)
        let giveUp = ContinuousClock.now + fetchTimeout
        while true {
            do throws(LazyMountError) {
                return try await fetch(reader, preceding)
            } catch {
                guard Self.isTransient(error) else { throw error }
                logger.warning(
                    "fetching a span failed, retrying",
                    metadata: ["layer": "\(layerIndex.digest)", "span": "\(first)", "error": "\(error)"])
                if Task.isCancelled || ContinuousClock.now + delay > giveUp { throw error }
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(4))
            }
        }
    }

    static func isTransient(_ error: LazyMountError) -> Bool {
        switch error {
        case .registry(.unreachable), .registry(.timedOut), .registry(.transport): return true
        case .registry(.unexpectedStatus(_, _, let status, _)): return status >= 500 || status == 429
        case .registry(.blobFetch(_, let status)): return status >= 500 || status == 429 || status == 408
        default: return false
        }
    }

    private func attributes(_ inode: UInt64) -> FuseAttributes? {
        guard let node = table.node(inode) else { return nil }
        let entry = node.entry
        let type: UInt32
        var size: Int64 = 0
        switch entry.kind {
        case .file:
            type = UInt32(S_IFREG)
            size = entry.size
        case .directory:
            type = UInt32(S_IFDIR)
            size = 4096
        case .symlink:
            type = UInt32(S_IFLNK)
            size = Int64(entry.linkName?.utf8.count ?? 0)
        case .characterDevice: type = UInt32(S_IFCHR)
        case .blockDevice: type = UInt32(S_IFBLK)
        case .fifo: type = UInt32(S_IFIFO)
        case .hardlink: type = UInt32(S_IFREG)
        }
        // Linux shows every symlink as 0777 whatever the tar header said (symlink(7)).
        let permissions = entry.kind == .symlink ? 0o777 : entry.mode & 0o7777
        return FuseAttributes(
            inode: inode, mode: type | permissions, linkCount: node.linkCount,
            uid: UInt32(truncatingIfNeeded: entry.uid), gid: UInt32(truncatingIfNeeded: entry.gid), size: size,
            deviceMajor: entry.devMajor ?? 0, deviceMinor: entry.devMinor ?? 0, mtime: entry.mtime)
    }
}
