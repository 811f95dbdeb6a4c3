internal import Registry

/// Where layer bytes come from: a registry (`RegistryBlobSource`) or, in tests, memory. Ranges are half-open
/// byte ranges of the blob as stored (compressed).
protocol BlobSource: Sendable {
    func read(_ digest: String, range: Range<Int64>) async throws(LazyMountError) -> [UInt8]
    /// The bytes of each of `ranges`, in the order asked: a source that can ask for several at once (a registry's
    /// multi-range request) saves a round trip per range.
    func read(_ digest: String, ranges: [Range<Int64>]) async throws(LazyMountError) -> [[UInt8]]
}

extension BlobSource {
    /// One request per range, side by side, as a registry refusing multi-range is asked (`fetchBlobRanges`):
    /// a source without multi-range costs a request per range, never a round trip per range.
    func read(_ digest: String, ranges: [Range<Int64>]) async throws(LazyMountError) -> [[UInt8]] {
        let source = self
        let answers = await withTaskGroup(of: (Int, Result<[UInt8], LazyMountError>).self) { group in
            for (number, range) in ranges.enumerated() {
                group.addTask {
                    do throws(LazyMountError) {
                        return (number, .success(try await source.read(digest, range: range)))
                    } catch {
                        return (number, .failure(error))
                    }
                }
            }
            var answers = [Result<[UInt8], LazyMountError>](repeating: .success([]), count: ranges.count)
            for await (number, answer) in group { answers[number] = answer }
            return answers
        }
        return try answers.map { (answer) throws(LazyMountError) -> [UInt8] in try answer.get() }
    }

    /// Reads `range` in pieces of at most `chunk` bytes, handing each to `body` in order until it returns false:
    /// a layer is streamed once with memory bounded by one piece, and no response exceeds the transport's cap.
    func stream(
        _ digest: String, range: Range<Int64>, chunk: Int64,
        _ body: ([UInt8]) throws(LazyMountError) -> Bool
    ) async throws(LazyMountError) {
        var start = range.lowerBound
        while start < range.upperBound {
            let end = min(range.upperBound, start + chunk)
            let bytes = try await read(digest, range: start..<end)
            guard try body(bytes) else { return }
            start = end
        }
    }
}

/// Memory as a blob store; what unit tests index and read from.
struct MemoryBlobSource: BlobSource {
    var blobs: [String: [UInt8]]

    func read(_ digest: String, range: Range<Int64>) async throws(LazyMountError) -> [UInt8] {
        guard let blob = blobs[digest] else { throw .registry(.blobFetch(digest: digest, status: 404)) }
        guard range.upperBound <= Int64(blob.count) else {
            throw .registry(.rangeNotHonoured(digest: digest, detail: "range past the end"))
        }
        return Array(blob[Int(range.lowerBound)..<Int(range.upperBound)])
    }
}
