/// Keys and values of every past position of one sequence, for every layer, in F32.
///
/// F32 rather than F16: the cache of these models is small (24-36 KB per position) and attention
/// reads it once per head per token, so halving it saves little bandwidth while costing a conversion
/// on every read; F32 also keeps prefill and token-by-token decode bit-identical in what they store.
///
/// Layout per layer: `[kvHead][position][headDim]`, so a head's keys for a causal range are one
/// contiguous run (the attention inner loops stream it). All layers keep every position, including
/// sliding-window layers (their mask limits what they read), so ``truncate(to:)`` can rewind to any
/// point, which prompt-prefix reuse relies on.
///
/// A cache belongs to the model that made it; it is not thread-safe (one sequence, one forward at a time).
public final class KVCache: @unchecked Sendable {
    /// Positions currently stored.
    public private(set) var count: Int = 0
    /// Positions this cache can hold.
    public let capacity: Int

    let layerCount: Int
    let kvHeadCount: Int
    let keyLength: Int
    let valueLength: Int
    /// Identifies the model geometry that made the cache, so a foreign cache is rejected, not misread.
    let ownerID: ObjectIdentifier
    private let keys: UnsafeMutablePointer<Float>
    private let values: UnsafeMutablePointer<Float>

    init(capacity: Int, layerCount: Int, kvHeadCount: Int, keyLength: Int, valueLength: Int, owner: AnyObject) {
        self.capacity = max(0, capacity)
        self.layerCount = layerCount
        self.kvHeadCount = kvHeadCount
        self.keyLength = keyLength
        self.valueLength = valueLength
        self.ownerID = ObjectIdentifier(owner)
        let kCount = max(1, layerCount * kvHeadCount * self.capacity * keyLength)
        let vCount = max(1, layerCount * kvHeadCount * self.capacity * valueLength)
        keys = .allocate(capacity: kCount)
        values = .allocate(capacity: vCount)
        // Zeroed so a read bug shows up as wrong-but-finite numbers rather than NaN garbage.
        keys.initialize(repeating: 0, count: kCount)
        values.initialize(repeating: 0, count: vCount)
    }

    deinit {
        keys.deallocate()
        values.deallocate()
    }

    /// Forgets every position from `newCount` on (no effect if `newCount >= count`).
    public func truncate(to newCount: Int) {
        count = min(count, max(0, newCount))
    }

    /// Forgets every position.
    public func clear() { count = 0 }

    /// Keys of `layer`, `head`: `capacity x keyLength` floats, position-major.
    @inline(__always)
    func keys(layer: Int, head: Int) -> UnsafeMutablePointer<Float> {
        keys + ((layer * kvHeadCount + head) * capacity) * keyLength
    }

    /// Values of `layer`, `head`: `capacity x valueLength` floats, position-major.
    @inline(__always)
    func values(layer: Int, head: Int) -> UnsafeMutablePointer<Float> {
        values + ((layer * kvHeadCount + head) * capacity) * valueLength
    }

    /// Called by the model once a batch has been written into every layer.
    func advance(by n: Int) {
        precondition(count + n <= capacity, "KV cache advanced past its capacity")
        count += n
    }
}
