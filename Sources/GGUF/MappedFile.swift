#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only memory map of a whole file. Weights are used in place from this mapping, so the
/// mapping lives as long as any model that points into it.
public final class MappedFile: @unchecked Sendable {
    // Immutable after init; the bytes are never written, so sharing across threads is safe.
    public let path: String
    public let base: UnsafeRawPointer
    public let size: Int
    /// False for in-memory copies, which are freed rather than unmapped.
    private let isMapped: Bool

    public init(path: String) throws(GGUFError) {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw .cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw .cannotOpen(path: path, reason: "not a regular file") }
        let size = Int(st.st_size)
        guard size > 0 else { throw .emptyFile(path: path) }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw .cannotOpen(path: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        self.base = UnsafeRawPointer(p)
        self.size = size
        self.isMapped = true
    }

    /// An in-memory copy of `bytes`, parsed exactly like a file: for GGUF data that never touched
    /// the disk (a download being checked, tests, fuzzing). `name` stands in for the path in messages.
    public init(copying bytes: some Collection<UInt8>, name: String = "<memory>") throws(GGUFError) {
        guard !bytes.isEmpty else { throw .emptyFile(path: name) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 64)
        _ = buffer.initializeMemory(as: UInt8.self, from: bytes)
        self.path = name
        self.base = UnsafeRawPointer(buffer.baseAddress!)
        self.size = buffer.count
        self.isMapped = false
    }

    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: size) }

    deinit {
        if isMapped {
            munmap(UnsafeMutableRawPointer(mutating: base), size)
        } else {
            UnsafeMutableRawPointer(mutating: base).deallocate()
        }
    }
}
