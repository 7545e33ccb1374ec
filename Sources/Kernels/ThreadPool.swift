import CKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Persistent worker threads for the kernels. Workers spin briefly after each job and then park, so a
/// call costs a few microseconds while decoding (hundreds of matmuls per token) and nothing when idle.
/// Calls are serialized: concurrent callers wait their turn; a call from inside a task runs inline.
public final class ThreadPool: @unchecked Sendable {
    let handle: OpaquePointer

    /// Starts `threads - 1` workers (the calling thread is the last one).
    public init(threads: Int) {
        guard let pool = sl_pool_create(Int32(clamping: max(1, threads))) else {
            fatalError("ThreadPool: out of memory creating the pool")
        }
        handle = pool
    }

    deinit { sl_pool_destroy(handle) }

    public var threadCount: Int { Int(sl_pool_threads(handle)) }

    /// Physical cores (from /sys/devices/system/cpu topology, else the active processor count);
    /// the environment variable SWIFTLM_THREADS overrides when it holds a valid count.
    public static var defaultThreadCount: Int {
        environmentThreadText.flatMap(parseThreadCount) ?? CPUTopology.physicalCores
    }

    /// The environment variable that overrides ``defaultThreadCount``.
    public static let threadsEnvironmentVariable = "SWIFTLM_THREADS"

    /// SWIFTLM_THREADS, trimmed; nil when unset or empty. Callers that load models check it with
    /// ``parseThreadCount(_:)`` and report a bad value (`abc`, `0`) rather than silently ignore it.
    public static var environmentThreadText: String? {
        guard let raw = getenv(threadsEnvironmentVariable) else { return nil }
        let text = String(String(cString: raw).filter { $0 != " " })
        return text.isEmpty ? nil : text
    }

    /// `text` as a thread count: an integer >= 1, else nil.
    public static func parseThreadCount(_ text: String) -> Int? {
        Int(text).flatMap { $0 >= 1 ? $0 : nil }
    }

    /// Logical CPUs online: more kernel threads than this only adds contention.
    public static var processorCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    /// Runs `body(i)` for every i in 0..<count across the pool and returns when all have finished.
    public func parallelFor(_ count: Int, _ body: (Int) -> Void) {
        guard count > 0 else { return }
        withoutActuallyEscaping(body) { body in
            var box = body
            withUnsafeMutablePointer(to: &box) { ctx in
                sl_pool_run(handle, Int64(count), { raw, i in
                    raw!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(Int(i))
                }, ctx)
            }
        }
    }
}

enum CPUTopology {
    /// Distinct (package, core) pairs of the online CPUs; hyperthreads share a core and do not help
    /// memory-bound kernels.
    static let physicalCores: Int = {
        var cores = Set<String>()
        var cpu = 0
        while true {
            let base = "/sys/devices/system/cpu/cpu\(cpu)/topology/"
            guard let core = readSmallFile(base + "core_id") else { break }
            let package = readSmallFile(base + "physical_package_id") ?? "0"
            cores.insert(package + ":" + core)
            cpu += 1
        }
        let online = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        return cores.isEmpty ? online : min(cores.count, online)
    }()

    private static func readSmallFile(_ path: String) -> String? {
        guard let f = fopen(path, "r") else { return nil }
        defer { fclose(f) }
        var buf = [CChar](repeating: 0, count: 64)
        guard fgets(&buf, 64, f) != nil else { return nil }
        let bytes = buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self).trimmingWhitespace
    }
}

private extension String {
    var trimmingWhitespace: String {
        String(self.filter { !$0.isWhitespace })
    }
}
