package import Foundation

/// A long-running `ocicred` started by a test (a refresh sidecar, a mount): its stderr in a log file, signals
/// sent as the kubelet or a user sends them, and `stop()` so that no test leaves the process behind. The one
/// process fixture; `OcicredMount` adds the mount on top of it.
package final class OcicredProcess: @unchecked Sendable {
    package let process = Process()
    package let logFile: String

    /// `wrapper` runs first with ocicred's path and `arguments` after it (`prlimit --nofile=…`); `output`
    /// receives stdout (default: discarded).
    package init(
        _ arguments: [String], home: String, environment: [String: String] = [:], wrapper: [String] = [],
        output: Pipe? = nil, logName: String = "ocicred"
    ) throws {
        logFile = home + "/\(logName)-\(UUID().uuidString.prefix(6)).log"
        _ = FileManager.default.createFile(atPath: logFile, contents: nil)
        if let program = wrapper.first {
            process.executableURL = URL(fileURLWithPath: program)
            process.arguments = Array(wrapper.dropFirst()) + [OcicredBinary.path] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: OcicredBinary.path)
            process.arguments = arguments
        }
        process.environment = OcicredBinary.environment(home: home, extra: environment)
        process.standardOutput = output ?? FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: logFile)
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    package var log: String { (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "" }
    package var pid: Int32 { process.processIdentifier }
    package var isRunning: Bool { process.isRunning }

    package func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    /// The exit status, or nil while it still runs after `timeout` seconds.
    package func waitForExit(timeout: Double = 20) -> Int32? {
        let deadline = Date() + timeout
        while process.isRunning && Date() < deadline { usleep(20_000) }
        return process.isRunning ? nil : process.terminationStatus
    }

    /// SIGTERM and up to `grace` seconds to finish (0: none), then SIGKILL; returns once the process is gone.
    package func stop(grace: Double = 0) {
        guard process.isRunning else { return }
        if grace > 0 {
            signal(SIGTERM)
            if waitForExit(timeout: grace) != nil { return }
        }
        signal(SIGKILL)
        process.waitUntilExit()
    }
}
