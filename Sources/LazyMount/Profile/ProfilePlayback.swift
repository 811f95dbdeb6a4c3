/// Playing a start-up profile back: every span it lists is requested when the mount starts, in the recorded
/// order, so no round trip is left on the container's path.
extension LazyFilesystem {
    /// How many of the profile's requests are on the wire at once: enough to keep the link busy between one
    /// run's inflate and the next request, few enough that the earliest spans arrive first. A reader needing a
    /// span still in line does not wait for its turn (`FetchGate`).
    static let profileWindow = 4

    /// Registers a fetch for every span of `profile` this index has (layers matched by digest) with the chunk
    /// cache at once, in the profile's order, `profileWindow` of them on the wire at a time; spans already
    /// cached cost nothing. Spans the profile lists one after the other that follow each other in their layer
    /// are one run (one request, one window; see `SpanReader.fetchRun`), up to `runBytes`; a zstd layer, which
    /// comes whole, is one run from its first listed span to its last. Waits for them all and returns how many
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

    /// The profile's spans in this index, in its order, as runs to fetch, and the spans themselves.
    func playbackRuns(_ profile: StartupProfile) -> (
        runs: [(layer: Int, spans: Range<Int>)], wanted: [(layer: Int, span: Int)]
    ) {
        let layerByDigest = Dictionary(
            index.layers.enumerated().map { ($0.element.digest, $0.offset) }, uniquingKeysWith: { first, _ in first })
        var runs: [(layer: Int, spans: Range<Int>)] = []
        var wanted: [(layer: Int, span: Int)] = []
        var zstdRun: [Int: Int] = [:]
        for entry in profile.spans {
            guard let layer = layerByDigest[entry.layer], entry.span >= 0,
                entry.span < index.layers[layer].spans.count
            else { continue }
            wanted.append((layer, entry.span))
            if index.layers[layer].compression == .zstd {
                guard let at = zstdRun[layer] else {
                    zstdRun[layer] = runs.count
                    runs.append((layer, entry.span..<(entry.span + 1)))
                    continue
                }
                let spans = runs[at].spans
                runs[at].spans = min(spans.lowerBound, entry.span)..<max(spans.upperBound, entry.span + 1)
            } else if let last = runs.last, last.layer == layer, last.spans.upperBound == entry.span,
                Int64(last.spans.count + 1) * index.span <= LayerReader.runBytes
            {
                runs[runs.count - 1].spans = last.spans.lowerBound..<(entry.span + 1)
            } else {
                runs.append((layer, entry.span..<(entry.span + 1)))
            }
        }
        return (runs, wanted)
    }
}
