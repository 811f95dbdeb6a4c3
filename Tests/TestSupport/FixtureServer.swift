import Foundation

/// A Python fixture server from `Tests/Fixtures/` (see fixturelib.py): started on 127.0.0.1 port 0, its
/// port read from its first stdout line, stopped by `stop()` (call it in `defer`). Its stdin stays open while
/// the test runs, so the fixture also exits if the test process dies.
package final class FixtureServer: @unchecked Sendable {
    package let port: Int
    /// The loopback address the fixture was told to bind (`--bind` for fixtures that take one).
    package let host: String
    package var baseURL: String { "http://\(host):\(port)" }
    private let process: Process
    private let stdinPipe: Pipe
    private let stderrPipe: Pipe

    /// `script` is a file name under Tests/Fixtures; `arguments` and `environment` go to the script.
    package init(
        script: String, arguments: [String] = [], environment: [String: String] = [:], host: String = "127.0.0.1"
    ) throws {
        self.host = host
        process = Process()
        process.executableURL = URL(fileURLWithPath: ProcessRunner.resolve("python3"))
        process.arguments = ["-u", Self.fixturesDirectory + "/" + script] + arguments
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        env["PYTHONPATH"] = Self.fixturesDirectory
        process.environment = env
        stdinPipe = Pipe()
        stderrPipe = Pipe()
        let stdoutPipe = Pipe()
        process.standardInput = stdinPipe
        process.standardOutput = stdoutPipe
        process.standardError = stderrPipe
        try process.run()
        var line = Data()
        let handle = stdoutPipe.fileHandleForReading
        while true {
            let byte = handle.readData(ofLength: 1)
            if byte.isEmpty || byte == Data("\n".utf8) { break }
            line.append(byte)
        }
        let text = String(decoding: line, as: UTF8.self)
        guard text.hasPrefix("PORT "), let port = Int(text.dropFirst(5)) else {
            process.terminate()
            let err = String(decoding: stderrPipe.fileHandleForReading.availableData, as: UTF8.self)
            throw FixtureServerError.didNotStart(script: script, output: text + err)
        }
        self.port = port
    }

    /// The number of times the fixture counted `name` (its `/__counters` endpoint); 0 only when the fixture
    /// answered and has not counted it. A fixture that does not answer is an error, never a 0 that could make
    /// "minted exactly once" or "never minted" pass.
    /// A fixture serving HTTPS passes its certificate as `caFile`.
    package func counter(_ name: String, caFile: String? = nil) throws -> Int {
        let url = (caFile == nil ? baseURL : "https://\(host):\(port)") + "/__counters"
        let result = try ProcessRunner.run(
            "curl", ["-sS", "--fail"] + (caFile.map { ["--cacert", $0] } ?? []) + [url], timeout: 30)
        guard result.status == 0,
            let object = try? JSONSerialization.jsonObject(with: result.stdout) as? [String: Int]
        else { throw FixtureServerError.counterUnreadable(url: url, detail: "\(result)") }
        return object[name] ?? 0
    }

    /// Closes the fixture's stdin (it exits on EOF), then SIGTERM, then SIGKILL after 5 s: a fixture spawned
    /// from a dispatch thread inherits a blocked SIGTERM, so no single signal is enough on its own.
    package func stop() {
        stopLock.lock()
        defer { stopLock.unlock() }
        try? stdinPipe.fileHandleForWriting.close()
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    private let stopLock = NSLock()

    deinit { stop() }

    /// `Tests/Fixtures` of this checkout, found from this source file's location.
    package static var fixturesDirectory: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures").path
    }
}

package enum FixtureServerError: Error, CustomStringConvertible {
    case didNotStart(script: String, output: String)
    case counterUnreadable(url: String, detail: String)
    package var description: String {
        switch self {
        case .didNotStart(let script, let output): return "fixture \(script) did not start: \(output)"
        case .counterUnreadable(let url, let detail):
            return "the fixture's counters at \(url) did not answer: \(detail)"
        }
    }
}
