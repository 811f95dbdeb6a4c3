import Credentials
import SystemSupport
import Testing

/// The auth file `ocicred configure` edits by default is the one podman 4.3 writes on `podman login`
/// (PodmanHabitsTests proves each row against real podman); this is the precedence between them.
@Suite("configure's default auth file")
struct CredHelperConfiguratorTests {
    @Test(
        "REGISTRY_AUTH_FILE, then DOCKER_CONFIG, then XDG_RUNTIME_DIR, then /run/containers/0 for root",
        arguments: [
            (
                ["REGISTRY_AUTH_FILE": "/a/auth.json", "DOCKER_CONFIG": "/d", "XDG_RUNTIME_DIR": "/r"], 1000,
                "/a/auth.json"
            ),
            (["DOCKER_CONFIG": "/d", "XDG_RUNTIME_DIR": "/r"], 1000, "/d/config.json"),
            (
                ["XDG_RUNTIME_DIR": "/run/user/1000", "XDG_CONFIG_HOME": "/c"], 1000,
                "/run/user/1000/containers/auth.json"
            ),
            (["REGISTRY_AUTH_FILE": "", "DOCKER_CONFIG": "", "XDG_RUNTIME_DIR": "/r"], 0, "/r/containers/auth.json"),
            (["HOME": "/root"], 0, "/run/containers/0/auth.json"),
            (["HOME": "/home/u", "XDG_CONFIG_HOME": "/home/u/.config"], 1000, nil),
        ] as [([String: String], UInt32, String?)])
    func defaultAuthFile(environment: [String: String], userID: UInt32, expected: String?) {
        #expect(
            CredHelperConfigurator.podmanAuthFile(environment: OcicredEnvironment(environment), userID: userID)
                == expected)
    }
}
