internal import Logging

/// The one read path: uncompressed bytes of one layer, span by span through the chunk cache, each span fetched
/// (with retries) and verified by `SpanReader` before a byte of it is returned. A FUSE read, the image files a
/// bundle reads, a profile's playback and the tests all come through here, so what the tests prove is what the
/// mount does.
struct LayerReader: Sendable {
    /// The most a sequential reader is read ahead of, in uncompressed bytes of its file, or two spans if more:
    /// two runs (`runBytes`) inflating on both cores while the reader copies are how a sequential read keeps up
    /// with `curl | gzip -d` (bench-mount at the default 256 KiB span: one run ahead, 0.73x; two, 0.98-1.16x on a
    /// loaded 2-core machine). The lead grows with the run read so far, as the kernel's own readahead does: page
    /// faults walking a library's relocations look sequential for a few pages, and a fixed lead after each of
    /// them fetched spans nobody read.
    static let readaheadBytes: Int64 = 4 << 20

    /// The most one request and one inflate bring (or one span, if larger): half the lead, so a lead is two
    /// runs fetched side by side, one inflate per core. A lead of large spans (two, at 4 MiB) is fetched span by
    /// span side by side, as before runs existed; the data of one run arrives in the order it is read.
    static let runBytes: Int64 = 2 << 20

    /// The layer's position in the image: its key in the chunk cache.
    let position: Int
    let layer: LayerIndex
    let source: any BlobSource
    let cache: ChunkCache
    /// The longest one fetch, retries included, keeps trying.
    let fetchTimeout: Duration
    let logger: Logger
    /// Set while a start-up profile is recorded: reads that are a reader's demand report their spans.
    let recorder: ProfileRecorder?
    /// The image's span size, which sizes runs and the least lead.
    let span: Int64

    init(
        position: Int, layer: LayerIndex, source: any BlobSource, cache: ChunkCache, fetchTimeout: Duration,
        logger: Logger, recorder: ProfileRecorder?, span: Int64
    ) {
        self.position = position
        self.layer = layer
        self.source = source
        self.cache = cache
        self.fetchTimeout = fetchTimeout
        self.logger = logger
        self.recorder = recorder
        self.span = span
    }

    /// A layer read on its own, outside a mount (`ocicred index`'s checks, tests): spans kept in memory only.
    init(layer: LayerIndex, source: any BlobSource, cache: ChunkCache = ChunkCache(directory: nil, memorySpans: 16)) {
        self.init(
            position: 0, layer: layer, source: source, cache: cache, fetchTimeout: .seconds(30),
            logger: Logger(label: "ocicred.lazymount"), recorder: nil,
            span: max(1, layer.spans.map(\.length).max() ?? 1))
    }

    /// Bytes `[offset, offset + count)` of the layer's uncompressed stream (clamped to its end).
    func read(offset: Int64, count: Int) async throws(LazyMountError) -> [UInt8] {
        guard offset >= 0, offset <= layer.uncompressedSize else {
            throw .outOfRange("offset \(offset) is outside layer \(layer.digest) (\(layer.uncompressedSize) bytes)")
        }
        let end = min(offset + Int64(max(0, count)), layer.uncompressedSize)
        guard offset < end else { return [] }
        return try await read(range: offset..<end)
    }

    /// Bytes of file `entry` (a regular file of this layer) from `offset` within the file.
    func read(_ entry: TarEntry, offset: Int64, count: Int) async throws(LazyMountError) -> [UInt8] {
        guard entry.kind == .file else { throw .outOfRange("\(entry.path) is not a regular file") }
        let end = min(offset + Int64(count), entry.size)
        guard offset >= 0, offset < end else { return [] }
        return try await read(range: (entry.offset + offset)..<(entry.offset + end))
    }

