import Credentials
import Foundation
import Registry
import SystemSupport
import TestSupport
import Testing

/// containers-registries.conf(5) as ocicred reads it: which hosts are insecure or blocked.
struct RegistriesConfTests {
    func parse(_ text: String) throws(RegistriesConfError) -> RegistriesConf {
        try RegistriesConf.parse(text, file: "test.conf")
    }

    @Test func readsVersion2RegistryTables() throws {
        let conf = try parse(
            """
            # a comment
            unqualified-search-registries = ["registry.fedoraproject.org", "docker.io"]
            short-name-mode = "enforcing"

            [[registry]]
            location = "registry.internal:5000"  # plain HTTP in the lab
            insecure = true

            [[registry]]
            prefix = "example.com/foo"
            location = 'mirror.example.com/foo'
            blocked = false

            [[registry.mirror]]
            location = "other-mirror.example.com"
            insecure = true

            [[registry]]
            prefix = "*.lab.example"
            insecure = true

            [aliases]
              "fedora" = "registry.fedoraproject.org/fedora"
            """)
        #expect(conf.registries.count == 3)
        #expect(
            conf.registries[0]
                == RegistriesConf.Registry(
                    prefix: "registry.internal:5000", location: "registry.internal:5000", insecure: true,
                    origin: "test.conf:5"))
        #expect(conf.registries[1].prefix == "example.com/foo")
        #expect(conf.registries[1].location == "mirror.example.com/foo")
        #expect(!conf.registries[1].insecure)

