import Kernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Keys and values of the past positions of one sequence, for every layer, stored as its ``type``
/// (f32, f16 or q8_0; attention converts rows on the fly, see ``KVRows``).
///
/// Every type stores a row from the same f32 projection whatever the batch, so prefill and
/// token-by-token decode store the same bytes and results stay batch-invariant for each type.
///
/// Layout per layer: `[kvHead][slot][headDim]`. A global layer has one slot per position (slot =
/// position). A sliding-window layer of window `W` only ever reads the last `W` keys, so it keeps a
/// ring of `min(capacity, W + chunk)` slots (slot = position % ring): a chunk of `chunk` queries
/// starting at `s` reads keys from `s - W + 1` while writing up to `s + chunk - 1`, which fits.
/// The ring is what makes gemma3's cache small, and what limits rewinding: see ``truncate(to:)``.
///
/// A cache belongs to the model that made it, and to one owner: it is not `Sendable`, so it stays in
/// the isolation domain that made it (a `RequestScheduler`'s owner thread, or an `InferenceContext`'s
/// caller) and its forwards never overlap.
public final class KVCache {
    /// Positions currently stored.
    public private(set) var count: Int = 0
    /// Positions this cache can hold.
    public let capacity: Int
    /// Bytes of key and value storage the cache allocated.
    public let byteCount: Int
    /// How keys and values are stored.
    public let type: KVCacheType

    let layerCount: Int
    let kvHeadCount: Int
    let keyLength: Int
    let valueLength: Int
    /// Per layer: its attention window (nil = global) and its slots (`capacity` unless a ring).
    let layerWindows: [Int?]
    let layerSlots: [Int]
    /// Per layer: the lowest position whose keys its ring still holds; `[validFrom, count)` are all there.
    private var validFrom: [Int]
    /// Identifies the model geometry that made the cache, so a foreign cache is rejected, not misread.
    let ownerID: ObjectIdentifier
    /// Bytes of one stored key (`keyLength` values) and one stored value row in ``type``.
    let keyRowBytes: Int
    let valueRowBytes: Int
    private let keys: UnsafeMutableRawPointer
    /// Bytes of `keys` (the rest of ``byteCount`` is `values`).
    private let keyByteCount: Int
    private let values: UnsafeMutableRawPointer
    /// Byte offsets of each layer's keys and values.
    private let keyOffsets: [Int]
    private let valueOffsets: [Int]

    /// Bytes a cache of `type` takes for `capacity` positions of a model with this geometry, rings
    /// included, or nil when `type` cannot store its rows (q8_0 needs head sizes that are multiples of 32).
    static func byteCount(type: KVCacheType, capacity: Int, layerWindows: [Int?], ringSlack: Int, kvHeadCount: Int,
                          keyLength: Int, valueLength: Int) -> Int? {
        guard let k = type.rowBytes(count: keyLength), let v = type.rowBytes(count: valueLength) else { return nil }
        let capacity = max(0, capacity)
        return layerWindows.reduce(0) { sum, w in
            let slots = w.flatMap { $0 >= 1 ? min(capacity, $0 + max(0, ringSlack)) : nil } ?? capacity
            return sum + kvHeadCount * slots * (k + v)
        }
    }

    /// - Parameter ringSlack: extra ring slots past a window: the most positions one forward chunk writes.
    /// - Precondition: `type` can store rows of `keyLength` and `valueLength` (see ``byteCount(type:capacity:layerWindows:ringSlack:kvHeadCount:keyLength:valueLength:)``).
    init(capacity: Int, type: KVCacheType = .f32, layerWindows: [Int?], ringSlack: Int, kvHeadCount: Int, keyLength: Int,
         valueLength: Int, owner: AnyObject) {
        let capacity = max(0, capacity)
        guard let keyRow = type.rowBytes(count: keyLength), let valueRow = type.rowBytes(count: valueLength) else {
            preconditionFailure("a \(type.rawValue) KV cache cannot store rows of \(keyLength) / \(valueLength) values")
        }
        self.capacity = capacity
        self.type = type
        self.keyRowBytes = keyRow
        self.valueRowBytes = valueRow
        self.layerCount = layerWindows.count
        self.kvHeadCount = kvHeadCount
        self.keyLength = keyLength
        self.valueLength = valueLength
        self.layerWindows = layerWindows.map { w in w.flatMap { $0 >= 1 ? $0 : nil } }
        self.layerSlots = self.layerWindows.map { w in w.map { min(capacity, $0 + max(0, ringSlack)) } ?? capacity }
        self.validFrom = Array(repeating: 0, count: layerWindows.count)
        self.ownerID = ObjectIdentifier(owner)
        var kOff: [Int] = [], vOff: [Int] = [], k = 0, v = 0
        for slots in layerSlots {
            kOff.append(k); vOff.append(v)
            k += kvHeadCount * slots * keyRow
            v += kvHeadCount * slots * valueRow
        }
        keyOffsets = kOff
        valueOffsets = vOff
        byteCount = k + v
        keyByteCount = k
        keys = Self.mapZeroed(max(1, k))
        values = Self.mapZeroed(max(1, v))
    }

    deinit {
        munmap(keys, max(1, keyByteCount))
        munmap(values, max(1, byteCount - keyByteCount))
    }

