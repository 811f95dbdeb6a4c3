internal import Glibc

/// The end of the process, for `main` and the root command: exit(3) flushes stdio and runs the atexit handlers
/// (none of ocicred's own), so an answer written through `StandardStream` is complete before the status is seen.
package enum ProcessExit {
    package static func exit(_ status: Int32) -> Never { Glibc.exit(status) }
}
