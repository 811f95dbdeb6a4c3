internal import Credentials
internal import FoundationEssentials
internal import SystemSupport

/// `credential_process` (https://docs.aws.amazon.com/sdkref/latest/guide/feature-process-credentials.html): run
/// the configured command and read `{"Version": 1, "AccessKeyId", "SecretAccessKey", "SessionToken",
/// "Expiration"}` from its stdout. The command line is split into argv the way botocore does on POSIX
/// (`shlex.split`: quotes and backslashes, no variable expansion) and executed directly — no shell, so nothing in
/// the config file is interpreted twice. Its stderr goes to ours.
struct CredentialProcess: Sendable {
    let commandLine: String
    let environment: OcicredEnvironment
    var timeout: Duration = .seconds(60)

    func fetch() async throws(ProviderError) -> AWSCredentials {
        let argv: [String]
        do {
            argv = try Self.split(commandLine)
        } catch {
            throw .misconfigured(provider: "aws", detail: "credential_process: \(error.reason)")
        }
        guard !argv.isEmpty else { throw .misconfigured(provider: "aws", detail: "credential_process is empty") }
        let result: ChildProcess.Result
        do {
            result = try await ChildProcess.run(argv, environment: environment.values, timeout: timeout)
        } catch {
            throw .misconfigured(provider: "aws", detail: "cannot run credential_process \(argv[0]): \(error)")
        }
        if result.timedOut {
            throw .unreachable(
                provider: "aws", endpoint: "credential_process \(argv[0])",
                reason: "it did not finish within \(timeout)")
        }
        guard result.status == 0 else {
            throw .misconfigured(
                provider: "aws",
                detail: "credential_process \(argv[0]) exited with status \(result.status) (its stderr is above)")
        }
        return try Self.parseOutput(result.stdout, program: argv[0])
    }

    static func parseOutput(_ bytes: [UInt8], program: String) throws(ProviderError) -> AWSCredentials {
        let endpoint = "credential_process \(program)"
        guard let object = try? JSONValue.parseObject(bytes) else {
            throw .invalidResponse(provider: "aws", endpoint: endpoint, reason: "its output is not a JSON object")
        }
        guard case .integer(1) = object["Version"] else {
            throw .invalidResponse(provider: "aws", endpoint: endpoint, reason: "its output must have \"Version\": 1")
        }
        guard let id = object["AccessKeyId"]?.stringValue, !id.isEmpty,
            let secret = object["SecretAccessKey"]?.stringValue, !secret.isEmpty
        else {
            throw .invalidResponse(
                provider: "aws", endpoint: endpoint, reason: "its output lacks AccessKeyId or SecretAccessKey")
        }
        var expiration: Date?
        if let text = object["Expiration"]?.stringValue {
            guard let date = RFC3339.parse(text) else {
                throw .invalidResponse(
                    provider: "aws", endpoint: endpoint, reason: "its Expiration is not an ISO 8601 time: \(text)")
            }
            expiration = date
        }
        let token = object["SessionToken"]?.stringValue.flatMap { $0.isEmpty ? nil : Secret($0) }
        return AWSCredentials(
            accessKeyID: id, secretAccessKey: Secret(secret), sessionToken: token, expiration: expiration)
    }

    struct SplitError: Error, Equatable { var reason: String }

    /// POSIX-shell word splitting without expansions (Python's `shlex.split(s, posix=True)`): whitespace separates
    /// words; `'…'` is literal; inside `"…"` a backslash escapes only `\ " $` and backquote; outside quotes a
    /// backslash escapes any character.
    static func split(_ line: String) throws(SplitError) -> [String] {
        var words: [String] = []
        var current = ""
        var inWord = false
        var index = line.startIndex
        while index < line.endIndex {
            let char = line[index]
            switch char {
            case " ", "\t", "\n", "\r":
                if inWord {
                    words.append(current)
                    current = ""
                    inWord = false
                }
            case "'":
                inWord = true
                guard let close = line[line.index(after: index)...].firstIndex(of: "'") else {
                    throw SplitError(reason: "unterminated single quote")
                }
                current += line[line.index(after: index)..<close]
                index = close
            case "\"":
                inWord = true
                index = line.index(after: index)
                var closed = false
                while index < line.endIndex {
                    let inner = line[index]
                    if inner == "\"" {
                        closed = true
                        break
                    }
                    if inner == "\\", line.index(after: index) < line.endIndex,
                        ["\\", "\"", "$", "`"].contains(line[line.index(after: index)])
                    {
                        index = line.index(after: index)
                    }
                    current.append(line[index])
                    index = line.index(after: index)
                }
                guard closed else { throw SplitError(reason: "unterminated double quote") }
            case "\\":
                inWord = true
                let next = line.index(after: index)
                guard next < line.endIndex else { throw SplitError(reason: "trailing backslash") }
                current.append(line[next])
                index = next
            default:
                inWord = true
                current.append(char)
            }
            index = line.index(after: index)
        }
        if inWord { words.append(current) }
        return words
    }
}
