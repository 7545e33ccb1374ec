import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The resumable state of one unfinished pull, in `partial/<model:tag>/`:
/// - `data`: the GGUF bytes so far. It becomes the blob by a rename, so the finished file is never copied.
/// - `state.json`: how many bytes of `data` are known good (whole verified parts), and where they came from.
/// - `lock`: held (flock) for the life of the pull, so two pulls of one name cannot interleave.
///
/// The sha256 runs while bytes are appended; on resume the kept prefix is hashed again first.
final class PartialPull {
    struct State: Codable, Equatable {
        /// Identifies the source (catalog entry + digest, or URL); a different source starts over.
        var source: String
        var completedParts: Int = 0
        var bytes: Int64 = 0
        /// HTTP validator sent as `If-Range`, so a changed file restarts instead of splicing.
        var etag: String?
    }

    let directory: String
    let dataPath: String
    private let statePath: String
    private(set) var state: State
    /// Bytes currently in `data` (committed or not).
    private(set) var length: Int64
    private var hasher = SHA256()
    private var fd: Int32
    private let lock: FileLock

    /// Opens or creates the partial pull for `name`.
    /// - Parameters:
    ///   - keepUncommitted: keep every byte already in `data` (HTTP, where the file is one stream),
    ///     rather than cutting back to the last committed part (pip, where a part is all or nothing).
    ///   - rehashed: reports progress while the kept prefix is hashed again.
    init(directory: String, name: String, source: String, keepUncommitted: Bool,
         rehashed: (Int64, Int64) -> Void) throws(StoreError) {
        self.directory = directory
        dataPath = directory + "/data"
        statePath = directory + "/state.json"
        try FileSystem.makeDirectories(directory)
        guard let lock = FileLock(path: directory + "/lock") else {
            throw .busy(name: name, lockPath: directory + "/lock")
        }
        self.lock = lock
        for entry in FileSystem.directoryEntries(directory) where entry.hasPrefix("tmp-") {
            FileSystem.removeTree("\(directory)/\(entry)")
        }
        var state = State(source: source)
        if let data = FileManager.default.contents(atPath: statePath),
           let saved = try? JSONDecoder().decode(State.self, from: data), saved.source == source {
            state = saved
        }
        fd = open(dataPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io(operation: "opening", path: dataPath, reason: FileSystem.errnoText()) }
        let onDisk = FileSystem.fileSize(dataPath) ?? 0
        if onDisk < state.bytes { state = State(source: source) }
        if keepUncommitted { state.bytes = onDisk }
        self.state = state
        length = state.bytes
        guard ftruncate(fd, off_t(length)) == 0 else {
            close(fd)
            throw .io(operation: "truncating", path: dataPath, reason: FileSystem.errnoText())
        }
        try rehashPrefix(rehashed)
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    private func rehashPrefix(_ report: (Int64, Int64) -> Void) throws(StoreError) {
        let chunk = 1 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 64)
        defer { buffer.deallocate() }
        var offset: Int64 = 0
        while offset < length {
            let n = pread(fd, buffer.baseAddress!, min(chunk, Int(length - offset)), off_t(offset))
            guard n > 0 else { throw .io(operation: "reading", path: dataPath, reason: FileSystem.errnoText()) }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[..<n]))
            offset += Int64(n)
            report(offset, length)
        }
        guard lseek(fd, off_t(length), SEEK_SET) >= 0 else {
            throw .io(operation: "seeking", path: dataPath, reason: FileSystem.errnoText())
        }
    }

    func append(_ bytes: UnsafeRawBufferPointer) throws(StoreError) {
        var offset = 0
        while offset < bytes.count {
            let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            guard n > 0 else {
                if n < 0 && errno == EINTR { continue }
                throw .io(operation: "writing", path: dataPath, reason: FileSystem.errnoText())
            }
            offset += n
        }
        hasher.update(bufferPointer: bytes)
        length += Int64(bytes.count)
    }

    func append(_ data: Data) throws(StoreError) {
        var failure: StoreError?
        data.withUnsafeBytes { raw in
            do throws(StoreError) { try append(raw) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Drops bytes appended since the last commit (a part that failed half way).
    func rollback() throws(StoreError) {
        guard length != state.bytes else { return }
        length = state.bytes
        hasher = SHA256()
        guard ftruncate(fd, off_t(length)) == 0 else {
            throw .io(operation: "truncating", path: dataPath, reason: FileSystem.errnoText())
        }
        try rehashPrefix { _, _ in }
    }

    /// Makes everything appended so far durable and records it as complete.
    func commit(parts: Int, etag: String? = nil) throws(StoreError) {
        guard fsync(fd) == 0 else { throw .io(operation: "syncing", path: dataPath, reason: FileSystem.errnoText()) }
        state.completedParts = parts
        state.bytes = length
        if let etag { state.etag = etag }
        try saveState()
    }

    /// Forgets all data (the server sent the whole file again, or it changed).
    func reset(etag: String?) throws(StoreError) {
        guard ftruncate(fd, 0) == 0, lseek(fd, 0, SEEK_SET) == 0 else {
            throw .io(operation: "truncating", path: dataPath, reason: FileSystem.errnoText())
        }
        hasher = SHA256()
        length = 0
        state = State(source: state.source, etag: etag)
        try saveState()
    }

    private func saveState() throws(StoreError) {
        let data = (try? JSONEncoder().encode(state)) ?? Data()
        try FileSystem.writeAtomically(data, to: statePath)
    }

    /// The sha256 (lowercase hex) of all bytes appended; call once, when the download is complete.
    func finalizeDigest() -> String {
        hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// Flushes and closes `data` before it is renamed into the blob directory.
    func finishWriting() throws(StoreError) {
        defer {
            close(fd)
            fd = -1
        }
        guard fsync(fd) == 0 else { throw .io(operation: "syncing", path: dataPath, reason: FileSystem.errnoText()) }
    }

    /// Removes the whole partial directory (after success, or when its bytes are known bad).
    func discard() {
        if fd >= 0 {
            close(fd)
            fd = -1
        }
        FileSystem.removeTree(directory)
    }
}
