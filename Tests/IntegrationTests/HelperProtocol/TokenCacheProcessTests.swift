import Foundation
import TestSupport
import Testing

/// The shared token cache across real processes: podman runs one helper process per registry per
/// operation, so "mint once" has to hold between processes, not only between tasks. The ECR endpoint is the
/// strict fixture from Tests/Fixtures/aws_fixtures.py (it verifies SigV4 and counts mints).
@Suite(.serialized)
struct TokenCacheProcessTests {
    let host = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
    let accessKey = "AKIDOCICREDFIXTURE01"
    let secretKey = "fixture/secret/key/for/ocicred/tests00"

    func startECR(lifetime: Int) throws -> FixtureServer {
        try FixtureServer(
            script: "aws_fixtures.py", arguments: ["--lifetime", String(lifetime)],
            environment: ["AWS_FIXTURE_ACCESS_KEY_ID": accessKey, "AWS_FIXTURE_SECRET_ACCESS_KEY": secretKey])
    }

    /// The environment a CI job on a non-AWS machine has: static keys, the endpoint pointed at the fixture,
    /// and IMDS off so nothing leaves loopback.
    func environment(_ fixture: FixtureServer, secret: String? = nil) -> [String: String] {
        [
            "AWS_ACCESS_KEY_ID": accessKey, "AWS_SECRET_ACCESS_KEY": secret ?? secretKey,
            "AWS_ENDPOINT_URL_ECR": fixture.baseURL, "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": "/nonexistent/aws/config", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws/credentials",
        ]
    }

    func get(_ home: String, _ env: [String: String]) throws -> ProcessResult {
        try OcicredBinary.helper("get", home: home, stdin: Data(host.utf8), extraEnvironment: env)
    }

    @Test func twentyParallelGetsWithAnEmptyCacheMintExactlyOnce() throws {
        let fixture = try startECR(lifetime: 43_200)
        defer { fixture.stop() }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        _ = try OcicredBinary.helper("version", home: dir.path, stdin: Data())
        let env = environment(fixture)
        // A start gate, so that the 20 truly race (on 2 cores, processes started one after another barely
        // overlap): each waits in a shell to open a FIFO for reading, and opening it for writing releases them all
        // at once into the helper.
        let gate = dir.file("gate")
        try #require(mkfifo(gate, 0o600) == 0)
        try FileManager.default.createDirectory(atPath: dir.file("bin"), withIntermediateDirectories: true)
        let helper = try OcicredBinary.linkHelper(into: dir.file("bin")) + "/docker-credential-ocicred"
        var racers: [(process: Process, output: Pipe)] = []
        for _ in 0..<20 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", #"read _ < "$0"; exec "$@""#, gate, helper, "get"]
            process.environment = OcicredBinary.environment(home: dir.path, extra: env)
            let (input, output) = (Pipe(), Pipe())
            process.standardInput = input
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            input.fileHandleForWriting.write(Data(host.utf8))
            try input.fileHandleForWriting.close()
            racers.append((process, output))
        }
        let deadline = Date() + 30
        func waitingAtTheGate() -> Int {
            racers.filter {
                ((try? String(contentsOfFile: "/proc/\($0.process.processIdentifier)/wchan", encoding: .utf8)) ?? "")
                    == "wait_for_partner"  // the kernel's wait in a FIFO's open for its other end
            }.count
        }
        while waitingAtTheGate() < 20 && Date() < deadline { usleep(10_000) }
        try #require(waitingAtTheGate() == 20, "all 20 wait at the gate")
        let opened = open(gate, O_WRONLY)
        try #require(opened >= 0)
        close(opened)
        var secrets = Set<String>()
        for racer in racers {
            let stdout = racer.output.fileHandleForReading.readDataToEndOfFile()
            racer.process.waitUntilExit()
            #expect(racer.process.terminationStatus == 0, "\(String(decoding: stdout, as: UTF8.self))")
            let object = try JSONSerialization.jsonObject(with: stdout) as? [String: String]
            #expect(object?["Username"] == "AWS")
            secrets.insert(object?["Secret"] ?? "")
        }
        #expect(secrets.count == 1, "the 20 processes did not all get the one minted token")
        #expect(try fixture.counter("mint") == 1)
        // And a later call is served from the cache too.
        #expect(try get(dir.path, env).status == 0)
        #expect(try fixture.counter("mint") == 1)
    }

    @Test func tokensThatArriveExpiredOrNearlyExpiredAreNeverCached() throws {
        for lifetime in [-30, 240] {
            let fixture = try startECR(lifetime: lifetime)
            defer { fixture.stop() }
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            for _ in 0..<3 {
                let output = try get(dir.path, environment(fixture))
                #expect(output.status == 0, "\(output)")
            }
            #expect(try fixture.counter("mint") == 3, "lifetime \(lifetime): a due token was served from the cache")
        }
    }

    @Test func aWrongSecretKeyIsReportedAsTheServiceSaysNotAsNotFound() throws {
        let fixture = try startECR(lifetime: 43_200)
        defer { fixture.stop() }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let output = try get(dir.path, environment(fixture, secret: "wrong/secret/key/for/ocicred/tests00000"))
        #expect(output.status == 1)
        #expect(!output.stdoutText.contains("credentials not found"), "\(output)")
        #expect(
            output.stdoutText.contains("InvalidSignatureException")
                || output.stdoutText.contains("SignatureDoesNotMatch"),
            "\(output)")
        #expect(!output.stdoutText.contains("wrong/secret") && !output.stderrText.contains("wrong/secret"))
    }

    /// How long IMDS may take is the in-process `AWSProviderFixtureTests`' to show; a whole debug process timed
    /// on a loaded 2-core machine would only flake.
    @Test func withNoSourceAtAllGetFailsNamingWhatWasTried() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let closed = try FreePort.pick()
        let env = [
            "AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:\(closed)",
            "AWS_CONFIG_FILE": dir.file("no-config"), "AWS_SHARED_CREDENTIALS_FILE": dir.file("no-credentials"),
        ]
        let output = try get(dir.path, env)
        #expect(output.status == 1)
        #expect(output.stdoutText.contains("tried:"), "\(output)")
        #expect(output.stdoutText.lowercased().contains("environment"), "\(output)")
    }
}
