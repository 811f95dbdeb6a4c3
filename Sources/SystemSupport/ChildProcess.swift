internal import Dispatch
internal import Glibc

/// The one way ocicred runs another program: an argv array (posix_spawn, no shell), stdin and stderr inherited so
/// the program can talk to the user. `run` collects stdout under a time limit — `credential_process`, whose
/// output holds secrets, so nothing is written to disk and nothing secret is passed as an argument by us;
/// `exitStatus` only waits — `fusermount3`, `fuse-overlayfs`.
package enum ChildProcess {
    package struct Result: Sendable {
        package var status: Int32
        package var stdout: [UInt8]
        package var timedOut: Bool
    }

    package enum Failure: Error, CustomStringConvertible {
        case spawn(String)
        package var description: String {
            switch self {
            case .spawn(let reason): return reason
            }
        }
    }

    /// Runs `argv` (a program name is looked up on `environment`'s PATH) and waits at most `timeout`.
    package static func run(
        _ argv: [String], environment: [String: String], timeout: Duration, maxOutput: Int = 1 << 20
    ) async throws(Failure) -> Result {
        let program = resolve(argv[0], path: environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin")
        let outcome: Swift.Result<Result, Failure> = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(
                    returning: runBlocking(
                        program: program, argv: argv, environment: environment, timeout: timeout,
                        maxOutput: maxOutput))
            }
        }
        return try outcome.get()
    }

    /// Runs `argv` (the program found on our PATH) with our environment, and returns its exit status once it
    /// ends; nil when it cannot be started or was killed by a signal.
    package static func exitStatus(_ argv: [String]) -> Int32? {
        var pid = pid_t()
        var cStrings = argv.map { strdup($0) } + [nil]
        defer { cStrings.forEach { free($0) } }
        guard posix_spawnp(&pid, argv[0], nil, nil, &cStrings, environ) == 0 else { return nil }
        var status: Int32 = 0
        _ = try? valueOrErrno("waitpid") { waitpid(pid, &status, 0) }
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : nil
    }

    /// A name without `/` is looked up on the child's PATH (not ours: tests and users pass their own).
    package static func resolve(_ name: String, path: String) -> String {
        if name.contains("/") { return name }
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return name
    }

    private static func runBlocking(
        program: String, argv: [String], environment: [String: String], timeout: Duration, maxOutput: Int
    ) -> Swift.Result<Result, Failure> {
        var fds: [Int32] = [-1, -1]
        // pipe2(O_CLOEXEC) is not exported by Glibc's module map; set the flag right after.
        do {
            _ = try valueOrErrno("pipe") { pipe(&fds) }
        } catch {
            return .failure(.spawn(error.description))
        }
        let (readEnd, writeEnd) = (fds[0], fds[1])
        _ = fcntl(readEnd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writeEnd, F_SETFD, FD_CLOEXEC)

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, writeEnd, 1)

        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            cArgs.forEach { free($0) }
            cEnv.forEach { free($0) }
        }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, program, &actions, nil, cArgs, cEnv)
        close(writeEnd)
        guard spawned == 0 else {
            close(readEnd)
            return .failure(.spawn(String(cString: strerror(spawned))))
        }

        let deadline = ContinuousClock.now.advanced(by: timeout)
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 8192)
        var timedOut = false
        while true {
            let remaining = ContinuousClock.now.duration(to: deadline)
            if remaining <= .zero {
                timedOut = true
                break
            }
            let (seconds, attoseconds) = remaining.components
            let milliseconds = Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1)
            var poller = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
            // EINTR is retried inside the seam; any other failure ends the read.
            guard let ready = try? valueOrErrno("poll", { poll(&poller, 1, milliseconds) }) else { break }
            if ready == 0 { continue }
            guard
                let count = try? valueOrErrno(
                    "read", { buffer.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) } })
            else { break }
            if count == 0 { break }
            if output.count < maxOutput { output.append(contentsOf: buffer[0..<min(count, maxOutput - output.count)]) }
        }
        close(readEnd)
        if timedOut { kill(pid, SIGKILL) }
        var status: Int32 = 0
        _ = try? valueOrErrno("waitpid") { waitpid(pid, &status, 0) }
        // WIFEXITED / WEXITSTATUS are macros; spelled out: low 7 bits zero means a normal exit.
        let exitStatus: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return .success(Result(status: exitStatus, stdout: output, timedOut: timedOut))
    }
}
