/// Playing a start-up profile back: every span it lists is requested when the mount starts, in the recorded
/// order, so no round trip is left on the container's path.
extension LazyFilesystem {
    /// How many of the profile's requests are on the wire at once: enough to keep the link busy between one
    /// run's inflate and the next request, few enough that the earliest spans arrive first. A reader needing a
    /// span still in line does not wait for its turn (`FetchGate`).
    static let profileWindow = 4

    /// Registers a fetch for every span of `profile` this index has (layers matched by digest) with the chunk
    /// cache at once, in the profile's order, `profileWindow` of them on the wire at a time; spans already
    /// cached cost nothing. Consecutive spans of a layer the profile lists are one run (one request, one window;
    /// see `SpanReader.fetchRun`), up to `runBytes` (`playbackRuns`). Waits for them all and returns how many
    /// arrived; errors are left for the readers, who fetch (and retry) on their own. Cancelling stops the
    /// requests still in line.
    func playBack(_ profile: StartupProfile) async -> Int {
        let (runs, wanted) = playbackRuns(profile)
        let gate = FetchGate(limit: Self.profileWindow)
        for run in runs { readers[run.layer].fetchCold(run.spans, gate: gate) }
        return await withTaskCancellationHandler {
            var arrived = 0
            for (layer, span) in wanted {
                if await cache.arrival(readers[layer].key(span), layer: index.layers[layer]) { arrived += 1 }
            }
            return arrived
        } onCancel: {
            gate.close()
        }
    }

    /// The profile's spans in this index, in its order, as runs to fetch, and the spans themselves. A run is a
    /// stretch of consecutive spans the profile lists, wherever it lists them (up to `runBytes`), placed where
    /// the profile first needs one of them: a span fetched in a run of its own while the span before it is still
    /// on the wire costs a stored window (helpers/bench-run: the profile's start read 0.2 MB more windows than
    /// the same start without one when runs followed the profile's order alone). A zstd layer, which comes whole,
    /// is one run from its first listed span to its last.
    func playbackRuns(_ profile: StartupProfile) -> (
        runs: [(layer: Int, spans: Range<Int>)], wanted: [(layer: Int, span: Int)]
    ) {
        let layerByDigest = Dictionary(
            index.layers.enumerated().map { ($0.element.digest, $0.offset) }, uniquingKeysWith: { first, _ in first })
        var wanted: [(layer: Int, span: Int)] = []
        /// Per layer: each listed span and where the profile first lists it.
        var firstListed: [Int: [Int: Int]] = [:]
        for entry in profile.spans {
            guard let layer = layerByDigest[entry.layer], entry.span >= 0,
                entry.span < index.layers[layer].spans.count
            else { continue }
            if firstListed[layer, default: [:]][entry.span] == nil {
                firstListed[layer, default: [:]][entry.span] = wanted.count
            }
            wanted.append((layer, entry.span))
        }
        var runs: [(position: Int, layer: Int, spans: Range<Int>)] = []
        for (layer, listed) in firstListed {
            let longest = index.layers[layer].compression == .zstd ? Int.max : readers[layer].runSpans
            for stretch in Self.stretches(listed.keys.sorted(), longest: longest) {
                runs.append((stretch.map { listed[$0] ?? 0 }.min() ?? 0, layer, stretch))
            }
        }
        runs.sort { $0.position < $1.position }
        return (runs.map { ($0.layer, $0.spans) }, wanted)
    }

    /// `spans` (sorted) as stretches of consecutive spans of at most `longest` each; `Int.max` makes one stretch
    /// from the first to the last, gaps included (a zstd layer).
    static func stretches(_ spans: [Int], longest: Int) -> [Range<Int>] {
        guard let first = spans.first, let last = spans.last else { return [] }
        if longest == Int.max { return [first..<(last + 1)] }
        var stretches: [Range<Int>] = []
        for span in spans {
            if let current = stretches.last, current.upperBound == span, current.count < longest {
                stretches[stretches.count - 1] = current.lowerBound..<(span + 1)
            } else {
                stretches.append(span..<(span + 1))
            }
        }
        return stretches
    }
}
