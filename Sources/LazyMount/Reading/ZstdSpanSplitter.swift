internal import Crypto

/// Cuts a zstd layer's decompressed stream into the spans its index records, in order, and verifies each: a stream
/// longer or shorter than the index says, or a span hashing differently, is an error.
struct ZstdSpanSplitter {
    let layer: LayerIndex
    private(set) var spans: [(index: Int, bytes: [UInt8])] = []
    private var current: [UInt8] = []
    private var total: Int64 = 0

    init(layer: LayerIndex) { self.layer = layer }

    mutating func append(_ bytes: ArraySlice<UInt8>) throws(LazyMountError) {
        var rest = bytes
        closeFullSpans()
        while !rest.isEmpty {
            guard spans.count < layer.spans.count else {
                throw .uncompressedSizeMismatch(
                    layer: layer.digest, expected: layer.uncompressedSize, actual: total + Int64(rest.count))
            }
            let length = layer.spans[spans.count].length
            guard length >= 0 else { throw .spanDigestMismatch(layer: layer.digest, span: spans.count) }
            let want = Int(length) - current.count
            let part = rest.prefix(want)
            if current.isEmpty { current.reserveCapacity(Int(layer.spans[spans.count].length)) }
            current.append(contentsOf: part)
            rest = rest.dropFirst(part.count)
            total += Int64(part.count)
            closeFullSpans()
        }
    }

    mutating func finish() throws(LazyMountError) -> [(index: Int, bytes: [UInt8])] {
        closeFullSpans()
        guard spans.count == layer.spans.count, current.isEmpty, total == layer.uncompressedSize else {
            throw .uncompressedSizeMismatch(layer: layer.digest, expected: layer.uncompressedSize, actual: total)
        }
        var offset: Int64 = 0
        for (index, bytes) in spans {
            let span = layer.spans[index]
            guard span.uncompressedOffset == offset, SHA256.hexDigest(bytes) == span.sha256 else {
                throw .spanDigestMismatch(layer: layer.digest, span: index)
            }
            offset += span.length
        }
        return spans
    }

    /// Ends every span the bytes so far fill (zero-length spans included); `finish` verifies them.
    private mutating func closeFullSpans() {
        while spans.count < layer.spans.count && current.count == Int(layer.spans[spans.count].length) {
            spans.append((spans.count, current))
            current = []
        }
    }
}
