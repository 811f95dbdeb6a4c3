import SystemSupport

/// stdout carries a command's payload (an auth file, a protocol answer); reports and diagnostics go to stderr.
enum StandardStreams {
    /// The payload; a failed write is an error the command reports with a non-zero exit.
    static func payload(_ text: String) throws(SystemError) { try StandardStream.output.write(text) }
    static func out(_ text: String) { StandardStream.output.writeIgnoringErrors(text) }
    static func err(_ text: String) { StandardStream.error.writeIgnoringErrors(text) }
}