    /// Uncompressed bytes `range`, span by span through the cache. Every cold stretch the range covers is
    /// requested before the first is waited for, so the spans of one read arrive side by side, not one after
    /// another. With a `lead`, the spans after it up to `lead` bytes further (never past `fileEnd`) are fetched
    /// in the background, so a sequential reader finds them ready. `record`: a reader's demand (not a readahead
    /// nor the image-file reader), which a profile being recorded keeps.
    func read(range: Range<Int64>, lead: Int64 = 0, fileEnd: Int64 = 0, record: Bool = false)
        async throws(LazyMountError) -> [UInt8]
    {
        guard var spanIndex = layer.spanIndex(containing: range.lowerBound) else {
            throw .outOfRange("no span holds offset \(range.lowerBound) of layer \(layer.digest)")
        }
        if !range.isEmpty, let last = layer.spanIndex(containing: range.upperBound - 1), last > spanIndex {
            fetchCold(spanIndex..<(last + 1))
        }
        var result: [UInt8] = []
        result.reserveCapacity(range.count)
        var position = range.lowerBound
        while position < range.upperBound {
            let span = layer.spans[spanIndex]
            if record { recorder?.record(layer: layer.digest, span: spanIndex) }
            let bytes = try await spanBytes(spanIndex)
            let from = Int(position - span.uncompressedOffset)
            let to = Int(min(range.upperBound, span.uncompressedOffset + span.length) - span.uncompressedOffset)
            result.append(contentsOf: bytes[from..<to])
            position = span.uncompressedOffset + Int64(to)
            if position >= span.uncompressedOffset + span.length { spanIndex += 1 }
        }
        let last = layer.spans[min(spanIndex, layer.spans.count - 1)]
        let next = last.uncompressedOffset + last.length <= range.upperBound ? spanIndex : spanIndex + 1
        if lead > 0 { readAhead(from: next, before: min(fileEnd, range.upperBound + lead), lead: lead) }
        return result
    }

    /// Starts a fetch for each stretch of `spans` neither here nor coming, all at once: one inflate per stretch,
    /// the stretches side by side (a kernel read crossing spans, some of which a page fault elsewhere already
    /// brought), their compressed bytes asked for in one multi-range request when there are several
    /// (`RangeBatch`: one request where the registry allows it, single ranges where it does not). A zstd layer
    /// has one fetch, the whole blob, which brings every span: the first stretch is all there is to start (a fetch
    /// per span would download the blob once per span). With a `gate`, the fetches wait their turn there (a batch
    /// takes one turn for all its stretches) unless a reader needs one first.
    func fetchCold(_ spans: Range<Int>, gate: FetchGate? = nil) {
        guard layer.compression != .zstd else {
            fetchRun(spans, gate: gate)
            return
        }
        let spanReader = SpanReader(layer: layer, source: source)
        var batched: [(stretch: Range<Int>, range: Range<Int64>)] = []
        for stretch in coldStretches(spans) {
            // A stretch larger than one streamed piece is read piece by piece, not held whole in one answer.
            if let range = spanReader.compressedRange(stretch), Int64(range.count) <= LayerIndexer.fetchChunk {
                batched.append((stretch, range))
            } else {
                fetchRun(stretch, gate: gate)
            }
        }
        guard batched.count > 1 else {
            for (stretch, _) in batched { fetchRun(stretch, gate: gate) }
            return
        }
        let batch = RangeBatch(source: source, digest: layer.digest, ranges: batched.map(\.range), pass: gate?.pass())
        var joined = false
        for ((stretch, _), part) in zip(batched, batch.parts) {
            joined = fetchRun(stretch, pass: batch.pass, part: part) == stretch || joined
        }
        if !joined { batch.pass?.withdraw() }
    }

    /// The stretches of consecutive spans of `spans` neither here nor coming, in order.
    private func coldStretches(_ spans: Range<Int>) -> [Range<Int>] {
        var stretches: [Range<Int>] = []
        for span in spans where !cache.isCachedOrComing(key(span), layer: layer) {
            if let last = stretches.last, last.upperBound == span {
                stretches[stretches.count - 1] = last.lowerBound..<(span + 1)
            } else {
                stretches.append(span..<(span + 1))
            }
        }
        return stretches
    }

    /// When a span the reader will reach within `lead` (before `horizon`) is neither here nor coming, fetches it
    /// and those after it, up to `lead` bytes and the file's end, in runs of `runBytes`: the next runs start when
    /// the reader is again `lead` from the end of what it has, so a sequential reader costs one request per
    /// `runBytes`, not one per span.
    private func readAhead(from next: Int, before horizon: Int64, lead: Int64) {
        guard layer.compression != .zstd else { return prefetch(next, before: horizon) }
        var first = next
        while first < layer.spans.count, layer.spans[first].uncompressedOffset < horizon,
            cache.isCachedOrComing(key(first), layer: layer)
        {
            first += 1
        }
        guard first < layer.spans.count, layer.spans[first].uncompressedOffset < horizon else { return }
        let stop = layer.spans[first].uncompressedOffset + lead
        var end = first + 1
        while end < layer.spans.count, layer.spans[end].uncompressedOffset < stop { end += 1 }
        // In runs of at most `runBytes`, fetched side by side: one inflate is one core.
        for start in stride(from: first, to: end, by: runSpans) {
            fetchRun(start..<min(start + runSpans, end))
        }
    }

    /// How many spans make one run of `runBytes`.
    var runSpans: Int { max(1, Int(Self.runBytes / max(1, span))) }

