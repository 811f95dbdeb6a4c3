internal import ArgumentParser
internal import LazyMount

/// `ocicred unmount DIR`: end an `ocicred mount` (the mount process then exits 0).
struct UnmountCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unmount",
        abstract: "Unmount a directory mounted by `ocicred mount`; other kinds of mounts are refused.",
        discussion: """
            For a bundle (`ocicred mount --bundle`), the overlay at DIR/rootfs goes first, then the lazy mount; \
            while a container still uses the bundle this is refused, naming the process, and nothing is unmounted.
            """)

    @Argument(help: "The mount point.")
    var directory: String

    func run() throws {
        do throws(LazyMountError) {
            try ImageMount.unmountDirectoryOrBundle(directory)
        } catch .mount(let mountpoint, let reason) {
            // LazyMountError's `.mount` is worded for mounting; here the user asked to unmount.
            StandardStreams.err("error: unmount \(mountpoint): \(reason)\n")
            throw ExitCode(1)
        } catch {
            StandardStreams.err("error: \(error.description)\n")
            throw ExitCode(1)
        }
    }
}
