internal import Crypto
internal import FoundationEssentials
internal import Registry

/// Reads uncompressed bytes of one layer through its index, fetching only the compressed bytes of the spans
/// involved (ranged GETs) and checking each span's sha256 before any byte of it is returned — a corrupt blob or
/// a stale index is an error, never wrong file contents. `LayerReader`, the one read path, calls it through the
/// chunk cache.
struct SpanReader: Sendable {
    let layer: LayerIndex
    let source: any BlobSource

    /// The verified spans one fetch yields when span `index` is needed: that span alone for gzip and plain
    /// layers; every span of the layer for zstd, which has no random access and is fetched whole once. The chunk
    /// cache keeps all of them, so a zstd layer is downloaded at most once per cache.
    ///
    /// `preceding`: span `index - 1`, verified, when the caller has it. Its last 32 KiB are the window of span
    /// `index`'s checkpoint (the window is the stream's last 32 KiB before it), so the ranged read of the stored
    /// window is skipped: page faults walking through a library's data fetch span after span, and each
    /// window fetched cost as much again as a 64 KiB span's compressed bytes.
    func fetchSpans(_ index: Int, preceding: [UInt8]? = nil) async throws(LazyMountError)
        -> [(index: Int, bytes: [UInt8])]
    {
        switch layer.compression {
        case .none, .gzip: return [(index, try await spanBytes(index, preceding: preceding))]
        case .zstd: return try await wholeZstdLayer()
        }
    }

    /// One whole span, verified (`preceding` as for `fetchSpans`).
    func spanBytes(_ index: Int, preceding: [UInt8]? = nil) async throws(LazyMountError) -> [UInt8] {
        switch layer.compression {
        case .none, .gzip: return try await fetchRun(index..<(index + 1), preceding: preceding)[0].bytes
        case .zstd:
            // The whole layer, for one span: callers that want more use `fetchSpans` (as `read` does).
            return try await wholeZstdLayer()[index].bytes
        }
    }

    /// Consecutive spans `run`, each verified, from one ranged read and (gzip) one inflate from the first
    /// span's checkpoint: a sequential reader's readahead costs one request and one window, not one of each per
    /// span. `preceding` as for `fetchSpans`; a zstd layer yields all its spans. `compressed`: the bytes of
    /// `compressedRange(run)` when they were already fetched (with other stretches, in one multi-range request).
    func fetchRun(_ run: Range<Int>, preceding: [UInt8]? = nil, compressed: [UInt8]? = nil)
        async throws(LazyMountError) -> [(index: Int, bytes: [UInt8])]
    {
        guard !run.isEmpty, run.lowerBound >= 0, run.upperBound <= layer.spans.count else {
            throw .outOfRange("spans \(run) of layer \(layer.digest), which has \(layer.spans.count)")
        }
        let first = layer.spans[run.lowerBound]
        let last = layer.spans[run.upperBound - 1]
        let whole: [UInt8]
        switch layer.compression {
        case .none:
            if let compressed {
                whole = compressed
            } else {
                whole = try await source.read(
                    layer.digest, range: first.uncompressedOffset..<(last.uncompressedOffset + last.length))
            }
        case .gzip:
            whole = try await inflate(run, preceding: preceding, compressed: compressed)
        case .zstd:
            return try await wholeZstdLayer()
        }
        var spans: [(index: Int, bytes: [UInt8])] = []
        var position = 0
        for index in run {
            let span = layer.spans[index]
            let end = position + Int(span.length)
            guard span.length >= 0, end <= whole.count else {
                throw .spanDigestMismatch(layer: layer.digest, span: index)
            }
            let bytes = Array(whole[position..<end])
            guard SHA256.hexDigest(bytes) == span.sha256 else {
                throw .spanDigestMismatch(layer: layer.digest, span: index)
            }
            spans.append((index, bytes))
            position = end
        }
        guard position == whole.count else { throw .spanDigestMismatch(layer: layer.digest, span: run.upperBound - 1) }
        return spans
    }

    /// Every span of a zstd layer, verified: the blob is fetched whole with ranged reads and decompressed as it
    /// arrives (libzstd, all frames) straight into the spans the index lays out; then the blob's sha256 must equal
    /// the layer digest, its decompressed size the index's, and each span its recorded sha256. Nothing is returned
    /// unless all of that holds. Memory: the decompressed layer, which is what this returns (the blob is hashed as
    /// it streams by).
    private func wholeZstdLayer() async throws(LazyMountError) -> [(index: Int, bytes: [UInt8])] {
        let stream: ZstdStream
        do { stream = try ZstdStream() } catch { throw .zstd(error) }
        guard layer.digest.hasPrefix("sha256:") else { throw .registry(.unsupportedDigest(layer.digest)) }
        let hasher = SHA256Hasher()
        var splitter = ZstdSpanSplitter(layer: layer)
        var output: [UInt8] = []
        try await source.stream(layer.digest, range: 0..<layer.compressedSize, chunk: LayerIndexer.fetchChunk) {
            (chunk) throws(LazyMountError) -> Bool in
            hasher.update(chunk)
            try chunk.withBytes { (raw) throws(LazyMountError) in
                try stream.decompressAll(raw, buffer: &output) { (piece) throws(LazyMountError) in
                    try splitter.append(piece)
                }
            }
            return true
        }
        do { try stream.finish() } catch { throw .zstd(error) }
        let actual = hasher.finishDigest()
        guard actual == layer.digest.lowercased() else {
            throw .registry(
                .digestMismatch(what: "layer \(layer.digest)", expected: layer.digest, actual: actual))
        }
        return try splitter.finish()
    }

