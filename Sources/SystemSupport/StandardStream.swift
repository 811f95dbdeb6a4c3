internal import Glibc

/// stdin, stdout and stderr, read and written whole. stdout carries a command's payload (a helper answer, an
/// auth file), so a write that fails — a closed pipe, `>/dev/full` — is an error the caller turns into a
/// non-zero exit: a client must never take a truncated answer for a complete one.
package enum StandardStream {
    case input, output, error

    var descriptor: Int32 {
        switch self {
        case .input: return 0
        case .output: return 1
        case .error: return 2
        }
    }

    /// Writes all of `bytes`; throws on the first failure (EPIPE, ENOSPC, EBADF).
    package func write(_ bytes: [UInt8]) throws(SystemError) {
        try FileIO.writeAll(bytes, to: descriptor, operation: "write to \(self)")
    }

    package func write(_ text: String) throws(SystemError) { try write(Array(text.utf8)) }

    /// Whether the stream is a terminal, where a progress line may be rewritten in place; anything else (a pipe,
    /// a file, a closed descriptor) gets plain lines.
    package var isTerminal: Bool { isatty(descriptor) == 1 }

    /// For reports and diagnostics, where there is nobody left to tell about a failed write.
    package func writeIgnoringErrors(_ text: String) { try? write(text) }

    /// Reads to end of file; nil when more than `limit` bytes arrive (reading stops at limit + 1).
    package func readAll(limit: Int) throws(SystemError) -> [UInt8]? {
        var bytes = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = try valueOrErrno("read from \(self)") {
                chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            }
            if count == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<count])
            if bytes.count > limit { return nil }
        }
    }
}

extension StandardStream: CustomStringConvertible {
    package var description: String {
        switch self {
        case .input: return "standard input"
        case .output: return "standard output"
        case .error: return "standard error"
        }
    }
}
