/// Holds back streamed text that might be the start of a stop sequence, so a stop string is never
/// half-emitted before it is recognized.
struct StopSequenceFilter {
    let stops: [String]
    private var pending = ""

    init(_ stops: [String]) { self.stops = stops.filter { !$0.isEmpty } }

    /// Adds `piece`; returns the text safe to emit, and whether a stop sequence was found
    /// (in which case the text from it on is dropped).
    mutating func feed(_ piece: String) -> (text: String, stopped: Bool) {
        if stops.isEmpty { return (piece, false) }
        pending += piece
        var earliest: String.Index?
        for s in stops {
            if let r = pending.firstRange(of: s), earliest.map({ r.lowerBound < $0 }) ?? true { earliest = r.lowerBound }
        }
        if let cut = earliest {
            let out = String(pending[..<cut])
            pending = ""
            return (out, true)
        }
        let keep = heldBackCount()
        let emitEnd = pending.index(pending.endIndex, offsetBy: -keep)
        let out = String(pending[..<emitEnd])
        pending = String(pending[emitEnd...])
        return (out, false)
    }

    /// Whatever is still held back, once generation ended without a stop.
    mutating func flush() -> String {
        defer { pending = "" }
        return pending
    }

    /// Length (in characters) of the longest suffix of `pending` that is a proper prefix of some stop.
    private func heldBackCount() -> Int {
        var best = 0
        let chars = Array(pending)
        for s in stops {
            let sc = Array(s)
            var n = min(sc.count - 1, chars.count)
            while n > best {
                if Array(chars[(chars.count - n)...]) == Array(sc[..<n]) { best = n; break }
                n -= 1
            }
        }
        return best
    }
}
