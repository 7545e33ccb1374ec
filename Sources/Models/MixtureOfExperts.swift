import Kernels

/// Mixture-of-experts hyperparameters (`<arch>.expert_count`, `expert_used_count`, `expert_feed_forward_length`).
struct ExpertConfig: Sendable, Equatable {
    var count: Int
    var used: Int
    var feedForwardLength: Int
}

/// A mixture-of-experts FFN (qwen3moe): a router picks `used` of the experts for each token, and the token's
/// output is the weighted sum of those experts' gated SiLU FFNs.
struct ExpertWeights: Sendable {
    /// `[experts x embd]`.
    var router: WeightMatrix
    /// Per expert: `[ffExp x embd]`, `[ffExp x embd]`, `[embd x ffExp]` (views into the `*_exps` stacks).
    var gate: [WeightMatrix], up: [WeightMatrix], down: [WeightMatrix]
    var used: Int
}

/// Routing as llama.cpp's `build_moe_ffn` does it for qwen3moe (softmax gating, `norm_w`): softmax over all
/// experts' router logits, the `used` most probable experts (ties to the lower index), their probabilities
/// renormalised to sum to 1 (the sum clamped below at 2^-14 as llama.cpp does).
package enum ExpertRouting {
    /// `(expert, weight)` pairs for one token's router logits, most probable first.
    package static func route(_ logits: UnsafePointer<Float>, experts: Int, used: Int) -> [(expert: Int, weight: Float)] {
        var probs = [Float](UnsafeBufferPointer(start: logits, count: experts))
        probs.withUnsafeMutableBufferPointer { Ops.softmax($0.baseAddress!, count: experts) }
        let order = probs.indices.sorted { probs[$0] > probs[$1] || (probs[$0] == probs[$1] && $0 < $1) }
        let chosen = order.prefix(used)
        var sum: Float = 0
        for e in chosen { sum += probs[e] }
        sum = max(sum, 6.103515625e-5)
        return chosen.map { ($0, probs[$0] / sum) }
    }

    /// The rows of a batch grouped by expert: for each expert, the rows that chose it (in row order) with
    /// their weights. `logits` is `[rows x experts]`. An expert then runs once over its whole group.
    package static func groups(_ logits: UnsafePointer<Float>, rows n: Int, experts: Int, used: Int) -> [[(row: Int, weight: Float)]] {
        var assigned = [[(row: Int, weight: Float)]](repeating: [], count: experts)
        for r in 0 ..< n {
            for (expert, weight) in route(logits + r * experts, experts: experts, used: used) {
                assigned[expert].append((r, weight))
            }
        }
        return assigned
    }
}

extension ExpertWeights {
    /// `out[r] = Σ_k w_rk · down_k(silu(gate_k · x_r) * (up_k · x_r))` for `n` rows of `x` (`[n x embd]`).
    ///
    /// Rows are grouped by expert: each expert runs one batched matmul over the rows that chose it, so a
    /// prompt reads each expert's weights once, not once per token. A row's arithmetic does not depend on
    /// which other rows share its expert (batch-invariant kernels), and its experts' contributions are
    /// added in expert order, so results are the same in any batch.
    func apply(_ x: UnsafePointer<Float>, rows n: Int, embd e: Int, into out: UnsafeMutablePointer<Float>,
               scratch s: ExpertScratch, pool: ThreadPool, mode: MatmulMode) {
        let experts = gate.count, ff = gate[0].rows
        Linear.matmul(router, x, batch: n, s.router, pool: pool, mode: mode)
        let assigned = ExpertRouting.groups(s.router, rows: n, experts: experts, used: used)
        out.update(repeating: 0, count: n * e)
        for expert in 0 ..< experts where !assigned[expert].isEmpty {
            let rows = assigned[expert], m = rows.count
            for (i, row) in rows.enumerated() { (s.input + i * e).update(from: x + row.row * e, count: e) }
            Linear.matmul(gate[expert], s.input, batch: m, s.gate, pool: pool, mode: mode)
            Linear.matmul(up[expert], s.input, batch: m, s.up, pool: pool, mode: mode)
            Ops.siluMul(s.gate, s.up, count: m * ff)
            Linear.matmul(down[expert], s.gate, batch: m, s.output, pool: pool, mode: mode)
            for (i, row) in rows.enumerated() { Ops.axpy(out + row.row * e, row.weight, s.output + i * e, count: e) }
        }
    }
}

/// Buffers of the expert FFN for a chunk of up to `batch` rows (part of the model's ``Scratch``).
final class ExpertScratch {
    let router: UnsafeMutablePointer<Float>  // [batch x experts]
    let input: UnsafeMutablePointer<Float>   // [batch x embd]: the rows routed to one expert
    let gate: UnsafeMutablePointer<Float>    // [batch x ffExp]
    let up: UnsafeMutablePointer<Float>      // [batch x ffExp]
    let output: UnsafeMutablePointer<Float>  // [batch x embd]
    private let owned: [UnsafeMutablePointer<Float>]

    init(_ x: ExpertConfig, embd: Int, batch: Int) {
        func make(_ n: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max(1, n))
            p.initialize(repeating: 0, count: max(1, n))
            return p
        }
        router = make(batch * x.count)
        input = make(batch * embd)
        gate = make(batch * x.feedForwardLength)
        up = make(batch * x.feedForwardLength)
        output = make(batch * embd)
        owned = [router, input, gate, up, output]
    }

    deinit { for p in owned { p.deallocate() } }
}