    /// Starts fetching the first stretch of `spans` not here nor coming as one run; readers that reach those
    /// spans wait on this fetch, each within its own `fetchTimeout`. With a `gate`, the request goes out in its
    /// turn, or as soon as a reader joins the fetch. Returns the stretch started, empty when nothing was missing.
    @discardableResult
    func fetchRun(_ spans: Range<Int>, gate: FetchGate? = nil) -> Range<Int> {
        let pass = gate?.pass()
        let started = fetchRun(spans, pass: pass, part: nil)
        if started.isEmpty { pass?.withdraw() }
        return started
    }

    /// `fetchRun` with the compressed bytes from `part` of a batch when `spans` is what starts: the batch then
    /// enters `pass` once for all its stretches, and a reader joining any of them opens it. A stretch that starts
    /// otherwise (another reader took some of its spans meanwhile) is fetched on its own.
    private func fetchRun(_ spans: Range<Int>, pass: FetchGate.Pass?, part: RangeBatch.Part?) -> Range<Int> {
        let reader = self
        var promote: (@Sendable () -> Void)?
        if let pass { promote = { pass.open() } }
        return cache.fetchAhead(spans, layer: position, index: layer, promote: promote) {
            (stretch) async throws(LazyMountError) -> [(index: Int, bytes: [UInt8])] in
            let own = part == nil ? pass : nil
            let part = stretch == spans ? part : nil
            if let own { try await own.enter() }
            defer { own?.leave() }
            return try await reader.withRetries(first: stretch.lowerBound) {
                (spanReader, preceding) async throws(LazyMountError) -> [(index: Int, bytes: [UInt8])] in
                try await spanReader.fetchRun(stretch, preceding: preceding, compressed: part?.take())
            }
        }
    }

    /// Starts fetching a span if it is not cached or on its way (a zstd layer's first span brings all of them);
    /// errors are left for the reader who needs it.
    private func prefetch(_ span: Int, before horizon: Int64) {
        guard span < layer.spans.count, layer.spans[span].uncompressedOffset < horizon,
            !cache.isCachedOrComing(key(span), layer: layer)
        else { return }
        let reader = self
        Task {
            _ = try? await Deadline.race(fetchTimeout, layer: layer.digest) {
                () async throws(LazyMountError) -> [UInt8] in try await reader.spanBytes(span)
            }
        }
    }

    /// One verified span: from the cache, or fetched with retries.
    func spanBytes(_ span: Int) async throws(LazyMountError) -> [UInt8] {
        let reader = self
        return try await cache.span(key(span), layer: layer) {
            () async throws(LazyMountError) -> [(index: Int, bytes: [UInt8])] in
            try await reader.withRetries(first: span) {
                (spanReader, preceding) async throws(LazyMountError) -> [(index: Int, bytes: [UInt8])] in
                try await spanReader.fetchSpans(span, preceding: preceding)
            }
        }
    }

    /// Span `span` within `fetchTimeout`, the fetch left to finish for others when the time is up; nil when it
    /// could not be had (the reader who needs it fetches and reports).
    func spanWithinTimeout(_ span: Int) async -> [UInt8]? {
        let reader = self
        return try? await Deadline.race(fetchTimeout, layer: layer.digest) {
            () async throws(LazyMountError) -> [UInt8] in try await reader.spanBytes(span)
        }
    }

    func key(_ span: Int) -> ChunkCache.Key { ChunkCache.Key(layer: position, span: span) }

    /// `fetch` with retries on transient failures (a digest mismatch will not improve by asking again), within
    /// `fetchTimeout` of its own: it is shared by every reader waiting on its spans. It is handed the span before
    /// `first` when that is already here: its last 32 KiB stand in for the stored window (a request and ~11 KB
    /// saved).
    private func withRetries(
        first: Int, _ fetch: (SpanReader, [UInt8]?) async throws(LazyMountError) -> [(index: Int, bytes: [UInt8])]
    ) async throws(LazyMountError) -> [(index: Int, bytes: [UInt8])] {
        let reader = SpanReader(layer: layer, source: source)
        let preceding =
            first > 0 && layer.compression == .gzip && layer.spans[first].checkpoint?.window == nil
            ? cache.cached(key(first - 1), layer: layer) : nil
        var delay = Duration.milliseconds(250)
        let giveUp = ContinuousClock.now + fetchTimeout
        while true {
            do throws(LazyMountError) {
                return try await fetch(reader, preceding)
            } catch {
                guard Self.isTransient(error) else { throw error }
                logger.warning(
                    "fetching a span failed, retrying",
                    metadata: ["layer": "\(layer.digest)", "span": "\(first)", "error": "\(error)"])
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
}
