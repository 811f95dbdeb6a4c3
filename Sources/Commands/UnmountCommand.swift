import ArgumentParser
import LazyMount

/// `ocicred unmount DIR`: end an `ocicred mount` (the mount process then exits 0).
struct UnmountCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unmount",
        abstract: "Unmount a directory mounted by `ocicred mount`; other kinds of mounts are refused.")

    @Argument(help: "The mount point.")
    var directory: String

    func run() throws {
        do {
            try ImageMount.unmount(directory)
        } catch {
            StandardStreams.err("error: \(error.description)\n")
            throw ExitCode(1)
        }
    }
}
