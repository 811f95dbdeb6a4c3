import Foundation
import TestSupport
import Testing

/// `ocicred refresh` between refreshes, as helpers/bench measures it: a sidecar with nothing due must sleep —
/// no thread of it wakes while it idles (issue 5: no periodic polling) — and still answer its health endpoints.
@Suite("ocicred refresh while idle")
struct RefreshIdleTests {
    /// Voluntary + involuntary context switches per thread id, from /proc/PID/task/*/status. An unreadable
    /// /proc is an error: reading nothing would count as "never woke".
    static func switches(of pid: Int32) throws -> [String: Int] {
        let tasks = "/proc/\(pid)/task"
        var result = [String: Int]()
        let tids = try FileManager.default.contentsOfDirectory(atPath: tasks)
        try #require(!tids.isEmpty, "\(tasks) lists no thread")
        for tid in tids {
            let status = try String(contentsOfFile: "\(tasks)/\(tid)/status", encoding: .utf8)
            let counts = status.split(separator: "\n").filter { $0.contains("ctxt_switches") }
                .compactMap { $0.split(separator: "\t").last.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } }
            try #require(counts.count == 2, "\(tasks)/\(tid)/status has no context-switch counts")
            result[tid] = counts.reduce(0, +)
        }
        return result
    }

    static func threadNames(of pid: Int32) -> [String] {
        let tasks = "/proc/\(pid)/task"
        return ((try? FileManager.default.contentsOfDirectory(atPath: tasks)) ?? []).compactMap {
            (try? String(contentsOfFile: "\(tasks)/\($0)/comm", encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    /// The sockets the process holds open (`socket:[inode]` links in /proc/PID/fd). An unreadable fd table is an
    /// error, not "no sockets".
    static func openSockets(of pid: Int32) throws -> Int {
        let fds = "/proc/\(pid)/fd"
        let entries = try FileManager.default.contentsOfDirectory(atPath: fds)
        return try entries.filter {
            try FileManager.default.destinationOfSymbolicLink(atPath: "\(fds)/\($0)").hasPrefix("socket:")
        }
        .count
    }

    @Test func anIdleSidecarNeverWakesAndStillServesHealth() throws {
        let home = try TemporaryDirectory(prefix: "ocicred-idle")
        defer { home.remove() }
        var config = "registries:\n"
        for index in 0..<10 {
            config += "  - host: r\(index).idle.example\n    credentials: [IDLE_USER, IDLE_PASS]\n"
        }
        try config.write(toFile: home.file("config.yaml"), atomically: true, encoding: .utf8)
        let authFile = home.file("auth.json")
        let port = try FreePort.pick()

        let sidecar = try OcicredProcess(
            ["refresh", "--auth-file", authFile, "--listen", "127.0.0.1:\(port)"], home: home.path,
            environment: ["OCICRED_CONFIG": home.file("config.yaml"), "IDLE_USER": "u", "IDLE_PASS": "p"],
            logName: "refresh")
        defer { sidecar.stop() }
        let pid = sidecar.pid

        let deadline = Date() + 20
        while !FileManager.default.fileExists(atPath: authFile + ".status") && Date() < deadline { usleep(50_000) }
        try #require(FileManager.default.fileExists(atPath: authFile + ".status"), "the first pass wrote nothing")
        try #require(FreePort.waitUntilListening(port))
        let listening = try Self.openSockets(of: pid)
        let ready = try ProcessRunner.run(
            "curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(port)/readyz"])
        #expect(ready.stdoutText == "200")

        // Wait until the sidecar has closed the health request's connection (its sockets are back to the listener
        // alone), then watch every thread for a while.
        let closeDeadline = Date() + 20
        while try Self.openSockets(of: pid) > listening && Date() < closeDeadline { usleep(20_000) }
        try #require(try Self.openSockets(of: pid) == listening, "the /readyz connection was never closed")
        let before = try Self.switches(of: pid)
        sleep(5)
        let after = try Self.switches(of: pid)
        let woke = after.reduce(0) { $0 + $1.value - (before[$1.key] ?? 0) }
        #expect(woke <= 1, "an idle sidecar woke \(woke) times in 5 s; threads: \(Self.threadNames(of: pid))")
        // No libdispatch worker pool (its monitor ticks once a second): main, signals and one event loop.
        #expect(Self.threadNames(of: pid).count <= 3, "threads: \(Self.threadNames(of: pid))")

        let healthz = try ProcessRunner.run("curl", ["-s", "http://127.0.0.1:\(port)/healthz"])
        #expect(healthz.stdoutText == "ok\n")
        sidecar.signal(SIGTERM)
        #expect(sidecar.waitForExit() == 0, "\(sidecar.log)")
    }
}
