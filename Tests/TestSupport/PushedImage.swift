import Foundation

/// The set-up every mount and bundle test starts from: a docker-registry with basic auth, the layered image
/// pushed to it, and a home where `ocicred login` succeeded. The one mount set-up; `stop()` undoes all of it.
package struct PushedImage {
    package let registry: RegistryFixture
    package let directory: TemporaryDirectory
    package let home: String
    package let password: String
    package let reference: String
    package let environment: [String: String]
    package let image: LayeredImage

    /// `logLevel` goes to OCICRED_LOG_LEVEL (a profile's progress is logged at info).
    package static func prepare(
        username: String, repository: String, prefix: String, largeFileMiB: Int = 0, runnable: Bool = false,
        privilegeProbes: Bool = false, logLevel: String? = nil
    ) throws -> PushedImage {
        let password = "pw:" + UUID().uuidString.prefix(8).lowercased()
        let registry = try RegistryFixture.start(username: username, password: password)
        let directory = try TemporaryDirectory(prefix: prefix)
        do {
            let home = directory.file("home")
            var environment = try OcicredBinary.registryEnvironment(home: home)
            if let logLevel { environment["OCICRED_LOG_LEVEL"] = logLevel }
            let image = try LayeredImage.build(
                in: directory, largeFileMiB: largeFileMiB, runnable: runnable, privilegeProbes: privilegeProbes)
            try image.push(to: registry, password: password, repository: repository, directory: directory)
            let login = try OcicredBinary.run(
                ["login", registry.host, "-u", username, "--password-stdin"], home: home, stdin: password + "\n",
                extraEnvironment: environment)
            guard login.status == 0 else { throw FixtureError.commandFailed(command: "ocicred login", result: login) }
            return PushedImage(
                registry: registry, directory: directory, home: home, password: password,
                reference: "\(registry.host)/\(repository):layered", environment: environment, image: image)
        } catch {
            registry.stop()
            directory.remove()
            throw error
        }
    }

    package func stop() {
        registry.stop()
        directory.remove()
    }
}
