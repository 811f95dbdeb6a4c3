internal import Crypto
internal import FoundationEssentials
internal import Registry

/// Reads one layer once, front to back, and builds its `LayerIndex`: tar entries with their uncompressed offsets,
/// span digests, and for gzip the checkpoints of zlib's zran.c (`deflate_index_build`): inflate with `Z_BLOCK`,
/// and at a block boundary (`data_type & 128`, not after the last block: `& 64` clear) at least `span` bytes after
/// the previous checkpoint, record the compressed offset, the unused bit count (`data_type & 7`) and the last
/// 32 KiB of output. Multi-member gzip (what pigz and concatenating writers produce) continues after each member's
/// end with a fresh gzip header, as zran.c does with `inflateReset2`. zstd has no equivalent of a checkpoint a
/// decoder can resume from, so a zstd layer is decompressed here as it streams in (every frame, skippable ones
/// passed over), cut into plain fixed spans like an uncompressed tar, and marked `fetchWholeOnFirstRead`: a read
/// fetches the whole blob once and yields all its spans (`SpanReader.fetchSpans`).
struct LayerIndexer {
    static let windowSize = 32 * 1024
    /// The size of one ranged request: under Transport's 4 MiB response cap, and bounded memory.
    static let fetchChunk: Int64 = 2 << 20

    var span: Int64
    var progress: @Sendable (_ compressedBytesRead: Int64) -> Void = { _ in }

    /// The layer's index and its tar entries in stream order (what the image's tree is merged from).
    func index(_ descriptor: Descriptor, from source: some BlobSource) async throws(LazyMountError)
        -> (index: LayerIndex, entries: [TarEntry])
    {
        let compression: LayerCompression
        do throws(RegistryError) {
            compression = try MediaType.compression(ofLayer: descriptor.mediaType)
        } catch {
            throw .registry(error)
        }
        var layer = LayerIndex(
            digest: descriptor.digest, mediaType: descriptor.mediaType, compression: compression,
            compressedSize: descriptor.size, uncompressedSize: 0, fetchWholeOnFirstRead: compression == .zstd,
            spans: [])
        guard descriptor.digest.hasPrefix("sha256:") else { throw .registry(.unsupportedDigest(descriptor.digest)) }
        var state = IndexingState(span: span, compression: compression)
        var read: Int64 = 0
        // The whole blob passes through here once, so it is checked against its digest on the way: an index is
        // never built from bytes the registry (or a proxy) altered.
        let hasher = SHA256Hasher()
        try await source.stream(descriptor.digest, range: 0..<descriptor.size, chunk: Self.fetchChunk) {
            (chunk) throws(LazyMountError) -> Bool in
            hasher.update(chunk)
            try state.consume(chunk)
            read += Int64(chunk.count)
            progress(read)
            return true
        }
        let actual = hasher.finishDigest()
        guard actual == descriptor.digest.lowercased() else {
            throw .registry(
                .digestMismatch(what: "layer \(descriptor.digest)", expected: descriptor.digest, actual: actual))
        }
        try state.finish()
        layer.uncompressedSize = state.totalOut
        layer.spans = state.recorder.spans
        layer.skippedEntries = state.tar.skipped.isEmpty ? nil : state.tar.skipped
        return (layer, state.tar.entries)
    }
}

/// The mutable half of indexing one layer; a value owned by the indexing task.
struct IndexingState {
    let span: Int64
    let compression: LayerCompression
    var recorder = SpanRecorder()
    var tar = TarStreamParser()
    private(set) var totalOut: Int64 = 0
    private var totalIn: Int64 = 0
    private var window: [UInt8] = []
    private var lastCheckpointOut: Int64 = -1
    private var stream: ZStream?
    private var zstdStream: ZstdStream?
    private var memberEnded = false
    private var nextPlainCut: Int64 = 0

    init(span: Int64, compression: LayerCompression) {
        self.span = span
        self.compression = compression
    }

    mutating func consume(_ chunk: [UInt8]) throws(LazyMountError) {
        switch compression {
        case .none: try chunk.withBytes { (raw) throws(LazyMountError) in try uncompressed(raw) }
        case .gzip: try chunk.withBytes { (raw) throws(LazyMountError) in try gzip(raw) }
        case .zstd: try chunk.withBytes { (raw) throws(LazyMountError) in try zstd(raw) }
        }
    }