    /// Zero-filled memory (page aligned) from an anonymous mapping. The kernel backs a page only when it is
    /// first written, so a cache's resident size follows the positions it holds, not its capacity: an
    /// idle `--parallel 8 --ctx 4096` server does not pay for eight full caches (llama.cpp's buffers
    /// behave alike). Zeroed also means a read bug shows up as wrong-but-finite numbers, not NaN garbage.
    private static func mapZeroed(_ bytes: Int) -> UnsafeMutableRawPointer {
        guard let p = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), p != MAP_FAILED else {
            // Out of address space: what allocate would do too, but with the reason.
            fatalError("cannot map \(bytes) bytes for a KV cache: errno \(errno)")
        }
        return p
    }


    /// The smallest non-zero count ``truncate(to:)`` can rewind to and keep: below it a sliding-window
    /// layer's ring no longer holds the keys the next position would attend to. 0 while every layer
    /// still holds every position (nothing has wrapped a ring yet).
    public var earliestReusablePosition: Int {
        var earliest = 0
        for l in 0 ..< layerCount {
            guard let w = layerWindows[l], validFrom[l] > 0 else { continue }
            // The next position n attends to [n - w + 1, n), all of which must be at or past validFrom.
            earliest = max(earliest, validFrom[l] + w - 1)
        }
        return earliest
    }

    /// Forgets every position from `newCount` on (no effect if `newCount >= count`).
    ///
    /// Rewinding below ``earliestReusablePosition`` cannot be served from the sliding-window rings:
    /// the cache is emptied instead, so the caller must re-evaluate from position 0. Never keeps a
    /// prefix whose attention would be wrong.
    /// - Returns: the count actually kept (`min(count, newCount)`, or 0 when the rings could not serve it).
    @discardableResult
    public func truncate(to newCount: Int) -> Int {
        let n = min(count, max(0, newCount))
        if n < earliestReusablePosition {
            clear()
        } else {
            count = n
        }
        return count
    }

    /// Replaces this cache's contents with the first `count` positions of `source` (llama.cpp's `seq_cp`),
    /// so a sequence sharing a prompt prefix with another one need not evaluate it again.
    ///
    /// Both caches must come from the same model. The copy follows the same rule as ``truncate(to:)``:
    /// a count below `source`'s ``earliestReusablePosition`` cannot be served from its sliding-window
    /// rings, and this cache is left empty instead.
    /// - Returns: the positions copied: `min(count, source.count, capacity)`, or 0.
    @discardableResult
    public func copyPrefix(from source: KVCache, count: Int) -> Int {
        precondition(source.ownerID == ownerID && source.layerCount == layerCount && source.type == type,
                     "copyPrefix between caches of different models or types")
        clear()
        let n = min(max(0, count), source.count, capacity)
        guard n > 0, n >= source.earliestReusablePosition, source !== self else { return 0 }
        for l in 0 ..< layerCount {
            let srcSlots = source.layerSlots[l], dstSlots = layerSlots[l]
            // A ring holds [validFrom, count) of its source, and this ring only the last dstSlots of them.
            let lo = max(source.validFrom[l], n - dstSlots, 0)
            for h in 0 ..< kvHeadCount {
                let sk = source.keys(layer: l, head: h), dk = keys(layer: l, head: h)
                let sv = source.values(layer: l, head: h), dv = values(layer: l, head: h)
                var p = lo
                while p < n {
                    // Runs of positions contiguous in both layouts.
                    let s = p % srcSlots, d = p % dstSlots
                    let run = min(n - p, srcSlots - s, dstSlots - d)
                    (dk + d * keyRowBytes).copyMemory(from: sk + s * keyRowBytes, byteCount: run * keyRowBytes)
                    (dv + d * valueRowBytes).copyMemory(from: sv + s * valueRowBytes, byteCount: run * valueRowBytes)
                    p += run
                }
            }
            validFrom[l] = layerSlots[l] < capacity ? lo : 0
        }
        self.count = n
        return n
    }

    /// Forgets every position.
    public func clear() {
        count = 0
        for l in validFrom.indices { validFrom[l] = 0 }
    }

    /// Keys of `layer`, `head`: `layerSlots[layer]` rows of ``keyRowBytes``, slot-major.
    @inline(__always)
    func keys(layer: Int, head: Int) -> UnsafeMutableRawPointer {
        keys + keyOffsets[layer] + head * layerSlots[layer] * keyRowBytes
    }

    /// Values of `layer`, `head`: `layerSlots[layer]` rows of ``valueRowBytes``, slot-major.
    @inline(__always)
    func values(layer: Int, head: Int) -> UnsafeMutableRawPointer {
        values + valueOffsets[layer] + head * layerSlots[layer] * valueRowBytes
    }

    /// Called by the model once a batch has been written into every layer.
    func advance(by n: Int) {
        precondition(count + n <= capacity, "KV cache advanced past its capacity")
        count += n
        // Writing positions [count - n, count) overwrote, in each ring, the slots of the positions a ring earlier.
        for l in 0 ..< layerCount where layerSlots[l] < capacity {
            validFrom[l] = max(validFrom[l], count - layerSlots[l])
        }
    }
}
