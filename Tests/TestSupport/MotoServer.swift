import Foundation

/// A real `moto_server` (PyPI `moto[server]`) on a free 127.0.0.1 port, set up by `Tests/Fixtures/moto_setup.py`
/// with an IAM user, its access key and a role — and with signature checking on for every request after that
/// setup (`INITIAL_NO_AUTH_ACTION_COUNT` equals the setup's action count; the setup script proves it by having a
/// wrong secret rejected). Call `stop()` in a `defer`; `deinit` stops it too.
///
/// A missing `moto_server` is a failure with the fix in its message, not a skip: helpers/test installs it.
package final class MotoServer: @unchecked Sendable {
    package let port: Int
    package var endpoint: String { "http://127.0.0.1:\(port)" }
    /// The IAM user's key pair (read from the setup script's stdout, never passed as an argument).
    package let accessKeyID: String
    package let secretAccessKey: String
    package let roleARN: String
    package let accountID: String

    private let peer: PeerProcess
    private var process: Process { peer.process }
    private var directory: TemporaryDirectory { peer.directory }

    /// Starts and sets up moto off Swift's cooperative thread pool: the start blocks for seconds (moto's import
    /// time, boto3 setup), and a blocked pool thread on a 2-core machine stalls every other test's async work.
    package static func start() async throws -> MotoServer {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try startBlocking() })
            }
        }
    }

    package static func startBlocking() throws -> MotoServer {
        guard ProcessRunner.isInstalled("moto_server") else {
            throw MotoServerError.notInstalled
        }
        let setupScript = FixtureServer.fixturesDirectory + "/moto_setup.py"
        let count = try ProcessRunner.run("python3", [setupScript, "--actions"], timeout: 60)
        guard count.status == 0, let actions = Int(count.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines))
        else { throw FixtureError.commandFailed(command: "moto_setup.py --actions", result: count) }

        let directory = try TemporaryDirectory(prefix: "ocicred-moto")
        var lastLog = ""
        for _ in 0..<5 {
            let port = try FreePort.pick()
            let process = try launch(port: port, noAuthActions: actions, log: directory.file("moto.log"))
            if FreePort.waitUntilListening(port, timeout: 30), process.isRunning {
                let endpoint = "http://127.0.0.1:\(port)"
                var environment = ProcessInfo.processInfo.environment
                environment["MOTO_ENDPOINT"] = endpoint
                let setup = try ProcessRunner.run("python3", [setupScript], environment: environment, timeout: 120)
                guard setup.status == 0,
                    let object = try? JSONSerialization.jsonObject(with: setup.stdout) as? [String: String],
                    let keyID = object["accessKeyId"], let secret = object["secretAccessKey"],
                    let role = object["roleArn"], let account = object["accountId"]
                else {
                    PeerProcess.terminate(process)
                    directory.remove()
                    throw FixtureError.commandFailed(command: "moto_setup.py", result: setup)
                }
                return MotoServer(
                    port: port, accessKeyID: keyID, secretAccessKey: secret, roleARN: role, accountID: account,
                    process: process, directory: directory)
            }
            PeerProcess.terminate(process)
            lastLog = (try? String(contentsOfFile: directory.file("moto.log"), encoding: .utf8)) ?? ""
        }
        directory.remove()
        throw FixtureError.notListening(program: "moto_server", port: 0, log: lastLog)
    }

    private init(
        port: Int, accessKeyID: String, secretAccessKey: String, roleARN: String, accountID: String,
        process: Process, directory: TemporaryDirectory
    ) {
        self.port = port
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.roleARN = roleARN
        self.accountID = accountID
        peer = PeerProcess(process: process, directory: directory)
    }

    private static func launch(port: Int, noAuthActions: Int, log: String) throws -> Process {
        FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        defer { try? handle.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ProcessRunner.resolve("moto_server"))
        process.arguments = ["-H", "127.0.0.1", "-p", String(port)]
        var environment = ProcessInfo.processInfo.environment
        environment["INITIAL_NO_AUTH_ACTION_COUNT"] = String(noAuthActions)
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return process
    }

    /// Lets the next `count` actions through without authentication (moto's `/moto-api/reset-auth`). moto cannot
    /// authenticate an unsigned AssumeRoleWithWebIdentity — it looks for an Authorization header and answers 500 —
    /// so the web-identity test grants exactly that one call; everything after it is checked again.
    package func allowUnauthenticatedActions(_ count: Int) throws {
        let result = try ProcessRunner.run(
            "curl",
            [
                "-sf", "-X", "POST", "-H", "Content-Type: text/plain", "--data-binary", String(count),
                endpoint + "/moto-api/reset-auth",
            ],
            timeout: 30)
        guard result.status == 0 else {
            throw FixtureError.commandFailed(command: "POST /moto-api/reset-auth", result: result)
        }
    }

    /// moto's request log, for failure messages.
    package var log: String { (try? String(contentsOfFile: directory.file("moto.log"), encoding: .utf8)) ?? "" }

    package func stop() {
        peer.stop()
    }

    deinit { stop() }

}

package enum MotoServerError: Error, CustomStringConvertible {
    case notInstalled

    package var description: String {
        "moto_server is not installed (the AWS provider tests run against it): run helpers/test, or "
            + "pip install 'moto[server]'"
    }
}
