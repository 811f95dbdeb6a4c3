internal import ArgumentParser
internal import Credentials
internal import Registry
internal import SystemSupport

/// How to reach the registry, shared by `login`, `verify`, `index` and `mount`; the same flags podman takes.
struct RegistryAccessOptions: ParsableArguments {
    @Option(
        name: .customLong("tls-verify"),
        help: ArgumentHelp(
            """
            Require HTTPS and verify certificates: --tls-verify or --tls-verify=true; --tls-verify=false skips \
            verification and allows plain HTTP. Default: false for registries marked insecure in registries.conf, \
            else true (plain HTTP is still tried for loopback registries).
            """, valueName: "bool"))
    var tlsVerify: Bool?

    @Option(
        name: .customLong("cert-dir"),
        help: "A directory whose ca.crt is trusted for the registry (default: certs.d, see OCICRED_CERTS_DIRS).")
    var certDirectory: String?

    @Option(
        help: ArgumentHelp(
            """
            How long to wait for the registry to answer one request, https and the plain-HTTP fallback together \
            (e.g. 5s, 2m, 500ms; default: 10s to connect, 30s for an answer).
            """, valueName: "duration"))
    var timeout: String?

    func validate() throws {
        if let timeout, Self.duration(timeout) == nil {
            throw ValidationError("--timeout \(timeout) is not a duration: write e.g. 10s, 2m or 500ms")
        }
    }

    /// `--timeout` applied to `client`: the whole budget of a request, and of the connect within it.
    func applyTimeout(to client: inout RegistryClient) {
        guard let limit = timeout.flatMap(Self.duration) else { return }
        client.timeout = limit
        client.connectTimeout = limit
    }

    /// `500ms`, `10s`, `2m`, `1h` (a unit is required, as in Go's time.ParseDuration that podman's flags use).
    static func duration(_ text: String) -> Duration? {
        let units: [(suffix: String, scale: Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        guard let unit = units.first(where: { text.hasSuffix($0.suffix) }),
            let value = Double(text.dropLast(unit.suffix.count)), value > 0, value.isFinite, value * unit.scale <= 86400
        else { return nil }
        return .milliseconds(Int64((value * unit.scale * 1000).rounded()))
    }

    /// The credential key for HOST, and the repository from `--repository` or from HOST's path.
    func parse(host: String, repository: String?) throws -> (CredentialKey, String?) {
        let key: CredentialKey
        do {
            key = try CredentialKey(serverURL: host)
        } catch {
            throw ValidationError("\(host) is not a registry host: \(error)")
        }
        return (key, repository ?? (key.path.isEmpty ? nil : key.path))
    }

    func endpoint(for key: CredentialKey, repository: String?, environment: OcicredEnvironment)
        throws(RegistryError) -> RegistryEndpoint
    {
        try RegistryEndpoint.resolve(
            host: key.host, repository: repository, tlsVerify: tlsVerify, certDirectory: certDirectory,
            environment: environment)
    }

    /// `--tls-verify` spelled as podman takes it, rewritten for ArgumentParser, which has no option whose value
    /// may be left out: a bare `--tls-verify` means true, and `=value` takes the spellings of Go's
    /// `strconv.ParseBool` (podman's flags are pflag bools), so `--tls-verify=1` or `=False` work as they do
    /// there. Anything after `--` is left alone, and so is an unknown value, which the parser then rejects with
    /// the option's name. A separate value (`--tls-verify false`) stays an error, as in podman.
    static func normalizingTLSVerify(_ arguments: [String]) -> [String] {
        let name = "--tls-verify"
        var result = [String]()
        result.reserveCapacity(arguments.count)
        for (index, argument) in arguments.enumerated() {
            if argument == "--" {
                result += arguments[index...]
                break
            }
            if argument == name {
                result.append(name + "=true")
            } else if argument.hasPrefix(name + "="), let value = goBool(argument.dropFirst(name.count + 1)) {
                result.append(name + "=" + String(value))
            } else {
                result.append(argument)
            }
        }
        return result
    }

    private static func goBool(_ text: Substring) -> Bool? {
        switch text {
        case "1", "t", "T", "true", "TRUE", "True": return true
        case "0", "f", "F", "false", "FALSE", "False": return false
        default: return nil
        }
    }
}
