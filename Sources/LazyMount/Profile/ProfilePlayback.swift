/// Playing a start-up profile back: its spans fetched ahead of the container, in the recorded order.
extension LazyFilesystem {
    /// How many fetches run at once: enough to keep the link busy between one span's inflate and the next
    /// request, few enough that the earliest spans arrive first.
    static let profileWindow = 4

    /// Fetches every span of `profile` this index has (layers matched by digest), in order, at most
    /// `profileWindow` fetches at a time; spans already cached cost nothing. Spans the profile lists one after
    /// the other that follow each other in their layer are fetched as one run (one request, one window; see
    /// `SpanReader.fetchRun`), up to `runBytes`. Errors are left for the readers, who fetch (and retry) on
    /// their own. Returns how many spans were fetched or found.
    func playBack(_ profile: StartupProfile) async -> Int {
        let layerByDigest = Dictionary(
            index.layers.enumerated().map { ($0.element.digest, $0.offset) }, uniquingKeysWith: { first, _ in first })
        var runs: [(layer: Int, spans: Range<Int>)] = []
        for entry in profile.spans {
            guard let layer = layerByDigest[entry.layer], entry.span >= 0,
                entry.span < index.layers[layer].spans.count
            else { continue }
            if let last = runs.last, last.layer == layer, last.spans.upperBound == entry.span,
                index.layers[layer].compression == .gzip,
                Int64(last.spans.count + 1) * index.span <= LayerReader.runBytes
            {
                runs[runs.count - 1].spans = last.spans.lowerBound..<(entry.span + 1)
            } else {
                runs.append((layer, entry.span..<(entry.span + 1)))
            }
        }
        var done = 0
        await withTaskGroup(of: Int.self) { group in
            var next = 0
            func startNext() {
                guard next < runs.count else { return }
                let (layer, spans) = runs[next]
                next += 1
                group.addTask {
                    let reader = self.readers[layer]
                    if spans.count > 1 { reader.fetchRun(spans) }
                    var fetched = 0
                    for span in spans where await reader.spanWithinTimeout(span) != nil { fetched += 1 }
                    return fetched
                }
            }
            for _ in 0..<Self.profileWindow { startNext() }
            while let fetched = await group.next() {
                if Task.isCancelled { group.cancelAll() }
                done += fetched
                if !Task.isCancelled { startNext() }
            }
        }
        return done
    }
}
