internal import ArgumentParser
internal import LazyMount

/// `ocicred podman-args DIR`: the bundle's command, env, user and working directory as podman arguments.
struct PodmanArgsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "podman-args",
        abstract: "Print a bundle's command, env, user and working directory as `podman run --rootfs` arguments.",
        discussion: """
            podman gets no image config with --rootfs, so what the image would set is passed explicitly. The \
            output is quoted for a POSIX shell: eval "podman run --rm $(ocicred podman-args DIR)". With -0 each \
            argument ends with a NUL byte instead, for xargs -0.
            """)

    @Argument(help: "A bundle made by `ocicred mount IMAGE DIR --bundle`.")
    var directory: String

    @Flag(name: .customShort("0"), help: "End each argument with a NUL byte instead of quoting for a shell.")
    var nul = false

    func run() throws {
        do {
            let arguments = try RuntimeBundle.podmanArguments(directory)
            StandardStreams.out(
                nul ? arguments.map { $0 + "\0" }.joined() : RuntimeSpec.shellQuoted(arguments) + "\n")
        } catch {
            StandardStreams.err("error: \(error.description)\n")
            throw ExitCode(1)
        }
    }
}
