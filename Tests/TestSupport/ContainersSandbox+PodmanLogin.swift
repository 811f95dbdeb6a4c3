import Foundation

extension ContainersSandbox {
    /// `podman login --password-stdin` to a plain-HTTP `registry`, as a user types it: the password travels on
    /// stdin, never in argv. Throws, with the registry's log, unless podman exits 0 and says "Login Succeeded".
    package func podmanLogin(to registry: RegistryFixture, password: String) throws {
        let login = try run(
            "podman",
            ["login", "--tls-verify=false", "--username", registry.username, "--password-stdin", registry.host],
            stdin: Data((password + "\n").utf8))
        guard login.status == 0, login.stdoutText.contains("Login Succeeded") else {
            throw FixtureError.commandFailed(command: "podman login (registry log:\n\(registry.log))", result: login)
        }
    }

    /// The set-up the helper-protocol tests share: an htpasswd registry for `username`, a sandbox whose
    /// `credHelpers` send that registry to ocicred, and podman logged in to it. Both are stopped and removed after
    /// `body`, failed or not.
    package static func withPodmanLogin(
        username: String, password: String, _ body: (ContainersSandbox, RegistryFixture) throws -> Void
    ) throws {
        let registry = try RegistryFixture.start(username: username, password: password)
        defer { registry.stop() }
        let sandbox = try ContainersSandbox(credHelpers: [registry.host: "ocicred"])
        defer { sandbox.remove() }
        try sandbox.podmanLogin(to: registry, password: password)
        try body(sandbox, registry)
    }
}
