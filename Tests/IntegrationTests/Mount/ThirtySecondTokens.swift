import Foundation
import TestSupport

/// The set-up of the soak tests that outlive their registry token: docker-registry with token auth whose tokens
/// live 30 s, a user `reader` (who may push) with a fresh password, and a private directory holding an empty home
/// and its registry environment. Both are stopped and removed after `body`, failed or not.
enum ThirtySecondTokens {
    static func with(
        prefix: String,
        _ body: (
            _ registry: TokenRegistryFixture, _ directory: TemporaryDirectory, _ home: String,
            _ environment: [String: String], _ password: String
        ) throws -> Void
    ) throws {
        let password = "tok:" + UUID().uuidString.prefix(8).lowercased()
        let registry = try TokenRegistryFixture.start(
            users: [TokenUser(name: "reader", password: password, push: true)], tokenLifetime: 30)
        defer { registry.stop() }
        let directory = try TemporaryDirectory(prefix: prefix)
        defer { directory.remove() }
        let home = directory.file("home")
        let environment = try OcicredBinary.registryEnvironment(home: home)
        try body(registry, directory, home, environment, password)
    }
}
