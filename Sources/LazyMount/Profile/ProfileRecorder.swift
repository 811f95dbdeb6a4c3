internal import Synchronization

/// Collects the spans and files readers of the mount ask for, first touch only, until `finish()`. Readahead and
/// background fetches are not recorded: a profile holds what the container needed, nothing the mount guessed.
final class ProfileRecorder: Sendable {
    private struct State {
        var spans: [StartupProfile.Span] = []
        var seenSpans: Set<StartupProfile.Span> = []
        var files: [String] = []
        var seenFiles: Set<String> = []
        var finished = false
    }
    private let state = Mutex(State())

    func record(layer: String, span: Int) {
        state.withLock { state in
            guard !state.finished else { return }
            let key = StartupProfile.Span(layer: layer, span: span)
            if state.seenSpans.insert(key).inserted { state.spans.append(key) }
        }
    }

    func record(file: String) {
        state.withLock { state in
            guard !state.finished, state.seenFiles.insert(file).inserted else { return }
            state.files.append(file)
        }
    }

    /// Stops recording and returns what was recorded; nil when it had already finished.
    func finish(manifestDigest: String, span: Int64) -> StartupProfile? {
        state.withLock { state in
            guard !state.finished else { return nil }
            state.finished = true
            return StartupProfile(manifestDigest: manifestDigest, span: span, spans: state.spans, files: state.files)
        }
    }
}
