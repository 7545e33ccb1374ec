import Foundation

/// Tokens still in the running, with their (possibly adjusted) logits.
///
/// Each stage of the chain narrows or reshapes this set. `isSorted` records that the entries are in
/// descending logit order (ties broken by lower id), so the order-dependent stages sort at most once.
public struct Candidates: Sendable, Equatable {
    public var ids: [Int32]
    public var logits: [Float]
    public var isSorted: Bool

    public init(ids: [Int32], logits: [Float], isSorted: Bool = false) {
        precondition(ids.count == logits.count, "ids and logits must pair up")
        self.ids = ids
        self.logits = logits
        self.isSorted = isSorted
    }

    /// Every token of the vocabulary, unsorted.
    public init(logits: [Float]) {
        self.init(ids: (0..<Int32(logits.count)).map { $0 }, logits: logits)
    }

    public var count: Int { ids.count }

    /// Sorts by descending logit; equal logits keep the lower id first so the result never depends on input order.
    public mutating func sort() {
        if isSorted { return }
        var order = Array(ids.indices)
        order.sort { a, b in logits[a] != logits[b] ? logits[a] > logits[b] : ids[a] < ids[b] }
        ids = order.map { ids[$0] }
        logits = order.map { logits[$0] }
        isSorted = true
    }

    /// Keeps the first `n` entries (of the sorted order).
    public mutating func keepFirst(_ n: Int) {
        precondition(isSorted, "truncation is only meaningful on sorted candidates")
        if n < count {
            ids.removeSubrange(n...)
            logits.removeSubrange(n...)
        }
    }

    /// Softmax of the current logits, in double precision so long tails still sum to 1.
    public func probabilities() -> [Double] {
        guard let maxLogit = logits.max() else { return [] }
        var p = logits.map { exp(Double($0 - maxLogit)) }
        let sum = p.reduce(0, +)
        for i in p.indices { p[i] /= sum }
        return p
    }
}

/// Repetition, frequency and presence penalties over a window of recent tokens (llama.cpp's formula).
public struct PenaltyStage: Sendable {
    public var repeatPenalty: Float
    public var frequencyPenalty: Float
    public var presencePenalty: Float

    public init(repeatPenalty: Float, frequencyPenalty: Float = 0, presencePenalty: Float = 0) {
        self.repeatPenalty = repeatPenalty
        self.frequencyPenalty = frequencyPenalty
        self.presencePenalty = presencePenalty
    }

    public var isIdentity: Bool { repeatPenalty == 1 && frequencyPenalty == 0 && presencePenalty == 0 }

    /// Adjusts the full-vocabulary `logits` for each distinct token of `window`.
    public func apply(to logits: inout [Float], window: some Sequence<Int32>) {
        if isIdentity { return }
        var counts: [Int32: Int] = [:]
        for token in window where token >= 0 && Int(token) < logits.count { counts[token, default: 0] += 1 }
        for (token, count) in counts {
            var l = logits[Int(token)]
            // Dividing a negative logit would make the token *more* likely; llama.cpp multiplies those instead.
            l = l <= 0 ? l * repeatPenalty : l / repeatPenalty
            l -= Float(count) * frequencyPenalty + presencePenalty
            logits[Int(token)] = l
        }
    }
}

/// Keeps the `k` highest logits (sorted). `k <= 0` keeps everything.
public struct TopKStage: Sendable {
    public var k: Int
    public init(k: Int) { self.k = k }

    public func apply(_ c: inout Candidates) {
        guard k > 0, k < c.count else { return }
        if c.isSorted { c.keepFirst(k); return }
        // One pass with a small sorted buffer: far cheaper than sorting a 150k-entry vocabulary for k = 40.
        var bestIDs: [Int32] = []
        var bestLogits: [Float] = []
        bestIDs.reserveCapacity(k + 1)
        bestLogits.reserveCapacity(k + 1)
        for i in 0..<c.count {
            let l = c.logits[i], id = c.ids[i]
            if bestLogits.count == k {
                let lastL = bestLogits[k - 1], lastID = bestIDs[k - 1]
                if l < lastL || (l == lastL && id > lastID) { continue }
            }
            var pos = bestLogits.count
            while pos > 0, bestLogits[pos - 1] < l || (bestLogits[pos - 1] == l && bestIDs[pos - 1] > id) { pos -= 1 }
            bestLogits.insert(l, at: pos)
            bestIDs.insert(id, at: pos)
            if bestLogits.count > k { bestLogits.removeLast(); bestIDs.removeLast() }
        }
        c = Candidates(ids: bestIDs, logits: bestLogits, isSorted: true)
    }
}

/// Nucleus sampling: the smallest prefix of the sorted candidates whose probability reaches `p`.
public struct TopPStage: Sendable {
    public var p: Float
    public init(p: Float) { self.p = p }

    public func apply(_ c: inout Candidates) {
        guard p < 1, c.count > 1 else { return }
        c.sort()
        let probs = c.probabilities()
        var cumulative = 0.0
        var keep = c.count
        for (i, q) in probs.enumerated() {
            cumulative += q
            if cumulative >= Double(p) { keep = i + 1; break }
        }
        c.keepFirst(max(keep, 1))
    }
}

/// Drops candidates whose probability is below `p` times the top one's.
public struct MinPStage: Sendable {
    public var p: Float
    public init(p: Float) { self.p = p }

    public func apply(_ c: inout Candidates) {
        guard p > 0, c.count > 1, let maxLogit = c.logits.max() else { return }
        // p_i >= p * p_max  ⇔  logit_i >= logit_max + ln p, which needs no softmax.
        let threshold = maxLogit + log(p)
        var ids: [Int32] = [], logits: [Float] = []
        for i in 0..<c.count where c.logits[i] >= threshold {
            ids.append(c.ids[i])
            logits.append(c.logits[i])
        }
        c = Candidates(ids: ids, logits: logits, isSorted: c.isSorted)
    }
}

/// Divides logits by the temperature (callers handle temperature 0 as greedy before reaching here).
public struct TemperatureStage: Sendable {
    public var temperature: Float
    public init(temperature: Float) { self.temperature = temperature }

    public func apply(_ c: inout Candidates) {
        guard temperature > 0, temperature != 1 else { return }
        for i in c.logits.indices { c.logits[i] /= temperature }
    }
}

/// Draws one candidate from the softmax of the remaining logits.
public struct DrawStage: Sendable {
    public init() {}

    public func apply(_ c: Candidates, using rng: inout Xoshiro256) -> Int32 {
        precondition(c.count > 0, "every stage keeps at least one candidate")
        let probs = c.probabilities()
        let u = rng.nextUnit()
        var cumulative = 0.0
        for (i, q) in probs.enumerated() {
            cumulative += q
            if u < cumulative { return c.ids[i] }
        }
        return c.ids[c.count - 1] // rounding left u just above the final cumulative sum
    }
}
