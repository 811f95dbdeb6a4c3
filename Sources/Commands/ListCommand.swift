internal import ArgumentParser
internal import Credentials
internal import SystemSupport

/// `ocicred list`: what the store holds, as a table for a person; `docker-credential-ocicred list` is the
/// same listing as JSON for programs.
struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the registries ocicred's encrypted store holds credentials for, with their usernames.",
        discussion: """
            The store holds what `podman login` (through ocicred), `ocicred login` and `helper store` put there. \
            Registries answered by a config rule, a cloud identity or an auth file are not listed: \
            `ocicred get HOST` shows where any registry's credentials come from. No secret is printed.
            """)

    func run() throws {
        let environment = OcicredEnvironment.current
        let store = EncryptedStore(directory: environment.storeDirectory, keyFile: environment.keyFile)
        let entries: [CredentialMaterial]
        do {
            entries = try store.list()
        } catch {
            StandardStreams.err("error: \(error.description)\n")
            throw ExitCode(1)
        }
        guard !entries.isEmpty else {
            StandardStreams.err("nothing is stored in \(store.directory)\n")
            return
        }
        let rows =
            [["REGISTRY", "USERNAME", "TYPE"]]
            + entries.sorted { $0.registry < $1.registry }.map { [$0.registry, $0.username, $0.type.rawValue] }
        StandardStreams.out(Self.table(rows))
    }

    /// Columns padded to their widest cell, two spaces apart, as `podman images` lays out its table.
    static func table(_ rows: [[String]]) -> String {
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[column] - cell.count + 2)
            }.joined()
        }.joined(separator: "\n") + "\n"
    }
}
