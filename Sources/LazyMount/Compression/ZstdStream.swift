internal import CZstd

/// A libzstd failure, with libzstd's own message (`ZSTD_getErrorName`).
package enum ZstdError: Error, Equatable, CustomStringConvertible {
    /// libzstd rejected the compressed bytes: corrupt block, bad checksum, unknown frame magic, or a frame whose
    /// window exceeds libzstd's default limit (128 MiB); `reason` says which.
    case corrupt(reason: String)
    case failed(reason: String)
    /// The compressed stream ended inside a frame, or held no frame at all.
    case truncated

    package var description: String {
        switch self {
        case .corrupt(let reason): return "the zstd data is corrupt or not decodable: \(reason)"
        case .failed(let reason): return "libzstd failed: \(reason)"
        case .truncated: return "the zstd data ends in the middle of a frame: the blob is truncated"
        }
    }
}

/// One zstd streaming decompression context (`ZSTD_DCtx`). The only place that calls libzstd and turns its
/// `size_t` results into `ZstdError` (STYLE.md: one seam for C return codes). Frames follow each other in one
/// stream (RFC 8878 §3: a zstd stream is a sequence of frames); skippable frames — where zstd:chunked keeps its
/// table of contents — are passed over by libzstd itself. Not `Sendable`: one task owns it.
final class ZstdStream {
    /// `ZSTD_DStreamOutSize()`: one full block, so each call can flush what it decoded.
    static let outputSize = 128 * 1024

    private let context: OpaquePointer
    /// `ZSTD_decompressStream` returns 0 exactly when a frame is fully decoded and flushed.
    private var atFrameBoundary = true
    private var framesEnded = 0

    init() throws(ZstdError) {
        guard let context = ZSTD_createDCtx() else { throw .failed(reason: "ZSTD_createDCtx: out of memory") }
        self.context = context
    }

    deinit { ZSTD_freeDCtx(context) }

    struct Step {
        var consumed: Int
        var produced: Int
    }

    /// One `ZSTD_decompressStream` call. When `produced == output.count` libzstd may hold more output: call again,
    /// with empty input if need be, until it produces less.
    func decompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(ZstdError)
        -> Step
    {
        var inBuffer = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        var outBuffer = ZSTD_outBuffer(dst: output.baseAddress, size: output.count, pos: 0)
        let result = ZSTD_decompressStream(context, &outBuffer, &inBuffer)
        if ZSTD_isError(result) != 0 {
            throw .corrupt(reason: String(cString: ZSTD_getErrorName(result)))
        }
        if inBuffer.pos > 0 || outBuffer.pos > 0 || result == 0 {
            atFrameBoundary = result == 0
            if result == 0 && (inBuffer.pos > 0 || outBuffer.pos > 0) { framesEnded += 1 }
        }
        return Step(consumed: inBuffer.pos, produced: outBuffer.pos)
    }

    /// Decompresses all of `input`, handing each piece of output to `body` in order, and returns once the input
    /// is consumed and libzstd has nothing more to flush. `buffer` is the caller's reusable output space.
    func decompressAll(
        _ input: UnsafeRawBufferPointer, buffer: inout [UInt8],
        _ body: (ArraySlice<UInt8>) throws(LazyMountError) -> Void
    ) throws(LazyMountError) {
        if buffer.count < Self.outputSize { buffer = [UInt8](repeating: 0, count: Self.outputSize) }
        var position = 0
        while true {
            let rest = UnsafeRawBufferPointer(rebasing: input[position...])
            let step: Step
            do throws(ZstdError) {
                step = try buffer.withMutableBytes { (out) throws(ZstdError) in try decompress(rest, into: out) }
            } catch {
                throw .zstd(error)
            }
            position += step.consumed
            if step.produced > 0 { try body(buffer[0..<step.produced]) }
            if position == input.count && step.produced < buffer.count { return }
        }
    }

    /// Called after the last input byte: the stream must have ended a frame and not started another.
    func finish() throws(ZstdError) {
        guard atFrameBoundary && framesEnded > 0 else { throw .truncated }
    }
}
