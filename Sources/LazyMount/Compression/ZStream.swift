internal import CZlib

/// A zlib failure, with zlib's own message; `Z_DATA_ERROR` means the compressed bytes are corrupt.
package enum InflateError: Error, Equatable, CustomStringConvertible {
    case corrupt(reason: String)
    case failed(code: Int32, reason: String)
    /// The compressed stream ended before the gzip member did.
    case truncated

    package var description: String {
        switch self {
        case .corrupt(let reason): return "the gzip data is corrupt: \(reason)"
        case .failed(let code, let reason): return "zlib failed (\(code)): \(reason)"
        case .truncated: return "the gzip data ends in the middle of a member: the blob is truncated"
        }
    }
}

/// One zlib inflate stream. The only place that calls zlib and turns its return codes into `InflateError`
/// (STYLE.md: one seam for C return codes). Not `Sendable`: one task owns it.
final class ZStream {
    /// Window bits: gzip header and trailer parsed by zlib (15 + 16), or a raw deflate stream (-15), which is
    /// what a resumed checkpoint needs (zran.c: `inflateInit2(&strm, -15)` then `inflatePrime`).
    enum Mode: Int32 {
        case gzip = 31
        case raw = -15
    }

    private let stream: UnsafeMutablePointer<z_stream>

    init(_ mode: Mode) throws(InflateError) {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let code = czlib_inflate_init2(stream, mode.rawValue)
        guard code == Z_OK else {
            stream.deallocate()
            throw .failed(code: code, reason: "inflateInit2")
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
    }

    func reset(_ mode: Mode) throws(InflateError) {
        try check(czlib_inflate_reset2(stream, mode.rawValue), "inflateReset2")
    }

    /// Feeds the `bits` low bits of `value` before the next input byte (zran.c's partial first byte).
    func prime(bits: Int, value: UInt8) throws(InflateError) {
        try check(czlib_inflate_prime(stream, Int32(bits), Int32(value) >> (8 - Int32(bits))), "inflatePrime")
    }

    func setDictionary(_ window: [UInt8]) throws(InflateError) {
        guard !window.isEmpty else { return }
        let code = window.withUnsafeBufferPointer {
            czlib_inflate_set_dictionary(stream, $0.baseAddress, UInt32($0.count))
        }
        try check(code, "inflateSetDictionary")
    }

    /// zlib's `data_type` after the last call: unused bits of the last input byte (low 3 bits), 64 in the last
    /// deflate block, 128 right after an end-of-block code or a complete header (zlib.h, `Z_BLOCK`).
    var dataType: Int32 { stream.pointee.data_type }

    struct Step {
        var consumed: Int
        var produced: Int
        var streamEnd: Bool
    }

    /// One `inflate` call. A `Z_BUF_ERROR` (no progress possible) is not an error here: it asks for more input.
    func inflate(
        _ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, stopAtBlocks: Bool
    ) throws(InflateError) -> Step {
        let inputBase = input.baseAddress?.assumingMemoryBound(to: UInt8.self)
        stream.pointee.next_in = UnsafeMutablePointer(mutating: inputBase)
        stream.pointee.avail_in = UInt32(input.count)
        stream.pointee.next_out = output.baseAddress?.assumingMemoryBound(to: UInt8.self)
        stream.pointee.avail_out = UInt32(output.count)
        let code = CZlib.inflate(stream, stopAtBlocks ? Z_BLOCK : Z_NO_FLUSH)
        let step = Step(
            consumed: input.count - Int(stream.pointee.avail_in),
            produced: output.count - Int(stream.pointee.avail_out),
            streamEnd: code == Z_STREAM_END)
        stream.pointee.next_in = nil
        stream.pointee.next_out = nil
        switch code {
        case Z_OK, Z_STREAM_END, Z_BUF_ERROR: return step
        default: try check(code, "inflate")
        }
        return step
    }

    /// The whole of `bytes` deflated at once (`gzip` or `raw`): the pushed index and its checkpoint windows are
    /// small enough to compress in memory.
    static func deflate(_ bytes: [UInt8], _ mode: Mode) throws(InflateError) -> [UInt8] {
        guard bytes.count < Int(UInt32.max) else { throw .failed(code: Z_BUF_ERROR, reason: "input too large") }
        var out = [UInt8](repeating: 0, count: Int(czlib_deflate_bound(UInt(bytes.count))))
        var length = UInt(out.count)
        let code = bytes.withUnsafeBufferPointer { input in
            out.withUnsafeMutableBufferPointer { output in
                czlib_deflate_all(input.baseAddress, UInt(input.count), output.baseAddress, &length, mode.rawValue)
            }
        }
        guard code == Z_OK else { throw .failed(code: code, reason: "deflate") }
        out.removeSubrange(Int(length)...)
        return out
    }

    /// All of one `gzip` member or `raw` stream in `bytes`, inflated; more than `limit` bytes of output, or input
    /// that ends before the stream does, is an error.
    static func inflateWhole(_ bytes: [UInt8], _ mode: Mode, limit: Int) throws(InflateError) -> [UInt8] {
        let stream = try ZStream(mode)
        var result: [UInt8] = []
        var output = [UInt8](repeating: 0, count: 64 * 1024)
        var position = 0
        while true {
            let step = try bytes.withBytes { (raw) throws(InflateError) in
                try output.withMutableBytes { (out) throws(InflateError) in
                    try stream.inflate(
                        UnsafeRawBufferPointer(rebasing: raw[position...]), into: out, stopAtBlocks: false)
                }
            }
            position += step.consumed
            result.append(contentsOf: output[0..<step.produced])
            guard result.count <= limit else { throw .failed(code: Z_BUF_ERROR, reason: "more than \(limit) bytes") }
            if step.streamEnd { return result }
            if step.consumed == 0 && step.produced == 0 { throw .truncated }
        }
    }

    private func check(_ code: Int32, _ call: String) throws(InflateError) {
        guard code != Z_OK else { return }
        let message = stream.pointee.msg.map { String(cString: $0) } ?? call
        if code == Z_DATA_ERROR || code == Z_NEED_DICT { throw .corrupt(reason: message) }
        throw .failed(code: code, reason: message)
    }
}
