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
        let ready = try ProcessRunner.run(
            "curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(port)/readyz"])
        #expect(ready.stdoutText == "200")

        // Let the health request's connection close, then watch every thread for a while.
        usleep(500_000)
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
