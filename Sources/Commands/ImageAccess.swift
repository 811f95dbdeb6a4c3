internal import ArgumentParser
internal import Credentials
internal import LazyMount
internal import Logging
internal import Registry
internal import Synchronization
internal import SystemSupport
internal import Transport

/// What `index` and `mount` share: the image reference from the command line, a registry client whose
/// credentials come from the resolver (asked again on every 401), the progress line while layers are indexed,
/// and the exit codes for their errors.
enum ImageAccess {
    static func reference(_ image: String) throws -> Reference {
        do {
            return try Reference.parse(image)
        } catch {
            throw ValidationError("\(image) is not an image reference: \(error)")
        }
    }

    static func client(
        for reference: Reference, access: RegistryAccessOptions, environment: OcicredEnvironment, logger: Logger
    ) throws(RegistryError) -> RegistryClient {
        let key = CredentialKey.forImage(reference)
        let endpoint = try access.endpoint(for: key, repository: reference.repository, environment: environment)
        var client = RegistryClient(
            endpoint: endpoint, http: CurlHTTPClient(configuration: .fromEnvironment(environment.values)),
            credentials: RegistryLogin.credentialSource(
                resolver: Resolver.standard(environment: environment, logger: logger), key: key),
            logger: logger)
        access.applyTimeout(to: &client)
        return client
    }

    /// ImageIndexer's progress callback as one rewritten line on stderr; nil unless stderr is a terminal.
    /// On a terminal, one line rewritten in place; elsewhere (CI logs, a pod's log) a plain line when a layer
    /// is done and at most every 10 s within one, so a long index build is visibly alive without flooding the log.
    static func progressLine(prefix: String) -> (@Sendable (Int, Int, String, Int64, Int64) -> Void)? {
        let mib: @Sendable (Int64) -> String = { bytes in String(Double(bytes * 10 / (1 << 20)) / 10) }
        if StandardStream.error.isTerminal {
            return { layer, count, digest, read, size in
                StandardStreams.err(
                    "\r\(prefix)layer \(layer)/\(count) \(digest.prefix(19)) \(mib(read))/\(mib(size)) MiB\u{1B}[K")
            }
        }
        let lastLine = Mutex<ContinuousClock.Instant?>(nil)
        return { layer, count, digest, read, size in
            let now = ContinuousClock.now
            let due = lastLine.withLock { last in
                guard read == size || last.map({ now - $0 >= .seconds(10) }) ?? true else { return false }
                last = now
                return true
            }
            if due {
                StandardStreams.err(
                    "\(prefix)layer \(layer)/\(count) \(digest.prefix(19)) \(mib(read))/\(mib(size)) MiB\n")
            }
        }
    }

    static func clearProgressLine() { if StandardStream.error.isTerminal { StandardStreams.err("\r\u{1B}[K") } }

    /// Reports `error` on stderr and exits with the registry error kinds' codes (1 for everything else).
    static func fail(_ error: any Error) throws -> Never {
        switch error {
        case let error as LazyMountError:
            StandardStreams.err("error: \(error.description)\n")
            if case .registry(let registryError) = error { throw ExitCode(registryError.kind.rawValue) }
            throw ExitCode(1)
        case let error as RegistryError:
            StandardStreams.err("error: \(error.description)\n")
            throw ExitCode(error.kind.rawValue)
        default:
            throw error
        }
    }
}
