internal import Crypto
internal import FoundationEssentials
internal import Synchronization
internal import SystemSupport

/// Verified, uncompressed spans of an image's layers: a few in memory (the ones readers are in), all on disk
/// under `$XDG_CACHE_HOME/ocicred/chunks/<layer digest>/`, each fetch's spans in one file (`SpanFiles`), and at
/// most one download per span at a time however many readers ask for it (single-flight) — eight threads reading
/// one cold file cost one range request.
///
/// A span on disk is hashed again before use: the cache directory is not trusted more than the registry.
final class ChunkCache: Sendable {
    struct Key: Hashable, Sendable {
        var layer: Int
        var span: Int
    }

    private struct State: Sendable {
        var memory: [Key: [UInt8]] = [:]
        /// Most recently used last.
        var order: [Key] = []
        var inflight: [Key: Task<[UInt8], any Error>] = [:]
        /// For spans whose fetch waits its turn (a profile's playback): what lets it start at once.
        var promoters: [Key: @Sendable () -> Void] = [:]
        var fetchedBytes: Int64 = 0
        var fetches = 0
        /// By layer digest: which file on disk holds which span, listed once per process and kept current as
        /// spans are written and bad files removed (another process's later files are only a download missed).
        var files: [String: SpanFiles] = [:]
    }

    let directory: String?
    let memorySpans: Int
    private let state = Mutex(State())

    /// Spans kept in memory for a mount: 16 MiB of them, and at least 8, so that a readahead run (`LayerReader.
    /// readaheadBytes`) and the spans readers are in fit together whatever the span size.
    static func memorySpans(span: Int64) -> Int { max(8, Int((16 << 20) / max(1, span))) }

    /// The most one file on disk holds, unless one span is larger: a readahead run (`LayerReader.runBytes`) is one
    /// file, and a zstd layer, which arrives whole, a few.
    static let fileBytes = 4 << 20

    init(directory: String?, memorySpans: Int = 8) {
        self.directory = directory
        self.memorySpans = max(2, memorySpans)
    }

    /// How many spans were downloaded and their uncompressed bytes (what the mount benchmark reports).
    var statistics: (fetches: Int, bytes: Int64) { state.withLock { ($0.fetches, $0.fetchedBytes) } }

    /// Span `key` of `layer`, from memory, disk, or `fetch` (which may hand back more spans than asked for: a
    /// zstd layer yields all of them, and all are kept). Joining a fetch that waits its turn starts it now.
    func span(
        _ key: Key, layer: LayerIndex,
        fetch: @escaping @Sendable () async throws(LazyMountError) -> [(index: Int, bytes: [UInt8])]
    ) async throws(LazyMountError) -> [UInt8] {
        let (task, promote): (Task<[UInt8], any Error>, (@Sendable () -> Void)?) = state.withLock { locked in
            if let bytes = locked.memory[key] {
                Self.touch(key, in: &locked)
                return (Task { bytes }, nil)
            }
            if let running = locked.inflight[key] { return (running, locked.promoters.removeValue(forKey: key)) }
            let running = Task<[UInt8], any Error> { [self] in
                defer { _ = state.withLock { $0.inflight.removeValue(forKey: key) } }
                if let bytes = loadFromDisk(key, layer: layer) {
                    remember(key, bytes)
                    return bytes
                }
                let spans = keep(
                    try await fetch(), layer: key.layer, index: layer, remembering: key.span..<(key.span + 1))
                guard let wanted = spans[key.span] else {
                    throw LazyMountError.outOfRange("span \(key.span) was not fetched")
                }
                return wanted
            }
            locked.inflight[key] = running
            return (running, nil)
        }
        promote?()
        do {
            return try await task.value
        } catch let error as LazyMountError {
            throw error
        } catch {
            throw .outOfRange("span \(key.span): \(error)")
        }
    }

    /// Fetches, with one `fetch`, the first stretch of consecutive spans in `run` (of layer `layer`) that are
    /// neither here nor on their way, each registered as on its way so that a reader asking for one of them
    /// waits for this fetch instead of starting another. Returns that stretch (empty when nothing was missing);
    /// spans after it are left for a later call. Errors reach the readers waiting on those spans. `promote`: what
    /// starts `fetch` at once if it waits its turn, called when a reader joins it.
    @discardableResult
    func fetchAhead(
        _ run: Range<Int>, layer: Int, index: LayerIndex, promote: (@Sendable () -> Void)? = nil,
        fetch: @escaping @Sendable (Range<Int>) async throws(LazyMountError) -> [(index: Int, bytes: [UInt8])]
    ) -> Range<Int> {
        let missing = run.filter { !isCached(Key(layer: layer, span: $0), layer: index) }
        return state.withLock { locked in
            let candidates = missing.drop { locked.inflight[Key(layer: layer, span: $0)] != nil }
            guard let start = candidates.first else { return 0..<0 }
            var end = start
            for span in candidates {
                guard span == end, locked.inflight[Key(layer: layer, span: span)] == nil else { break }
                end += 1
            }
            let stretch = start..<end
            let shared = Task<[Int: [UInt8]], any Error> { [self] in
                keep(try await fetch(stretch), layer: layer, index: index, remembering: stretch)
            }
            for span in stretch {
                let key = Key(layer: layer, span: span)
                locked.promoters[key] = promote
                locked.inflight[key] = Task<[UInt8], any Error> { [self] in
                    defer {
                        state.withLock {
                            $0.inflight[key] = nil
                            $0.promoters[key] = nil
                        }
                    }
                    guard let bytes = try await shared.value[span] else {
                        throw LazyMountError.outOfRange("span \(span) was not fetched")
                    }
                    return bytes
                }
            }
            return stretch
        }
    }

