internal import Glibc

/// Reading a username or password from the person at the terminal (/dev/tty, so it works with stdin
/// redirected), with echo off for the password (termios), restored however the read ends.
package enum TerminalPrompt {
    package struct Failure: Error, CustomStringConvertible {
        package var description: String
    }

    package static func read(_ prompt: String, echo: Bool) throws(Failure) -> String {
        let fd: Int32
        do {
            fd = try valueOrErrno("open /dev/tty") { open("/dev/tty", O_RDWR | O_CLOEXEC) }
        } catch {
            throw Failure(description: "no terminal to prompt on; pass --username and --password-stdin")
        }
        defer { close(fd) }
        try? FileIO.writeAll(Array(prompt.utf8), to: fd, operation: "write /dev/tty")
        var saved = termios()
        let haveTermios = tcgetattr(fd, &saved) == 0
        if !echo, haveTermios {
            var quiet = saved
            quiet.c_lflag &= ~tcflag_t(ECHO)
            quiet.c_lflag |= tcflag_t(ECHONL)
            _ = tcsetattr(fd, TCSAFLUSH, &quiet)
        }
        defer { if !echo, haveTermios { _ = tcsetattr(fd, TCSAFLUSH, &saved) } }
        return try readLine(fd)
    }

    /// docker's and podman's --password-stdin: all of stdin, less one trailing line end.
    package static func readStdinLine() throws(Failure) -> String { try readLine(0, wholeInput: true) }

    private static func readLine(_ fd: Int32, wholeInput: Bool = false) throws(Failure) -> String {
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while true {
            let count: Int
            do {
                count = try valueOrErrno("read") { Glibc.read(fd, &byte, 1) }
            } catch {
                throw Failure(description: "cannot read the input: \(error.symbol)")
            }
            if count == 0 || (byte == 0x0A && !wholeInput) { break }
            bytes.append(byte)
            guard bytes.count <= 64 << 10 else { throw Failure(description: "the input line is too long") }
        }
        if wholeInput, bytes.last == 0x0A { bytes.removeLast() }
        if bytes.last == 0x0D { bytes.removeLast() }
        return String(decoding: bytes, as: UTF8.self)
    }
}
