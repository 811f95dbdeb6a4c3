import Credentials
import Foundation
import Kubernetes
import Logging
import Synchronization
import TestSupport
import Transport

/// The fixture API server (Tests/Fixtures/kube_apiserver.py) over HTTPS with its own CA, plus its test
/// controls. Stop it with `stop()` in `defer`.
final class KubeAPIFixture: Sendable {
    let server: FixtureServer
    let directory: TemporaryDirectory
    let http = CurlHTTPClient()
    var url: String { "https://127.0.0.1:\(server.port)" }
    var caFile: String { directory.file("ca.crt") }

    init(tokens: [String] = ["fixture-token"]) throws {
        directory = try TemporaryDirectory(prefix: "ocicred-kube")
        server = try FixtureServer(
            script: "kube_apiserver.py", arguments: ["--tls-dir", directory.path],
            environment: ["KUBE_FIXTURE_TOKENS": tokens.joined(separator: ",")])
    }

    func stop() {
        server.stop()
        directory.remove()
    }

    func client(
        token: ClusterConfig.Token = .inline(Secret("fixture-token")), caFile: String?? = nil,
        now: @escaping @Sendable () -> Date = { Date() }
    ) -> KubernetesClient {
        let config = ClusterConfig(server: url, caFile: caFile ?? self.caFile, token: token)
        return KubernetesClient(config: config, http: http, logger: Logger(label: "test"), now: now)
    }

    @discardableResult
    func control(_ method: String, _ path: String, _ body: Any? = nil) async throws -> Any {
        var request = HTTPRequest(method: method, url: url + path, caFile: caFile)
        if let body {
            request.body = Array(try JSONSerialization.data(withJSONObject: body))
            request.headers = [("Content-Type", "application/json")]
        }
        let response = try await http.send(request)
        return try JSONSerialization.jsonObject(with: Data(response.body), options: [.fragmentsAllowed])
    }

    func object(_ resource: String, _ namespace: String, _ name: String) async throws -> [String: Any]? {
        let answer = try await control("GET", "/__object?resource=\(resource)&namespace=\(namespace)&name=\(name)")
        guard let object = answer as? [String: Any], object["kind"] as? String != "Status" else { return nil }
        return object
    }

    /// Every (verb, resource) the fixture served to an authenticated client.
    func calls() async throws -> Set<KubernetesAPICall> {
        let list = try await control("GET", "/__calls") as? [[String: String]] ?? []
        return Set(list.map { KubernetesAPICall($0["verb"]!, $0["resource"]!, group: $0["group"]!) })
    }

    func counter(_ name: String) async throws -> Int {
        (try await control("GET", "/__counters") as? [String: Int])?[name] ?? 0
    }
}

/// A clock a test moves by hand.
final class ManualClock: Sendable {
    private let current: Mutex<Date>
    init(_ start: Date = Date(timeIntervalSince1970: 1_750_000_000)) { current = Mutex(start) }
    var now: @Sendable () -> Date { { self.current.withLock { $0 } } }
    func advance(_ seconds: TimeInterval) { current.withLock { $0 += seconds } }
}
