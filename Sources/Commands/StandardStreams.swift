internal import Synchronization
internal import SystemSupport

/// stdout carries a command's payload (an auth file, a protocol answer, a report); diagnostics go to stderr.
/// A stdout write that fails (a closed pipe, `>/dev/full`) is remembered, and `OcicredCommand.run` then exits 1
/// instead of 0: a caller must never take a truncated answer for a complete one.
enum StandardStreams {
    private static let failedWrite = Mutex<SystemError?>(nil)

    static func out(_ text: String) {
        do {
            try StandardStream.output.write(text)
        } catch {
            failedWrite.withLock { $0 = $0 ?? error }
        }
    }

    static func err(_ text: String) { StandardStream.error.writeIgnoringErrors(text) }

    /// The first stdout write that failed, if any.
    static var outputFailure: SystemError? { failedWrite.withLock { $0 } }
}