    /// Whether span `key` is here once the fetch under way for it, if any, ends: waits without starting a fetch or
    /// hurrying one that waits its turn (how a profile's playback follows its own fetches).
    func arrival(_ key: Key, layer: LayerIndex) async -> Bool {
        if let running = state.withLock({ $0.inflight[key] }) { return (try? await running.value) != nil }
        return isCached(key, layer: layer)
    }

    /// Span `key` if it is here now (memory or disk), never fetched nor waited for.
    func cached(_ key: Key, layer: LayerIndex) -> [UInt8]? {
        if let bytes = state.withLock({ $0.memory[key] }) { return bytes }
        return loadFromDisk(key, layer: layer)
    }

    /// Whether span `key` is here or a fetch for it is under way.
    func isCachedOrComing(_ key: Key, layer: LayerIndex) -> Bool {
        state.withLock { $0.inflight[key] != nil } || isCached(key, layer: layer)
    }

    /// Whether span `key` is already available without a download (memory or disk).
    func isCached(_ key: Key, layer: LayerIndex) -> Bool {
        if state.withLock({ $0.memory[key] != nil }) { return true }
        return files(of: layer)?.file(holding: key.span) != nil
    }

    /// What one fetch brought: counted, written to disk off the reader's path (the reply does not wait for the
    /// fsync), and kept in memory if in `remembering` (a zstd layer yields every span at once).
    private func keep(
        _ spans: [(index: Int, bytes: [UInt8])], layer: Int, index: LayerIndex, remembering: Range<Int>
    ) -> [Int: [UInt8]] {
        if directory != nil {
            Task.detached(priority: .background) { [self] in
                for group in SpanFiles.files(for: spans, limit: Self.fileBytes) { storeOnDisk(group, layer: index) }
            }
        }
        state.withLock {
            $0.fetches += 1
            $0.fetchedBytes += Int64(spans.reduce(0) { $0 + $1.bytes.count })
        }
        var byIndex: [Int: [UInt8]] = [:]
        for (span, bytes) in spans {
            byIndex[span] = bytes
            if remembering.contains(span) { remember(Key(layer: layer, span: span), bytes) }
        }
        return byIndex
    }

    private func remember(_ key: Key, _ bytes: [UInt8]) {
        state.withLock { state in
            state.memory[key] = bytes
            Self.touch(key, in: &state)
            while state.order.count > memorySpans {
                state.memory.removeValue(forKey: state.order.removeFirst())
            }
        }
    }

    private static func touch(_ key: Key, in state: inout State) {
        if let position = state.order.lastIndex(of: key) { state.order.remove(at: position) }
        state.order.append(key)
    }

    /// Where `layer`'s spans are kept, or nil without a directory.
    private func layerDirectory(_ layer: LayerIndex) -> String? { directory.map { $0 + "/" + layer.digest } }

    /// The span files of `layer` on disk: listed the first time the layer is asked about, then kept current.
    private func files(of layer: LayerIndex) -> SpanFiles? {
        guard let path = layerDirectory(layer) else { return nil }
        if let known = state.withLock({ $0.files[layer.digest] }) { return known }
        let listed = SpanFiles(names: (try? FileIO.list(path)) ?? [], spanCount: layer.spans.count)
        return state.withLock { locked in
            if let known = locked.files[layer.digest] { return known }
            locked.files[layer.digest] = listed
            return listed
        }
    }

    private func loadFromDisk(_ key: Key, layer: LayerIndex) -> [UInt8]? {
        guard let directory = layerDirectory(layer), key.span < layer.spans.count,
            let file = files(of: layer)?.file(holding: key.span)
        else { return nil }
        let span = layer.spans[key.span]
        let offset = layer.spans[file.first..<key.span].reduce(Int64(0)) { $0 + $1.length }
        let path = directory + "/" + file.name
        guard let bytes = try? FileIO.read(path, at: offset, count: Int(span.length)),
            bytes.count == Int(span.length), SHA256.hexDigest(bytes) == span.sha256
        else {
            _ = try? FileIO.remove(path)  // absent, torn or tampered: fetch again
            state.withLock { $0.files[layer.digest]?.remove(file) }
            return nil
        }
        return bytes
    }

    /// Consecutive verified spans in one file. Best effort: a full disk or a read-only cache directory only costs
    /// a later download.
    private func storeOnDisk(_ spans: [(index: Int, bytes: [UInt8])], layer: LayerIndex) {
        guard let directory = layerDirectory(layer), let first = spans.first?.index,
            first + spans.count <= layer.spans.count
        else { return }
        let file = SpanFiles.File(first: first, count: spans.count)
        guard (try? PrivatePath.prepareDirectory(directory)) != nil else { return }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(spans.reduce(0) { $0 + $1.bytes.count })
        for span in spans { bytes += span.bytes }
        guard (try? FileIO.writeAtomically(bytes, to: directory + "/" + file.name)) != nil else { return }
        _ = files(of: layer)
        state.withLock { $0.files[layer.digest]?.add(file) }
    }
}
