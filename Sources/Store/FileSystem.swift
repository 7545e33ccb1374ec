import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

#if canImport(Glibc)
private func posixRename(_ a: String, _ b: String) -> Int32 { Glibc.rename(a, b) }
#else
private func posixRename(_ a: String, _ b: String) -> Int32 { Darwin.rename(a, b) }
#endif

/// Thin POSIX helpers for the durability steps Foundation does not expose (fsync of files and
/// directories, rename over an existing name, advisory locks).
enum FileSystem {
    static func errnoText(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }

    static func isRegularFile(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    static func fileSize(_ path: String) -> Int64? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return Int64(st.st_size)
    }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// `mkdir -p`, reporting the component that failed with the system's reason (Foundation's
    /// errors would surface as opaque NSCocoaErrorDomain codes on Linux).
    static func makeDirectories(_ path: String) throws(StoreError) {
        if isDirectory(path) { return }
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if isDirectory(prefix) { continue }
            if exists(prefix) {
                throw .io(operation: "creating directory", path: path, reason: "\(prefix) is a file, not a directory")
            }
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                throw .io(operation: "creating directory", path: prefix, reason: errnoText())
            }
        }
    }

    /// Flushes a file or directory to disk; a rename is only durable once its directory is synced.
    static func sync(_ path: String) throws(StoreError) {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw .io(operation: "opening", path: path, reason: errnoText()) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw .io(operation: "syncing", path: path, reason: errnoText()) }
    }

    static func rename(_ from: String, to: String) throws(StoreError) {
        guard posixRename(from, to) == 0 else {
            throw .io(operation: "renaming \(from) to", path: to, reason: errnoText())
        }
    }

    static func remove(_ path: String) throws(StoreError) {
        guard unlink(path) == 0 || errno == ENOENT else {
            throw .io(operation: "removing", path: path, reason: errnoText())
        }
    }

    static func removeTree(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Writes `data` so that readers see either the old file or the whole new one: temp file in the
    /// same directory, fsync, rename, fsync of the directory.
    static func writeAtomically(_ data: Data, to path: String) throws(StoreError) {
        let dir = (path as NSString).deletingLastPathComponent
        let tmp = "\(dir)/.tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else { throw .io(operation: "creating", path: tmp, reason: errnoText()) }
        var ok = true
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n <= 0 { ok = false; break }
                offset += n
            }
        }
        let reason = errnoText()
        if ok { ok = fsync(fd) == 0 }
        close(fd)
        guard ok else {
            unlink(tmp)
            throw .io(operation: "writing", path: tmp, reason: reason)
        }
        do {
            try rename(tmp, to: path)
        } catch {
            unlink(tmp)
            throw error
        }
        try sync(dir)
    }

    static func directoryEntries(_ path: String) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
    }
}

/// An exclusive advisory lock held for the life of the object (or the process: the kernel drops
/// `flock` locks when a killed process's descriptors close, so a crash never leaves a stale lock).
final class FileLock {
    private let fd: Int32

    init?(path: String) {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return nil }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            return nil
        }
        self.fd = fd
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}
