import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The sidecar's event loop never blocks, through the built binary: another process holding the token cache's lock
/// for 30 s does not stop /healthz from answering or SIGTERM from ending the sidecar, and thousands of idle
/// connections do not keep a probe out.
@Suite("the refresh sidecar's loop under pressure, through the binary", .serialized)
struct HardeningSidecarTests {
    let ecrHost = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
    let accessKey = "AKIDSIDECARFIXTURE01"
    let secretKey = "sidecar/fixture/secret/key/00000000000"

    /// `ocicred refresh --listen` for the ECR fixture, with the token cache on and a 1024-descriptor limit (a
    /// common default), its stderr in a file.
    func startSidecar(home: TemporaryDirectory, ecr: FixtureServer, port: Int) throws -> OcicredProcess {
        try """
        registries:
          - host: \(ecrHost)
        refresh:
          outputs:
            - authFile: {path: \(home.file("shared/auth.json")), registries: [\(ecrHost)]}
        """.write(toFile: home.file("config.yaml"), atomically: true, encoding: .utf8)
        return try OcicredProcess(
            ["refresh", "--listen", "127.0.0.1:\(port)"], home: home.path,
            environment: [
                "OCICRED_CONFIG": home.file("config.yaml"), "AWS_ACCESS_KEY_ID": accessKey,
                "AWS_SECRET_ACCESS_KEY": secretKey, "AWS_ENDPOINT_URL_ECR": ecr.baseURL,
                "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": home.file("no-aws-config"),
                "AWS_SHARED_CREDENTIALS_FILE": home.file("no-aws-credentials"), "XDG_CACHE_HOME": home.file("cache"),
            ],
            wrapper: ["/usr/bin/prlimit", "--nofile=1024:1024"], logName: "refresh")
    }

    /// The ECR fixture, accepting this suite's key pair.
    func startECR() throws -> FixtureServer {
        try FixtureServer(
            script: "aws_fixtures.py",
            environment: ["AWS_FIXTURE_ACCESS_KEY_ID": accessKey, "AWS_FIXTURE_SECRET_ACCESS_KEY": secretKey])
    }

    /// Whether process `pid` has `path` open: the sidecar keeps the lock file open while it waits for the lock.
    static func holdsOpen(_ pid: Int32, _ path: String) -> Bool {
        let directory = "/proc/\(pid)/fd"
        guard let descriptors = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return false }
        // The kernel names the file by its canonical path (no `//`, no symlink).
        let canonical = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        return descriptors.contains {
            (try? FileManager.default.destinationOfSymbolicLink(atPath: directory + "/" + $0)) == canonical
        }
    }

    /// GET /healthz with a fresh connection, given up after 5 s.
    func probe(_ port: Int) throws -> Int {
        let result = try ProcessRunner.run(
            "curl", ["-s", "-o", "/dev/null", "-m", "5", "-w", "%{http_code}", "http://127.0.0.1:\(port)/healthz"])
        return Int(result.stdoutText) ?? 0
    }

    /// The locks another ocicred process (a helper minting, a second writer of the shared auth file) holds.
    enum HeldLock: String, CaseIterable, CustomTestStringConvertible {
        case tokenCache, authFile
        var testDescription: String { rawValue }
    }

    @Test(
        "another process holding a lock for 30 s neither stalls /healthz nor delays SIGTERM",
        arguments: HeldLock.allCases)
    func lockHeldElsewhereDoesNotBlockTheLoop(held: HeldLock) throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }
        let ecr = try startECR()
        defer { ecr.stop() }
        // Another ocicred-like process minting or writing: it holds the lock for 30 s.
        for directory in ["cache/ocicred", "shared"] {
            try FileManager.default.createDirectory(
                atPath: home.file(directory), withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        let lockFile = held == .tokenCache ? home.file("cache/ocicred/tokens.lock") : home.file("shared/auth.json.lock")
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: ProcessRunner.resolve("python3"))
        holder.arguments = [
            "-c",
            "import fcntl, sys, time\nf = open(sys.argv[1], 'a')\nfcntl.flock(f, fcntl.LOCK_EX)\n"
                + "print('locked', flush=True)\ntime.sleep(30)",
            lockFile,
        ]
        let holderOutput = Pipe()
        holder.standardOutput = holderOutput
        try holder.run()
        defer { if holder.isRunning { kill(holder.processIdentifier, SIGKILL) } }
        try #require(
            String(decoding: holderOutput.fileHandleForReading.availableData, as: UTF8.self).contains("locked"))

        let port = try FreePort.pick()
        let sidecar = try startSidecar(home: home, ecr: ecr, port: port)
        defer { sidecar.stop() }
        try #require(FreePort.waitUntilListening(port, timeout: 30), "the sidecar did not listen")
        // Wait for the event, not a time: the sidecar has the lock file open, i.e. it is waiting for the lock.
        let deadline = Date() + 30
        while !Self.holdsOpen(sidecar.pid, lockFile) && sidecar.isRunning && Date() < deadline { usleep(20_000) }
        try #require(Self.holdsOpen(sidecar.pid, lockFile), "the sidecar never waited on \(lockFile): \(sidecar.log)")
        // A loop blocked on the lock would leave each probe unanswered until curl's 5 s limit.
        for _ in 0..<5 {
            #expect(try probe(port) == 200, "/healthz did not answer while the lock is held elsewhere")
        }
        #expect(holder.isRunning, "the lock is still held while probing")
        if held == .tokenCache { #expect(try ecr.counter("mint") == 0, "nothing minted while the lock is held") }
        #expect(!FileManager.default.fileExists(atPath: home.file("shared/auth.json")), "nothing written under it")

        sidecar.signal(SIGTERM)
        let status = sidecar.waitForExit(timeout: 25)
        // The event that matters: it ended while the other process still held the lock (30 s), not after.
        #expect(holder.isRunning, "SIGTERM only took effect once the lock was released")
        #expect(status == 0, "\(sidecar.log)")
    }

    @Test("2,000 idle connections do not keep /healthz from answering")
    func idleConnectionsDoNotExhaustTheServer() throws {
        var limit = rlimit()
        try #require(getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0)
        let needed: rlim_t = 2_200
        if limit.rlim_cur < needed {
            try #require(
                limit.rlim_max >= needed, "the test process may open 2,200 descriptors (hard limit \(limit.rlim_max))")
            var raised = limit
            raised.rlim_cur = needed
            try #require(setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0)
        }
        defer { _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) }
        let home = try TemporaryDirectory()
        defer { home.remove() }
        let ecr = try startECR()
        defer { ecr.stop() }
        let port = try FreePort.pick()
        let sidecar = try startSidecar(home: home, ecr: ecr, port: port)
        defer { sidecar.stop() }
        try #require(FreePort.waitUntilListening(port, timeout: 30), "the sidecar did not listen")

        var sockets: [Int32] = []
        defer { for fd in sockets { close(fd) } }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        for _ in 0..<2_000 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            try #require(fd >= 0, "socket: \(String(cString: strerror(errno)))")
            sockets.append(fd)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            try #require(connected == 0, "connect: \(String(cString: strerror(errno)))")
        }
        // All 2,000 are open on this side and none has sent a byte.
        for _ in 0..<5 {
            let status = try probe(port)
            #expect(status == 200, "/healthz answered \(status) with 2,000 idle connections")
        }
        #expect(sidecar.isRunning, "the sidecar survived")
    }
}
