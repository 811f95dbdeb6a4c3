import SystemSupport
import Testing

/// The one way another program is run: an argv (no shell of ours), its status and stdout, a time limit that
/// ends it, and a PATH lookup on the child's own PATH.
@Suite struct ChildProcessTests {
    static let environment = ["PATH": "/usr/bin:/bin"]

    @Test func statusAndOutputComeBackAndArgumentsAreNotReparsed() async throws {
        let result = try await ChildProcess.run(
            ["sh", "-c", "printf '%s|' \"$@\"; exit 3", "sh", "a b", "$HOME", ";true"], environment: Self.environment,
            timeout: .seconds(30))
        #expect(result.status == 3 && !result.timedOut)
        #expect(String(decoding: result.stdout, as: UTF8.self) == "a b|$HOME|;true|")
    }

    @Test func aProgramPastItsTimeLimitIsEnded() async throws {
        let started = ContinuousClock.now
        let result = try await ChildProcess.run(["sleep", "30"], environment: Self.environment, timeout: .seconds(1))
        #expect(result.timedOut)
        #expect(ContinuousClock.now - started < .seconds(25), "ended, not waited for")
    }

    @Test func exitStatusAndLookup() {
        #expect(ChildProcess.exitStatus(["true"]) == 0)
        #expect(ChildProcess.exitStatus(["false"]) == 1)
        #expect(ChildProcess.exitStatus(["/nonexistent/program"]) == nil)
        #expect(ChildProcess.resolve("sh", path: "/nonexistent:/bin") == "/bin/sh")
        #expect(ChildProcess.resolve("./local", path: "/bin") == "./local")
    }
}
