internal import Crypto
internal import FoundationEssentials

/// Cuts a layer's uncompressed stream into spans and hashes each: memory is one span plus one deflate block.
struct SpanRecorder {
    private(set) var spans: [LayerIndex.Span] = []
    private var buffer: [UInt8] = []
    private var start: Int64 = 0
    private var checkpoint: LayerIndex.Checkpoint?
    private var isOpen = false

    var bufferedCount: Int { buffer.count }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        if !isOpen { isOpen = true }
        buffer.append(contentsOf: bytes)
    }

    /// Ends the current span (if any bytes or a checkpoint opened it) and opens the next at `offset`.
    mutating func cut(at offset: Int64, next: LayerIndex.Checkpoint?) {
        if isOpen { close() }
        start = offset
        checkpoint = next
        isOpen = true
    }

    mutating func finish() {
        if isOpen && (!buffer.isEmpty || spans.isEmpty) { close() }
        isOpen = false
    }

    private mutating func close() {
        spans.append(
            LayerIndex.Span(
                uncompressedOffset: start, length: Int64(buffer.count), sha256: SHA256.hexDigest(buffer),
                checkpoint: checkpoint))
        start += Int64(buffer.count)
        buffer.removeAll(keepingCapacity: true)
        checkpoint = nil
    }
}
