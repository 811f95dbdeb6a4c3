import Foundation

/// A peer a fixture started (docker-registry, moto_server) and the private directory it runs in, stopped and
/// removed exactly once: `stop()` is called from a test's `defer` and again from the fixture's `deinit`.
final class PeerProcess: @unchecked Sendable {
    let process: Process
    let directory: TemporaryDirectory
    private let lock = NSLock()
    private var stopped = false

    init(process: Process, directory: TemporaryDirectory) {
        self.process = process
        self.directory = directory
    }

    /// SIGTERM, up to 5 s to exit, then SIGKILL; `before` runs first (a token server to stop as well).
    func stop(before: () -> Void = {}) {
        lock.lock()
        defer { lock.unlock() }
        guard !stopped else { return }
        stopped = true
        Self.terminate(process)
        before()
        directory.remove()
    }

    static func terminate(_ process: Process) {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}
