import Foundation

/// Human formatting shared by the commands that print sizes, rates and ages (Ollama's conventions:
/// decimal units, "491 MB", "1.9 GB", "3 minutes ago").
enum HumanFormat {
    static func bytes(_ count: Int64) -> String {
        let units = ["B", "KB", "MB", "GB", "TB"]
        var value = Double(count)
        var unit = 0
        while value >= 1000, unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        if unit == 0 { return "\(count) B" }
        return value >= 10 ? "\(Int(value)) \(units[unit])" : String(format: "%.1f %@", value, units[unit])
    }

    /// `12 MB/s`.
    static func rate(_ bytesPerSecond: Double) -> String {
        bytes(Int64(max(bytesPerSecond, 0))) + "/s"
    }

    /// `1:05`, `1:02:03`.
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0, seconds < 360_000 else { return "--:--" }
        let s = Int(seconds.rounded(.up))
        let (h, m, sec) = (s / 3600, (s / 60) % 60, s % 60)
        return h > 0 ? String(format: "%d:%02d:%02d", h, m, sec) : String(format: "%d:%02d", m, sec)
    }

    /// `Less than a second ago`, `3 minutes ago`, `About an hour ago`, `5 days ago`.
    static func age(of date: Date, now: Date = Date()) -> String {
        let seconds = max(0, now.timeIntervalSince(date))
        func plural(_ n: Int, _ unit: String) -> String { "\(n) \(unit)\(n == 1 ? "" : "s") ago" }
        switch seconds {
        case ..<1: return "Less than a second ago"
        case ..<60: return plural(Int(seconds), "second")
        case ..<120: return "About a minute ago"
        case ..<3600: return plural(Int(seconds / 60), "minute")
        case ..<7200: return "About an hour ago"
        case ..<(48 * 3600): return plural(Int(seconds / 3600), "hour")
        case ..<(14 * 86400): return plural(Int(seconds / 86400), "day")
        case ..<(60 * 86400): return plural(Int(seconds / (7 * 86400)), "week")
        case ..<(365 * 86400): return plural(Int(seconds / (30 * 86400)), "month")
        default: return plural(Int(seconds / (365 * 86400)), "year")
        }
    }
}
