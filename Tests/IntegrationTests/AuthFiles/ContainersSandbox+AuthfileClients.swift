import Foundation
import TestSupport
import Testing

extension ContainersSandbox {
    /// `ocicred authfile --from-env` for `host` into `ci/auth.json` in the sandbox: the password travels only in the
    /// environment, as a CI secret does, never in argv. Requires it to succeed; returns the file and the run.
    func writeAuthfile(
        host: String, username: String, password: String, sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> (path: String, result: ProcessResult) {
        let authfile = directory.file("ci/auth.json")
        let write = try OcicredBinary.run(
            [
                "authfile", "--registry", host, "--from-env", "CI_REGISTRY_USER", "CI_REGISTRY_PASSWORD", "-o",
                authfile,
            ],
            home: home, extraEnvironment: ["CI_REGISTRY_USER": username, "CI_REGISTRY_PASSWORD": password])
        try #require(write.status == 0, "ocicred authfile: \(write)", sourceLocation: sourceLocation)
        return (authfile, write)
    }

    /// What a CI job does with an auth file from `ocicred authfile`: `buildah push` the local image `local` as
    /// `reference` (`host/repository:tag`), `skopeo inspect` it, remove it and `podman pull` it back, each given only
    /// `authfile`; then an inspect with an empty auth file, which the registry must refuse — the file really carried
    /// the credentials. `afterPush` checks what the push alone should have caused.
    func expectRealClientsUse(
        authfile: String, reference: String, local: String, registryLog: () -> String,
        afterPush: () throws -> Void = {}, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let push = try run(
            "buildah", ["push", "--authfile", authfile, "--tls-verify=false", local, "docker://\(reference)"])
        #expect(push.status == 0, "buildah push --authfile: \(push)\n\(registryLog())", sourceLocation: sourceLocation)
        try afterPush()

        let inspect = try run(
            "skopeo", ["inspect", "--authfile", authfile, "--tls-verify=false", "docker://\(reference)"])
        #expect(inspect.status == 0, "skopeo inspect --authfile: \(inspect)", sourceLocation: sourceLocation)
        let name = reference.split(separator: ":").dropLast().joined(separator: ":")
        #expect(
            inspect.stdoutText.contains("\"Name\": \"\(name)\""), "\(inspect.stdoutText)",
            sourceLocation: sourceLocation)

        let rmi = try run("podman", ["rmi", "--force", local])
        #expect(rmi.status == 0, "podman rmi: \(rmi)", sourceLocation: sourceLocation)
        let pull = try run("podman", ["pull", "--authfile", authfile, "--tls-verify=false", reference])
        #expect(pull.status == 0, "podman pull --authfile: \(pull)\n\(registryLog())", sourceLocation: sourceLocation)

        let anonymous = try run(
            "skopeo",
            ["inspect", "--authfile", directory.file("empty.json"), "--tls-verify=false", "docker://\(reference)"])
        #expect(anonymous.status != 0, "an anonymous inspect succeeded", sourceLocation: sourceLocation)
    }
}
