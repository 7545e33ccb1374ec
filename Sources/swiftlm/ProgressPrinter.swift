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
            let line = String(render(p).prefix(Self.terminalWidth() - 1))
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
        var line = "pulling \(p.name)"
        if p.partCount > 1 { line += "  part \(p.part)/\(p.partCount)" }
        switch p.phase {
        case .resuming: line += "  checking kept bytes"
        case .downloading: line += "  downloading"
        case .extracting: line += "  extracting"
        case .converting: line += "  converting \(p.partLabel)"
        case .verifying: return line + "  verifying sha256"
        case .done: return line + "  done"
        }
        line += " \(HumanFormat.bytes(p.partCompleted))"
        if let partTotal = p.partTotal, partTotal > 0 { line += "/\(HumanFormat.bytes(partTotal))" }
        let stepRate = Self.rate(stepSamples)
        if stepRate > 0 { line += " at \(HumanFormat.rate(stepRate))" }
        if let total = p.total, total > 0 {
            // The whole-model figure only differs from the step's when there are parts or phases.
            if p.completed != p.partCompleted || p.partTotal != total {
                line += "  | total \(HumanFormat.bytes(p.completed))/\(HumanFormat.bytes(total))"
            }
            line += " \(min(100, Int(Double(p.completed) * 100 / Double(total))))%"
            let overallRate = Self.rate(overallSamples)
            if overallRate > 0, total > p.completed {
                line += "  ETA \(HumanFormat.duration(Double(total - p.completed) / overallRate))"
            }
        }
        return line
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

    private static func terminalWidth() -> Int {
        var size = winsize()
        if ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 20 { return Int(size.ws_col) }
        return 100
    }
}
