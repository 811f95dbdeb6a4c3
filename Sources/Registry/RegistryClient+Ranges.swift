internal import Transport

/// Several ranges of one blob in as few requests as the registry allows.
///
/// A registry served by distribution's filesystem driver answers `Range: bytes=a-b,c-d` with `206
/// multipart/byteranges` (Go's `http.ServeContent`). The object stores registries redirect blobs to often do not:
/// S3 and GCS send the whole object with 200, some proxies a single 206 for the first range. So a multi-range
/// request is capped at the size its ranges can take, which aborts a whole-blob answer as it starts (a blob under
/// that cap costs no more than its ranges would), and any answer that is not multipart turns this session to one
/// request per range. Redirects are the transport's (`RedirectPolicy`): the blob store never sees the registry's
/// credentials or TLS exceptions.
extension RegistryClient {
    /// Most ranges one request names: the `Range` header stays a few KiB, under any server's header limit.
    package static let rangesPerRequest = 64
    /// Most bytes one request asks for; more ranges go in further requests.
    package static let bytesPerRequest: Int64 = 16 << 20
    /// Most bytes one call returns: every answer is held in memory.
    package static let maximumRangesBytes: Int64 = 256 << 20
    /// Room for each part's delimiter and headers (a boundary is at most 70 characters) and for a gap a server
    /// may coalesce (RFC 9110 §14.6 allows gaps smaller than that overhead).
    static let multipartOverhead = 512
    /// Single-range requests in flight at once when the registry takes no multi-range request.
    static let concurrentSingleRanges = 4

    /// The bytes of each of `ranges` (half-open, of the blob as stored), in the order asked. Overlapping and
    /// adjacent ranges are asked for once; every byte returned was answered for exactly the range it belongs to.
    package func fetchBlobRanges(repository: String, digest: String, ranges: [Range<Int64>])
        async throws(RegistryError) -> [[UInt8]]
    {
        guard Digest.isWellFormed(digest) else { throw .unsupportedDigest(digest) }
        let wire = try Self.coalesced(ranges)
        var fetched: [MultipartByteRanges.Part] = []
        var singly: [Range<Int64>] = []
        for batch in Self.batches(wire) {
            if batch.count == 1 || session.state.withLock({ $0.singleRangesOnly }) {
                singly += batch
                continue
            }
            let answer = try await fetchMultipart(repository: repository, digest: digest, batch)
            fetched += answer.parts
            singly += answer.missing
        }
        fetched += try await fetchSingly(repository: repository, digest: digest, singly)
        return try ranges.map { (range) throws(RegistryError) -> [UInt8] in
            guard let part = fetched.first(where: { Self.covers($0.range, range) }) else {
                throw .rangeNotHonoured(digest: digest, detail: "no answer held bytes \(range)")
            }
            let start = part.bytes.startIndex + Int(range.lowerBound - part.range.lowerBound)
            return Array(part.bytes[start..<(start + range.count)])
        }
    }

    /// What one multi-range request brought: the parts, and the ranges it left out (fetched singly).
    struct MultipartAnswer {
        var parts: [MultipartByteRanges.Part]
        var missing: [Range<Int64>]
    }

    func fetchMultipart(repository: String, digest: String, _ batch: [Range<Int64>])
        async throws(RegistryError) -> MultipartAnswer
    {
        let header = "bytes=" + batch.map { "\($0.lowerBound)-\($0.upperBound - 1)" }.joined(separator: ",")
        let limit = batch.reduce(0) { $0 + $1.count } + (batch.count + 1) * Self.multipartOverhead
        let raw: HTTPResponse
        do throws(RegistryError) {
            raw = try await send(
                "GET", "/v2/\(repository)/blobs/\(digest)", headers: [(name: "Range", value: header)],
                scopes: [.repository(repository, actions: ["pull"])], maxResponseBytes: limit)
        } catch .transport(.tooLarge) {
            return refused(batch, because: "more bytes than the ranges hold (the whole blob), aborted")
        }
        let contentType = raw.header("content-type") ?? ""
        switch raw.status {
        case 206 where MultipartByteRanges.boundary(contentType: contentType) != nil:
            return try Self.parts(of: raw.body, contentType: contentType, asked: batch, digest: digest)
        case 200, 206:
            return refused(batch, because: "HTTP \(raw.status), \(contentType.prefix(60))")
        default:
            throw .blobFetch(digest: digest, status: raw.status)
        }
    }

    /// Turns this session to single ranges: the registry (or the blob store it redirects to) does not answer
    /// several ranges at once, and asking again would cost every later fetch one wasted request.
    func refused(_ batch: [Range<Int64>], because reason: String) -> MultipartAnswer {
        session.state.withLock { $0.singleRangesOnly = true }
        logger.debug("no multi-range answer; asking range by range", metadata: ["answer": "\(reason)"])
        return MultipartAnswer(parts: [], missing: batch)
    }

