import Foundation

/// The fixture API server (Tests/Fixtures/kube_apiserver.py) for tests that run ocicred as a process: HTTPS with
/// its own CA in `directory`, a kubeconfig for it at `directory/kubeconfig` (namespace `ocicred`), and its test
/// controls. A control that fails (curl, or an answer that is not JSON) throws: a broken fixture must not read
/// as an empty cluster.
package final class KubeAPIServer: @unchecked Sendable {
    package let server: FixtureServer
    package let directory: TemporaryDirectory
    package var caFile: String { directory.file("ca.crt") }
    package var url: String { "https://127.0.0.1:\(server.port)" }
    package var kubeconfig: String { directory.file("kubeconfig") }

    package init(in directory: TemporaryDirectory, token: String) throws {
        self.directory = directory
        server = try FixtureServer(
            script: "kube_apiserver.py", arguments: ["--tls-dir", directory.path],
            environment: ["KUBE_FIXTURE_TOKENS": token])
        do {
            try """
            apiVersion: v1
            kind: Config
            current-context: test
            clusters: [{name: c, cluster: {server: "\(url)", certificate-authority: "\(caFile)"}}]
            users: [{name: u, user: {token: \(token)}}]
            contexts: [{name: test, context: {cluster: c, user: u, namespace: ocicred}}]
            """.write(toFile: kubeconfig, atomically: true, encoding: .utf8)
        } catch {
            server.stop()
            throw error
        }
    }

    package func stop() { server.stop() }

    /// A test control of the fixture (no auth, under /__); the JSON answer.
    @discardableResult
    package func control(_ method: String, _ path: String, _ body: Any? = nil) throws -> Any {
        var arguments = ["-sS", "--cacert", caFile, "-X", method, url + path]
        if let body {
            let json = String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
            arguments += ["-H", "Content-Type: application/json", "--data-binary", json]
        }
        let result = try ProcessRunner.run("curl", arguments)
        guard result.status == 0 else {
            throw FixtureError.commandFailed(command: "curl \(method) \(path)", result: result)
        }
        return try JSONSerialization.jsonObject(with: result.stdout, options: [.fragmentsAllowed])
    }

    /// The stored object, or nil when the fixture answers a `Status` (not found).
    package func object(_ resource: String, _ namespace: String, _ name: String) throws -> [String: Any]? {
        let answer = try control("GET", "/__object?resource=\(resource)&namespace=\(namespace)&name=\(name)")
        guard let object = answer as? [String: Any] else {
            throw FixtureError.unexpectedAnswer(control: "GET /__object", answer: "\(answer)")
        }
        return object["kind"] as? String == "Status" ? nil : object
    }

    /// The namespaces the fixture holds.
    package func namespaces() throws -> [String] {
        let answer = try control("POST", "/__namespaces", ["add": [String]()])
        guard let names = (answer as? [String: Any])?["namespaces"] as? [String] else {
            throw FixtureError.unexpectedAnswer(control: "POST /__namespaces", answer: "\(answer)")
        }
        return names
    }
}