        #expect(conf.isInsecure(host: "registry.internal:5000"))
        #expect(!conf.isInsecure(host: "registry.internal:5001"))
        #expect(conf.isInsecure(host: "a.lab.example"))
        #expect(conf.isInsecure(host: "deep.a.lab.example:443"))
        #expect(!conf.isInsecure(host: "lab.example"))
        #expect(!conf.isInsecure(host: "other-mirror.example.com"), "mirror entries are podman's business")
        #expect(!conf.isInsecure(host: "example.com"))
    }

    @Test func theLongestPrefixWins() throws {
        let conf = try parse(
            """
            [[registry]]
            location = "example.com"
            insecure = true
            [[registry]]
            prefix = "example.com/secure"
            location = "example.com/secure"
            insecure = false
            """)
        #expect(conf.isInsecure(host: "example.com"))
        #expect(conf.isInsecure(host: "example.com", repository: "other/app"))
        #expect(!conf.isInsecure(host: "example.com", repository: "secure/app"))
        // podman's documented quirk: a host prefix also matches that host with a port.
        #expect(conf.isInsecure(host: "example.com:5000"))
        #expect(!conf.isInsecure(host: "example.community"))
    }

    @Test func readsVersion1Lists() throws {
        let conf = try parse(
            """
            [registries.search]
            registries = ['docker.io']
            [registries.insecure]
            registries = [
              "old.internal:5000",   # trailing comma and comments inside arrays
              "legacy.internal",
            ]
            [registries.block]
            registries = ["evil.example"]
            """)
        #expect(conf.insecureHosts == ["old.internal:5000", "legacy.internal"])
        #expect(conf.isInsecure(host: "legacy.internal"))
        #expect(!conf.isInsecure(host: "legacy.internal:5000"))
        #expect(conf.isBlocked(host: "evil.example"))
    }

    @Test func stringsUnescape() throws {
        let conf = try parse(
            #"""
            [[registry]]
            location = "a\u0062c.example\t"
            prefix = 'c:\literal\path'
            """#)
        #expect(conf.registries.first?.location == "abc.example\t")
        #expect(conf.registries.first?.prefix == #"c:\literal\path"#)
    }

    struct BadFile: Sendable, CustomTestStringConvertible {
        var text: String
        var line: Int
        var message: String
        var testDescription: String { message }
    }

    static let badFiles: [BadFile] = [
        BadFile(
            text: "[[registry]]\nlocation = \"x\"\ninsecure = \"true\"\n", line: 3,
            message: "insecure must be true or false"),
        BadFile(text: "[[registry]]\nlocation = 5\n", line: 2, message: "location must be a string"),
        BadFile(text: "\n\n[[registry]]\ninsecure = true\n", line: 3, message: "needs a location or a prefix"),
        BadFile(text: "[[registry]]\nlocation = \"unterminated\n", line: 2, message: "unterminated string"),
        BadFile(text: "a = 1\na = 2\n", line: 2, message: "set twice"),
        BadFile(text: "[aliases]\n[aliases]\n", line: 2, message: "defined twice"),
        BadFile(text: "registry.location = \"x\"\n", line: 1, message: "dotted keys"),
        BadFile(text: "x = { a = 1 }\n", line: 1, message: "inline tables"),
        BadFile(text: "x = \"\"\"\nmulti\n\"\"\"\n", line: 1, message: "multi-line strings"),
        BadFile(text: "[[registry]\nlocation = \"x\"\n", line: 1, message: "expected ]]"),
        BadFile(text: "x = [1, 2\n", line: 2, message: "unterminated array"),
        BadFile(text: "x = 1.5\n", line: 1, message: "unexpected text"),
        BadFile(text: "x = true false\n", line: 1, message: "unexpected text"),
        BadFile(text: "x = \"\\q\"\n", line: 1, message: "invalid escape"),
        BadFile(
            text: "unqualified-search-registries = \"docker.io\"\n", line: 1, message: "must be an array of strings"),
        BadFile(text: "[[registry]]\nlocation = \"x\"\n= true\n", line: 3, message: "expected a key"),
        BadFile(text: "[[registry]]\nlocation = \"*.wild\"\n", line: 1, message: "wildcard location"),
    ]

    @Test(arguments: badFiles) func errorsNameFileAndLine(_ bad: BadFile) {
        do throws(RegistriesConfError) {
            let conf = try parse(bad.text)
            Issue.record("parsed: \(conf)")
        } catch {
            #expect(error.description.hasPrefix("test.conf:\(bad.line): "), "\(error.description)")
            #expect(error.description.contains(bad.message), "\(error.description)")
        }
    }

    /// podman's own registries.conf (helpers/test installs podman, which ships it) parses: a precondition, so a
    /// machine without it fails here instead of asserting nothing.
    @Test func theMachinesOwnFilesParse() throws {
        try #require(
            FileManager.default.fileExists(atPath: RegistriesConf.systemFile),
            "\(RegistriesConf.systemFile) is installed by podman (containers-common); helpers/test installs it")
        let dropIns = (try? FileManager.default.contentsOfDirectory(atPath: RegistriesConf.systemDropInDirectory)) ?? []
        let paths = [RegistriesConf.systemFile] + dropIns.map { RegistriesConf.systemDropInDirectory + "/" + $0 }
        for path in paths where FileManager.default.fileExists(atPath: path) {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            #expect(throws: Never.self, "\(path)") { try RegistriesConf.parse(text, file: path) }
        }
    }

    @Test func dropInsOverrideByPrefixInNameOrder() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let dropIns = directory.file("registries.conf.d")
        try FileManager.default.createDirectory(atPath: dropIns, withIntermediateDirectories: true)
        try
            "[[registry]]\nlocation = \"a.example\"\ninsecure = true\n[[registry]]\nlocation = \"b.example\"\ninsecure = true\n"
            .write(toFile: directory.file("main.conf"), atomically: true, encoding: .utf8)
        try "[[registry]]\nlocation = \"a.example\"\ninsecure = false\n"
            .write(toFile: dropIns + "/10-a.conf", atomically: true, encoding: .utf8)
        try "[[registry]]\nlocation = \"c.example\"\ninsecure = true\n"
            .write(toFile: dropIns + "/20-c.conf", atomically: true, encoding: .utf8)
        try "[[registry]]\nlocation = \"c.example\"\ninsecure = false\n"
            .write(toFile: dropIns + "/05-c.conf", atomically: true, encoding: .utf8)
        try "not toml at all".write(toFile: dropIns + "/ignored.txt", atomically: true, encoding: .utf8)

        let environment = OcicredEnvironment([
            "HOME": directory.path, "CONTAINERS_REGISTRIES_CONF": directory.file("main.conf"),
            "OCICRED_REGISTRIES_CONF_DIR": dropIns,
        ])
        let conf = try RegistriesConf.load(environment: environment)
        #expect(!conf.isInsecure(host: "a.example"))
        #expect(conf.isInsecure(host: "b.example"))
        #expect(conf.isInsecure(host: "c.example"), "20-c.conf comes after 05-c.conf")

        let endpoint = try RegistryEndpoint.resolve(
            host: "b.example", tlsVerify: nil, certDirectory: nil, environment: environment)
        #expect(endpoint.insecure && !endpoint.verifyTLS && endpoint.schemes == ["https", "http"])
        let forced = try RegistryEndpoint.resolve(
            host: "b.example", tlsVerify: true, certDirectory: nil, environment: environment)
        #expect(forced.verifyTLS && forced.schemes == ["https"], "--tls-verify=true overrides registries.conf")
        let remote = try RegistryEndpoint.resolve(
            host: "d.example", tlsVerify: nil, certDirectory: nil, environment: environment)
        #expect(remote.verifyTLS && remote.schemes == ["https"])
    }

    @Test func aMissingFileIsNoErrorButABrokenOneIs() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let missing = OcicredEnvironment([
            "HOME": directory.path, "CONTAINERS_REGISTRIES_CONF": directory.file("none.conf"),
            "OCICRED_REGISTRIES_CONF_DIR": directory.file("none.d"),
        ])
        #expect(try RegistriesConf.load(environment: missing) == RegistriesConf())
        try "[[registry]\n".write(toFile: directory.file("bad.conf"), atomically: true, encoding: .utf8)
        let broken = OcicredEnvironment([
            "HOME": directory.path, "CONTAINERS_REGISTRIES_CONF": directory.file("bad.conf"),
            "OCICRED_REGISTRIES_CONF_DIR": directory.file("none.d"),
        ])
        #expect(throws: RegistriesConfError.self) { try RegistriesConf.load(environment: broken) }
    }

    @Test func certsDirectoriesFindTheHostsCA() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let hostDirectory = directory.file("certs.d/registry.internal:5000")
        try FileManager.default.createDirectory(atPath: hostDirectory, withIntermediateDirectories: true)
        try "pem".write(toFile: hostDirectory + "/ca.crt", atomically: true, encoding: .utf8)
        let environment = OcicredEnvironment([
            "OCICRED_CERTS_DIRS": directory.file("nothing") + ":" + directory.file("certs.d")
        ])
        #expect(
            CertificateDirectories.caFile(host: "registry.internal:5000", certDirectory: nil, environment: environment)
                == hostDirectory + "/ca.crt")
        #expect(
            CertificateDirectories.caFile(host: "registry.internal", certDirectory: nil, environment: environment)
                == nil)
        #expect(
            CertificateDirectories.caFile(host: "x", certDirectory: hostDirectory, environment: environment)
                == hostDirectory + "/ca.crt")
        #expect(
            CertificateDirectories.roots(environment: OcicredEnvironment(["HOME": "/h"]))
                == ["/h/.config/containers/certs.d", "/etc/containers/certs.d", "/etc/docker/certs.d"])
    }
}

/// Loopback: where docker allows plain HTTP without being told.
struct LoopbackHostTests {
    @Test(arguments: [
        ("localhost", true), ("localhost:5000", true), ("LOCALHOST", true), ("registry.localhost:5000", true),
        ("127.0.0.1", true), ("127.0.0.1:5000", true), ("127.255.255.254:1", true), ("[::1]:5000", true),
        ("::1", true), ("[0:0:0:0:0:0:0:1]", true), ("[::ffff:127.0.0.1]:80", true),
        ("128.0.0.1", false), ("10.0.0.1:5000", false), ("localhost.example.com", false), ("mylocalhost", false),
        ("127.0.0.1.nip.io", false), ("[::2]:5000", false), ("[::ffff:10.0.0.1]", false), ("0177.0.0.1", false),
        ("127.1", false), ("", false), ("registry-1.docker.io", false),
    ])
    func classifies(_ host: String, _ loopback: Bool) {
        #expect(LoopbackHost.isLoopback(host) == loopback, "\(host)")
    }
}
