/// Playing a start-up profile back: its spans fetched ahead of the container, in the recorded order.
extension LazyFilesystem {
    /// How many fetches run at once: enough to keep the link busy between one span's inflate and the next
    /// request, few enough that the earliest spans arrive first.
    static let profileWindow = 4

    /// Fetches every span of `profile` this index has (layers matched by digest), in order, at most
    /// `profileWindow` at a time; spans already cached cost nothing. Errors are left for the readers, who
    /// fetch (and retry) on their own. Returns how many spans were fetched or found.
    func playBack(_ profile: StartupProfile) async -> Int {
        let layerByDigest = Dictionary(
            index.layers.enumerated().map { ($0.element.digest, $0.offset) }, uniquingKeysWith: { first, _ in first })
        let wanted: [(layer: Int, span: Int)] = profile.spans.compactMap { entry in
            guard let layer = layerByDigest[entry.layer], entry.span >= 0,
                entry.span < index.layers[layer].spans.count
            else { return nil }
            return (layer, entry.span)
        }
        var done = 0
        await withTaskGroup(of: Bool.self) { group in
            var next = 0
            func startNext() {
                guard next < wanted.count else { return }
                let (layer, span) = wanted[next]
                next += 1
                group.addTask {
                    let fetched = try? await Deadline.race(self.fetchTimeout, layer: self.index.layers[layer].digest) {
                        () async throws(LazyMountError) -> [UInt8] in
                        try await self.spanBytes(layer: layer, span: span)
                    }
                    return fetched != nil
                }
            }
            for _ in 0..<Self.profileWindow { startNext() }
            while let fetched = await group.next() {
                if Task.isCancelled { group.cancelAll() }
                if fetched { done += 1 }
                if !Task.isCancelled { startNext() }
            }
        }
        return done
    }
}
