/// The compressed bytes of several stretches of one layer, asked for in one `BlobSource.read(_:ranges:)` call:
/// a registry that answers multi-range requests gets one request instead of one per stretch, one that refuses
/// gets single ranges (the source's fallback). The request goes out when the first stretch's fetch asks for its
/// part, so a batch queued behind a `FetchGate` waits there once for all its stretches.
actor RangeBatch {
    /// One stretch's place in the batch.
    struct Part: Sendable {
        let batch: RangeBatch
        let number: Int

        /// The stretch's bytes the first time they are asked for; nil after that (a retry asks on its own).
        func take() async throws(LazyMountError) -> [UInt8]? { try await batch.take(number) }
    }

    let source: any BlobSource
    let digest: String
    let ranges: [Range<Int64>]
    /// Where the one request waits its turn, if it is queued (a profile's playback).
    nonisolated let pass: FetchGate.Pass?
    private var request: Task<[[UInt8]], any Error>?
    private var taken: Set<Int> = []

    init(source: any BlobSource, digest: String, ranges: [Range<Int64>], pass: FetchGate.Pass?) {
        self.source = source
        self.digest = digest
        self.ranges = ranges
        self.pass = pass
    }

    nonisolated var parts: [Part] { ranges.indices.map { Part(batch: self, number: $0) } }

    private func take(_ number: Int) async throws(LazyMountError) -> [UInt8]? {
        guard taken.insert(number).inserted else { return nil }
        let request =
            self.request
            ?? Task { [source, digest, ranges, pass] () async throws -> [[UInt8]] in
                if let pass { try await pass.enter() }
                defer { pass?.leave() }
                return try await source.read(digest, ranges: ranges)
            }
        self.request = request
        do {
            return try await request.value[number]
        } catch let error as LazyMountError {
            throw error
        } catch {
            throw .outOfRange("ranges \(ranges) of \(digest): \(error)")
        }
    }
}
