/// A config file problem, always with the place it is at, so the user can jump to it.
package struct ConfigError: Error, Equatable, CustomStringConvertible {
    package let file: String
    package let line: Int
    package let column: Int
    package let message: String
    /// Further problems of the same file, in file order, found after this one (`config validate` prints them all;
    /// a command that reads the config names the first).
    package var others: [ConfigError] = []

    package init(file: String, line: Int, column: Int, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    package var description: String { "\(file):\(line):\(column): \(message)" }

    /// This problem and the others, each once, in file order.
    package var all: [ConfigError] {
        var first = self
        first.others = []
        return Self.ordered([first] + others.flatMap(\.all))
    }

    /// `problems` as one error, the first in the file leading; nil when there are none.
    package static func combining(_ problems: [ConfigError]) -> ConfigError? {
        let ordered = ordered(problems.flatMap(\.all))
        guard var first = ordered.first else { return nil }
        first.others = Array(ordered.dropFirst())
        return first
    }

    static func ordered(_ problems: [ConfigError]) -> [ConfigError] {
        var seen: [ConfigError] = []
        for problem in problems.sorted(by: { ($0.line, $0.column) < ($1.line, $1.column) })
        where !seen.contains(problem) {
            seen.append(problem)
        }
        return seen
    }
}