    mutating func finish() throws(LazyMountError) {
        if compression == .gzip && !memberEnded { throw .inflate(.truncated) }
        if compression == .zstd {
            guard let zstdStream else { throw .zstd(.truncated) }
            do { try zstdStream.finish() } catch { throw .zstd(error) }
        }
        recorder.finish()
        do { try tar.finish() } catch { throw .tar(error) }
    }

    /// Plain tar, and the output of zstd: fixed spans, no checkpoints (a plain offset is directly addressable; a
    /// zstd layer is only ever fetched whole).
    private mutating func uncompressed(_ raw: UnsafeRawBufferPointer) throws(LazyMountError) {
        var index = 0
        while index < raw.count {
            if totalOut == nextPlainCut {
                recorder.cut(at: totalOut, next: nil)
                nextPlainCut += span
            }
            let room = Int(nextPlainCut - totalOut)
            let step = min(room, raw.count - index)
            try emit(UnsafeRawBufferPointer(rebasing: raw[index..<index + step]))
            index += step
        }
    }

    private mutating func gzip(_ raw: UnsafeRawBufferPointer) throws(LazyMountError) {
        var index = 0
        if stream == nil { stream = try zlib { () throws(InflateError) in try ZStream(.gzip) } }
        guard let stream else { return }
        var output = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            if memberEnded {
                // Another member follows (zran.c: "There is more input after the end of a gzip member").
                // Zero bytes after the last member are padding some writers add; they end nothing.
                while index < raw.count && raw[index] == 0 {
                    index += 1
                    totalIn += 1
                }
                guard index < raw.count else { return }
                try zlib { () throws(InflateError) in try stream.reset(.gzip) }
                memberEnded = false
            }
            let input = UnsafeRawBufferPointer(rebasing: raw[index...])
            let step = try zlib { () throws(InflateError) in
                try output.withMutableBytes { (out) throws(InflateError) in
                    try stream.inflate(input, into: out, stopAtBlocks: true)
                }
            }
            index += step.consumed
            totalIn += Int64(step.consumed)
            if step.produced > 0 {
                try output[0..<step.produced].withUnsafeBytes { out in
                    Result { () throws(LazyMountError) in
                        try emit(out)
                    }
                }.get()
            }
            if step.streamEnd {
                memberEnded = true
                continue
            }
            let type = stream.dataType
            if type & 0xc0 == 0x80 && (lastCheckpointOut < 0 || totalOut - lastCheckpointOut >= span) {
                let checkpoint = LayerIndex.Checkpoint(
                    compressedOffset: totalIn, bits: Int(type & 7), window: Data(window))
                recorder.cut(at: totalOut, next: checkpoint)
                lastCheckpointOut = totalOut
            }
            if step.consumed == 0 && step.produced == 0 { return }
        }
    }

    private mutating func zstd(_ raw: UnsafeRawBufferPointer) throws(LazyMountError) {
        let stream: ZstdStream
        if let zstdStream {
            stream = zstdStream
        } else {
            do { stream = try ZstdStream() } catch { throw .zstd(error) }
            zstdStream = stream
        }
        var output: [UInt8] = []  // one allocation per fetched chunk (2 MiB of input)
        try stream.decompressAll(raw, buffer: &output) { (piece) throws(LazyMountError) in
            try piece.withUnsafeBytes { out in Result { () throws(LazyMountError) in try uncompressed(out) } }.get()
        }
    }

    private func zlib<T>(_ body: () throws(InflateError) -> T) throws(LazyMountError) -> T {
        do { return try body() } catch { throw .inflate(error) }
    }

    /// Uncompressed bytes at `totalOut`: to the tar parser, the span digest and the sliding window.
    private mutating func emit(_ bytes: UnsafeRawBufferPointer) throws(LazyMountError) {
        do { try tar.consume(bytes) } catch { throw .tar(error) }
        recorder.append(bytes)
        totalOut += Int64(bytes.count)
        if compression == .gzip {
            if bytes.count >= LayerIndexer.windowSize {
                window = Array(bytes.suffix(LayerIndexer.windowSize))
            } else {
                let keep = LayerIndexer.windowSize - bytes.count
                if window.count > keep { window.removeFirst(window.count - keep) }
                window.append(contentsOf: bytes)
            }
        }
    }
}
