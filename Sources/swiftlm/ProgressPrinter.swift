import Foundation
import Store

/// Shows ``PullProgress`` snapshots on stderr: on a terminal, one line redrawn in place (current
/// part, whole model, rate, ETA); otherwise plain lines at each step, so logs stay readable.
final class PullProgressPrinter {
    private let interactive: Bool
    private var lastDraw = 0.0
    private var lastPlainLine = 0.0
    private var lastStep = ""
    /// (time, bytes) over the last few seconds: the current step's own bytes give the rate shown,
    /// the overall figure gives the ETA (it spans steps, which the rate of one step does not).
    private var stepSamples: [(time: Double, bytes: Int64)] = []
    private var overallSamples: [(time: Double, bytes: Int64)] = []
    private var drawn = false

    init(interactive: Bool = isatty(STDERR_FILENO) != 0) {
        self.interactive = interactive
    }

    func update(_ p: PullProgress) {
        let now = Self.now()
        let step = "\(p.part)/\(p.phase.rawValue)"
        let stepChanged = step != lastStep
        lastStep = step
        if stepChanged { stepSamples.removeAll() }
        Self.record(&stepSamples, now, p.partCompleted)
        Self.record(&overallSamples, now, p.completed)
        if interactive {
            guard stepChanged || now - lastDraw >= 0.1 || p.phase == .done else { return }
            lastDraw = now
            let line = Self.fit(renderSegments(p), width: Terminal.stderrWidth - 1)
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
            drawn = true
        } else if let line = stepChanged ? plainStepLine(p) : (now - lastPlainLine >= 10 ? render(p) : nil) {
            lastPlainLine = now
            printLine(line)
        }
    }

    /// Ends the redrawn line so later output starts on a fresh one.
    func finish() {
        if interactive && drawn {
            FileHandle.standardError.write(Data("\n".utf8))
            drawn = false
        }
    }

    /// Plain (non-terminal) output announces each step once; the periodic lines carry the numbers.
    private func plainStepLine(_ p: PullProgress) -> String? {
        let total = p.total.map { " of \(HumanFormat.bytes($0))" } ?? ""
        switch p.phase {
        case .resuming: return "pulling \(p.name): checking bytes kept from an interrupted pull"
        case .downloading:
            let part = p.partCount > 1 ? "part \(p.part)/\(p.partCount) " : ""
            return "pulling \(p.name): \(part)\(p.partLabel) (\(HumanFormat.bytes(p.completed))\(total) done)"
        case .extracting, .done: return nil
        case .verifying: return "pulling \(p.name): verifying sha256"
        case .converting: return "pulling \(p.name): converting to GGUF"
        }
    }

    private func render(_ p: PullProgress) -> String {
        renderSegments(p).map(\.text).joined()
    }

    /// One piece of the status line; `priority` 0 is always kept, higher ones are dropped first
    /// when the terminal is too narrow.
    struct Segment {
        var text: String
        var priority: Int
    }

    private func renderSegments(_ p: PullProgress) -> [Segment] {
        var out = [Segment(text: "pulling \(p.name)", priority: 0)]
        if p.partCount > 1 { out.append(Segment(text: "  part \(p.part)/\(p.partCount)", priority: 3)) }
        switch p.phase {
        case .resuming: out.append(Segment(text: "  checking kept bytes", priority: 1))
        case .downloading: out.append(Segment(text: "  downloading", priority: 4))
        case .extracting: out.append(Segment(text: "  extracting", priority: 4))
        case .converting: out.append(Segment(text: "  converting \(p.partLabel)", priority: 4))
        case .verifying: return out + [Segment(text: "  verifying sha256", priority: 0)]
        case .done: return out + [Segment(text: "  done", priority: 0)]
        }
        var partFigure = " \(HumanFormat.bytes(p.partCompleted))"
        if let partTotal = p.partTotal, partTotal > 0 { partFigure += "/\(HumanFormat.bytes(partTotal))" }
        let stepRate = Self.rate(stepSamples)
        if stepRate > 0 { partFigure += " at \(HumanFormat.rate(stepRate))" }
        guard let total = p.total, total > 0 else { return out + [Segment(text: partFigure, priority: 1)] }
        // The whole-model figure only differs from the step's when there are parts or phases.
        let showTotal = p.completed != p.partCompleted || p.partTotal != total
        out.append(Segment(text: partFigure, priority: showTotal ? 5 : 1))
        if showTotal {
            out.append(Segment(text: "  total \(HumanFormat.bytes(p.completed))/\(HumanFormat.bytes(total))", priority: 2))
        }
        out.append(Segment(text: " \(min(100, Int(Double(p.completed) * 100 / Double(total))))%", priority: 0))
        let overallRate = Self.rate(overallSamples)
        if overallRate > 0, total > p.completed {
            out.append(Segment(text: "  ETA \(HumanFormat.duration(Double(total - p.completed) / overallRate))", priority: 2))
        }
        return out
    }

    /// Drops the least important segments until the line fits `width` columns (a wrapped status line
    /// cannot be redrawn in place), then cuts what is left.
    static func fit(_ segments: [Segment], width: Int) -> String {
        var kept = segments
        while kept.map(\.text.count).reduce(0, +) > width, let worst = kept.map(\.priority).max(), worst > 0 {
            kept.removeAll { $0.priority == worst }
        }
        return String(kept.map(\.text).joined().prefix(max(width, 1)))
    }

    private static func record(_ samples: inout [(time: Double, bytes: Int64)], _ now: Double, _ bytes: Int64) {
        samples.append((now, bytes))
        while let first = samples.first, now - first.time > 5, samples.count > 2 { samples.removeFirst() }
    }

    private static func rate(_ samples: [(time: Double, bytes: Int64)]) -> Double {
        guard let first = samples.first, let last = samples.last, last.time - first.time > 0.5 else { return 0 }
        return Double(last.bytes - first.bytes) / (last.time - first.time)
    }

    private func printLine(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    private static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

}