    /// The parts of a multipart answer, each inside the ranges asked (a part may span a gap the server coalesced,
    /// never bytes outside the outermost ranges or between ranges it did not join).
    static func parts(of body: [UInt8], contentType: String, asked batch: [Range<Int64>], digest: String)
        throws(RegistryError) -> MultipartAnswer
    {
        let answer: MultipartByteRanges
        do throws(MultipartByteRanges.Malformed) {
            answer = try MultipartByteRanges(body: body, contentType: contentType)
        } catch {
            throw .rangeNotHonoured(digest: digest, detail: "a malformed multipart/byteranges answer: \(error)")
        }
        for part in answer.parts {
            let joined = batch.filter { $0.overlaps(part.range) }
            guard let first = joined.first, let last = joined.last,
                Self.covers(first.lowerBound..<last.upperBound, part.range)
            else {
                throw .rangeNotHonoured(digest: digest, detail: "a part holds bytes \(part.range), not asked for")
            }
        }
        let missing = batch.filter { wanted in !answer.parts.contains { covers($0.range, wanted) } }
        return MultipartAnswer(parts: answer.parts, missing: missing)
    }

    /// One request per range, a few at a time; each answer checked by `fetchBlobRange`.
    func fetchSingly(repository: String, digest: String, _ ranges: [Range<Int64>])
        async throws(RegistryError) -> [MultipartByteRanges.Part]
    {
        let results = await withTaskGroup(of: (Int, Result<[UInt8], RegistryError>).self) { group in
            var results = [Result<[UInt8], RegistryError>?](repeating: nil, count: ranges.count)
            var next = 0
            var inFlight = 0
            while next < ranges.count || inFlight > 0 {
                while next < ranges.count, inFlight < Self.concurrentSingleRanges {
                    let index = next
                    group.addTask { (index, await self.rangeResult(repository, digest, ranges[index])) }
                    next += 1
                    inFlight += 1
                }
                if let (index, result) = await group.next() { results[index] = result }
                inFlight -= 1
            }
            return results
        }
        var parts: [MultipartByteRanges.Part] = []
        for (range, result) in zip(ranges, results) {
            parts.append(MultipartByteRanges.Part(range: range, bytes: try result!.get()[...]))
        }
        return parts
    }

    private func rangeResult(_ repository: String, _ digest: String, _ range: Range<Int64>) async -> Result<
        [UInt8], RegistryError
    > {
        do throws(RegistryError) {
            return .success(
                try await fetchBlobRange(
                    repository: repository, digest: digest, range: range,
                    maxResponseBytes: max(4 << 20, range.count + Self.multipartOverhead)))
        } catch {
            return .failure(error)
        }
    }

    /// The ranges sorted, overlapping and adjacent ones joined: a server may answer overlapping ranges with the
    /// whole blob (Go's `ServeContent` does when they add up to more than it).
    static func coalesced(_ ranges: [Range<Int64>]) throws(RegistryError) -> [Range<Int64>] {
        guard !ranges.isEmpty, ranges.allSatisfy({ $0.lowerBound >= 0 && !$0.isEmpty }) else {
            throw .invalidArgument("blob ranges must be non-empty and start at 0 or later: \(ranges.prefix(4))")
        }
        var joined: [Range<Int64>] = []
        for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = joined.last, range.lowerBound <= last.upperBound {
                joined[joined.count - 1] = last.lowerBound..<max(last.upperBound, range.upperBound)
            } else {
                joined.append(range)
            }
        }
        let total = joined.reduce(Int64(0)) { $0 + ($1.upperBound - $1.lowerBound) }
        guard total <= maximumRangesBytes else {
            throw .invalidArgument("\(total) bytes of blob ranges asked at once; at most \(maximumRangesBytes)")
        }
        return joined
    }

    /// Sorted ranges in groups of at most `rangesPerRequest` ranges and `bytesPerRequest` bytes (a range larger
    /// than that is a group of its own).
    static func batches(_ ranges: [Range<Int64>]) -> [[Range<Int64>]] {
        var groups: [[Range<Int64>]] = []
        var bytes: Int64 = 0
        for range in ranges {
            let size = range.upperBound - range.lowerBound
            if let last = groups.last, last.count < rangesPerRequest, bytes + size <= bytesPerRequest {
                groups[groups.count - 1].append(range)
                bytes += size
            } else {
                groups.append([range])
                bytes = size
            }
        }
        return groups
    }

    static func covers(_ outer: Range<Int64>, _ inner: Range<Int64>) -> Bool {
        outer.lowerBound <= inner.lowerBound && inner.upperBound <= outer.upperBound
    }
}
