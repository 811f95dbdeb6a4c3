import Foundation

/// Starting the Debian `docker-registry` on a free port, for the plain and the token-auth registry fixtures.
enum DockerRegistryProcess {
    /// The configuration both fixtures share: info logs, storage in `directory`/data with deletes on, 127.0.0.1:`port`
    /// (plus `http`'s extra lines, a TLS section say), then the `auth` section's lines and any top-level `tail`.
    static func config(
        in directory: TemporaryDirectory, port: Int, http: String = "", auth: String, tail: String = ""
    ) -> String {
        """
        version: 0.1
        log:
          level: info
        storage:
          filesystem:
            rootdirectory: \(directory.file("data"))
          delete:
            enabled: true
        http:
          addr: 127.0.0.1:\(port)\(http)
        auth:
        \(auth)
        \(tail)
        """
    }

    /// The port is picked before docker-registry binds it; another process may take it in between, so a registry
    /// that exits over "address already in use" is retried on a new port. Any other failure throws with the log
    /// `launch` had it write to `directory`/registry.log.
    static func start(in directory: TemporaryDirectory, _ launch: (_ port: Int) throws -> Process) throws
        -> (port: Int, process: Process)
    {
        var lastLog = ""
        for _ in 0..<5 {
            let port = try FreePort.pick()
            let process = try launch(port)
            if FreePort.waitUntilListening(port, timeout: 20), process.isRunning { return (port, process) }
            PeerProcess.terminate(process)
            lastLog = (try? String(contentsOfFile: directory.file("registry.log"), encoding: .utf8)) ?? ""
            if !lastLog.contains("address already in use") {
                throw FixtureError.notListening(program: "docker-registry", port: port, log: lastLog)
            }
        }
        throw FixtureError.notListening(program: "docker-registry", port: 0, log: lastLog)
    }
}
