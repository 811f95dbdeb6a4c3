package import Foundation

/// The outcome of one child process.
package struct ProcessResult: Sendable, CustomStringConvertible {
    /// The exit status, or the number of the signal that killed the process (then `signal` is set too).
    package let status: Int32
    package let stdout: Data
    package let stderr: Data
    /// The signal that ended the process (a crash, a kill), nil when it exited.
    package var signal: Int32? = nil
    package var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    package var stderrText: String { String(decoding: stderr, as: UTF8.self) }
    package var description: String {
        (signal.map { "killed by signal \($0)" } ?? "exit \(status)") + "\nstdout: \(stdoutText)\nstderr: \(stderrText)"
    }
}

package enum ProcessRunnerError: Error, CustomStringConvertible {
    case timedOut(command: String, seconds: Double)
    package var description: String {
        switch self {
        case .timedOut(let command, let seconds): return "\(command) did not finish within \(seconds) s"
        }
    }
}

/// Runs real programs the way a user's shell would: argv, environment, stdin bytes; collects both outputs.
package enum ProcessRunner {
    /// Runs `executable` with `arguments`; `environment` replaces the child's environment when given
    /// (tests pass a minimal one so no developer setting leaks in). Kills the child after `timeout`.
    @discardableResult
    package static func run(
        _ executable: String,
        _ arguments: [String] = [],
        environment: [String: String]? = nil,
        stdin: Data = Data(),
        argv0: String? = nil,
        timeout: Double = 120
    ) throws -> ProcessResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: resolve(executable))
        process.arguments = arguments
        if let environment { process.environment = environment }
        let inPipe = Pipe(), outPipe = Pipe(), errPipe = Pipe()
        process.standardInput = inPipe
        process.standardOutput = outPipe
        process.standardError = errPipe
        try process.run()

        let collected = Collected()
        let group = DispatchGroup()
        for (pipe, isOut) in [(outPipe, true), (errPipe, false)] {
            group.enter()
            DispatchQueue.global().async {
                let data = pipe.fileHandleForReading.readDataToEndOfFile()
                collected.set(data, isOut: isOut)
                group.leave()
            }
        }
        group.enter()
        DispatchQueue.global().async {
            // A child that exits before reading everything closes the pipe; ignore the EPIPE that follows.
            signal(SIGPIPE, SIG_IGN)
            try? inPipe.fileHandleForWriting.write(contentsOf: stdin)
            try? inPipe.fileHandleForWriting.close()
            group.leave()
        }
        if group.wait(timeout: .now() + timeout) == .timedOut {
            process.terminate()
            kill(process.processIdentifier, SIGKILL)
            throw ProcessRunnerError.timedOut(
                command: ([executable] + arguments).joined(separator: " "), seconds: timeout)
        }
        process.waitUntilExit()
        return ProcessResult(
            status: process.terminationStatus, stdout: collected.out, stderr: collected.err,
            signal: process.terminationReason == .uncaughtSignal ? process.terminationStatus : nil)
    }

    /// Runs a shell pipeline with `bash -c`, for steps that read like the README.
    @discardableResult
    package static func shell(
        _ script: String, environment: [String: String]? = nil, stdin: Data = Data(), timeout: Double = 300
    ) throws -> ProcessResult {
        try run("/bin/bash", ["-c", script], environment: environment, stdin: stdin, timeout: timeout)
    }

    /// Finds a program on PATH the way a shell does.
    package static func resolve(_ executable: String) -> String {
        if executable.contains("/") { return executable }
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(dir)/\(executable)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return executable
    }

    /// Whether a program is installed; tests that need one fail loudly when it is missing
    /// (helpers/test installs them), they do not skip.
    package static func isInstalled(_ executable: String) -> Bool {
        FileManager.default.isExecutableFile(atPath: resolve(executable))
    }
}

private final class Collected: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var out = Data()
    private(set) var err = Data()
    func set(_ data: Data, isOut: Bool) {
        lock.lock()
        defer { lock.unlock() }
        if isOut { out = data } else { err = data }
    }
}