    /// The checkpoint's dictionary: kept in the index, or read (one ranged request) from the windows blob pushed
    /// beside it. A wrong window cannot yield wrong file bytes: the span's digest is checked on what it inflates to.
    private func window(of checkpoint: LayerIndex.Checkpoint, span index: Int, preceding: [UInt8]?)
        async throws(LazyMountError) -> [UInt8]
    {
        if let inline = checkpoint.window { return Array(inline) }
        if let preceding, index > 0, preceding.count == Int(layer.spans[index - 1].length),
            preceding.count >= LayerIndexer.windowSize
        {
            return Array(preceding.suffix(LayerIndexer.windowSize))
        }
        guard let location = checkpoint.windowAt, let blob = layer.windowsBlob else {
            throw .index(path: layer.digest, reason: "span \(index) has neither a window nor where to find one")
        }
        guard location.offset >= 0, location.length > 0, location.length <= Self.maxStoredWindow else {
            throw .index(path: layer.digest, reason: "span \(index) names a window of \(location.length) bytes")
        }
        let stored = try await source.read(blob, range: location.offset..<(location.offset + location.length))
        do {
            return try ZStream.inflateWhole(stored, .raw, limit: LayerIndexer.windowSize)
        } catch {
            throw .index(path: blob, reason: "the window of span \(index) of layer \(layer.digest): \(error)")
        }
    }

    /// A raw-deflated 32 KiB window never takes more than this (deflate's worst case is a few bytes per 16 KiB).
    static let maxStoredWindow: Int64 = 33 * 1024

    /// zran.c `deflate_index_extract`: a raw inflate started at the checkpoint of the run's first span — prime
    /// with the bits left in the byte before it, set the window as dictionary — over the compressed bytes up to
    /// the checkpoint after the run. At a member's end the 8-byte gzip trailer is skipped and the next member's
    /// header parsed (`inflateReset2`).
    private func inflate(_ run: Range<Int>, preceding: [UInt8]?, compressed: [UInt8]?) async throws(LazyMountError)
        -> [UInt8]
    {
        let index = run.lowerBound
        guard let checkpoint = layer.spans[index].checkpoint, let range = compressedRange(run) else {
            throw .index(path: layer.digest, reason: "span \(index) of a gzip layer has no checkpoint")
        }
        // A window kept outside the index is a second ranged read: it runs beside the read of the span's first
        // compressed piece, so a span costs one round trip on the reader's path, not two.
        let firstEnd =
            compressed.map { range.lowerBound + Int64($0.count) }
            ?? min(range.upperBound, range.lowerBound + LayerIndexer.fetchChunk)
        let source = source
        let digest = layer.digest
        async let firstPiece = Self.typed { () async throws(LazyMountError) -> [UInt8] in
            if let compressed { return compressed }
            guard firstEnd > range.lowerBound else { return [] }
            return try await source.read(digest, range: range.lowerBound..<firstEnd)
        }
        let dictionary = try await window(of: checkpoint, span: index, preceding: preceding)
        let first = try await firstPiece.get()
        var inflater = try CheckpointInflater(
            checkpointBits: checkpoint.bits, dictionary: dictionary,
            length: Int(run.reduce(Int64(0)) { $0 + layer.spans[$1].length }))
        if try inflater.consume(first), firstEnd < range.upperBound {
            try await source.stream(layer.digest, range: firstEnd..<range.upperBound, chunk: LayerIndexer.fetchChunk) {
                (chunk) throws(LazyMountError) -> Bool in try inflater.consume(chunk)
            }
        }
        return inflater.result
    }

    /// The stored bytes that `fetchRun(run)` reads (gzip: from the run's checkpoint, less the byte holding its
    /// first bits, to the next checkpoint); nil for a zstd layer, fetched whole, or a gzip span without checkpoint.
    func compressedRange(_ run: Range<Int>) -> Range<Int64>? {
        guard !run.isEmpty, run.lowerBound >= 0, run.upperBound <= layer.spans.count else { return nil }
        switch layer.compression {
        case .none:
            let last = layer.spans[run.upperBound - 1]
            return layer.spans[run.lowerBound].uncompressedOffset..<(last.uncompressedOffset + last.length)
        case .gzip:
            guard let checkpoint = layer.spans[run.lowerBound].checkpoint else { return nil }
            let start = checkpoint.compressedOffset - (checkpoint.bits > 0 ? 1 : 0)
            let end =
                run.upperBound < layer.spans.count
                ? (layer.spans[run.upperBound].checkpoint?.compressedOffset ?? layer.compressedSize)
                : layer.compressedSize
            return start..<max(start, end)
        case .zstd: return nil
        }
    }

    /// `body`'s outcome with its error kept typed (`async let` erases it).
    private static func typed<T: Sendable>(_ body: () async throws(LazyMountError) -> T) async
        -> Result<T, LazyMountError>
    {
        do throws(LazyMountError) { return .success(try await body()) } catch { return .failure(error) }
    }
}
