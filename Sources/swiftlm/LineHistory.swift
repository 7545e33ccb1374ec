import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The chat's input history, persisted one entry a line in `~/.swiftlm/history` (next to the model store's
/// default `~/.swiftlm/models`), like Ollama's `~/.ollama/history`.
///
/// Each entry is appended to the file as soon as it is entered, so a crash or a kill keeps it; the file
/// is cut back to the newest ``limit`` entries when it is loaded. It is created private (0600), because
/// people paste things into a chat. A history that cannot be read or written only loses persistence,
/// never the chat.
final class LineHistory {
    /// Entries kept (Ollama keeps 1,000 too).
    static let limit = 1000

    private(set) var entries: [String] = []
    let path: String?

    /// `$HOME/.swiftlm/history`; nil when there is no home directory to write to.
    static var defaultPath: String? {
        let env = ProcessInfo.processInfo.environment
        let home = env["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return home.isEmpty ? nil : home + "/.swiftlm/history"
    }

    /// Loads the history at `path` (none: an in-memory history).
    init(path: String?) {
        self.path = path
        guard let path, let data = FileManager.default.contents(atPath: path) else { return }
        entries = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        if entries.count > Self.limit {
            entries.removeFirst(entries.count - Self.limit)
            rewrite()
        }
    }

    /// Records an entry: empty lines, a repeat of the previous entry and multi-line pastes (the file holds
    /// one entry a line) are not kept.
    func add(_ line: String) {
        guard !line.trimmingCharacters(in: .whitespaces).isEmpty, !line.contains("\n"), entries.last != line else { return }
        entries.append(line)
        if entries.count > Self.limit { entries.removeFirst() }
        append(line + "\n")
    }

    private func append(_ text: String) {
        guard let path else { return }
        let directory = (path as NSString).deletingLastPathComponent
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                 attributes: [.posixPermissions: 0o700])
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    private func rewrite() {
        guard let path else { return }
        let text = entries.map { $0 + "\n" }.joined()
        let temporary = path + ".tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8),
                                             attributes: [.posixPermissions: 0o600]) else { return }
        if rename(temporary, path) != 0 { unlink(temporary) }
    }
}
