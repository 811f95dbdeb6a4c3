/// A raw inflate started at a gzip layer's checkpoint, fed the compressed bytes piece by piece as they arrive
/// until it has produced `length` bytes: primed with the bits left in the byte before the checkpoint, the window
/// set as dictionary, each member's 8-byte trailer skipped and the next member's header parsed (zran.c
/// `deflate_index_extract`).
struct CheckpointInflater {
    private let stream: ZStream
    private let checkpointBits: Int
    private let dictionary: [UInt8]
    private let length: Int
    private(set) var result: [UInt8] = []
    private var output = [UInt8](repeating: 0, count: 64 * 1024)
    private var primed = false
    private var trailerLeft = 0
    /// Started raw at the checkpoint, the member's 8-byte trailer is ours to skip; every later member is
    /// inflated with its gzip wrapper, whose trailer zlib itself checks before it reports the end.
    private var inMemberStartedRaw = true

    init(checkpointBits: Int, dictionary: [UInt8], length: Int) throws(LazyMountError) {
        do { stream = try ZStream(.raw) } catch { throw .inflate(error) }
        self.checkpointBits = checkpointBits
        self.dictionary = dictionary
        self.length = length
        result.reserveCapacity(length)
    }

    /// Inflates `chunk`, the next compressed bytes; true while more output is wanted.
    mutating func consume(_ chunk: [UInt8]) throws(LazyMountError) -> Bool {
        do throws(InflateError) {
            var position = 0
            if !primed {
                primed = true
                if checkpointBits > 0, let first = chunk.first {
                    try stream.prime(bits: checkpointBits, value: first)
                    position = 1
                }
                try stream.setDictionary(dictionary)
            }
            try chunk.withBytes { (raw) throws(InflateError) in
                while result.count < length {
                    guard try step(raw, at: &position) else { return }
                }
            }
        } catch {
            throw .inflate(error)
        }
        return result.count < length
    }

    /// One step over `raw` from `position`: a piece of trailer skipped or one inflate call; false when this
    /// chunk can give no more.
    private mutating func step(_ raw: UnsafeRawBufferPointer, at position: inout Int) throws(InflateError) -> Bool {
        if trailerLeft > 0 {
            guard position < raw.count else { return false }
            let skip = min(trailerLeft, raw.count - position)
            position += skip
            trailerLeft -= skip
            if trailerLeft == 0 { try stream.reset(.gzip) }
            return true
        }
        let input = UnsafeRawBufferPointer(rebasing: raw[position...])
        let want = min(output.count, length - result.count)
        let stream = stream
        let step = try output.withMutableBytes { (out) throws(InflateError) in
            try stream.inflate(input, into: UnsafeMutableRawBufferPointer(rebasing: out[0..<want]), stopAtBlocks: false)
        }
        position += step.consumed
        result.append(contentsOf: output[0..<step.produced])
        if step.streamEnd {
            if inMemberStartedRaw {
                inMemberStartedRaw = false
                trailerLeft = 8
            } else {
                try stream.reset(.gzip)
            }
            return true
        }
        return step.consumed != 0 || step.produced != 0
    }
}
