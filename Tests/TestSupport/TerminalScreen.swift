/// A minimal terminal emulator for tests: what a screen `columns` wide shows after some output, with the
/// cursor. It knows what the chat's line editor writes (printable text with xterm's deferred auto-wrap,
/// CR, LF, cursor up / down / forward / back, erase to end of line or screen, home, clear) and ignores
/// other escape sequences (colours, modes). The screen has no bottom: it grows instead of scrolling, which
/// is equivalent while nothing moves the cursor above the top of a real 24-row screen.
public struct TerminalScreen {
    public let columns: Int
    public private(set) var rows: [[Character]] = [[]]
    public private(set) var cursor = (row: 0, column: 0)
    private var pendingWrap = false

    public init(columns: Int, output: String = "") {
        self.columns = columns
        feed(output)
    }

    /// The screen's rows as text, trailing blanks removed.
    public var lines: [String] {
        rows.map { String($0.filter { $0 != "\u{0}" }) }
            .map { String($0.reversed().drop { $0 == " " }.reversed()) }
    }

    public mutating func feed(_ text: String) {
        var scalars = Array(text.unicodeScalars)[...]
        while let s = scalars.popFirst() {
            switch s {
            case "\r":
                cursor.column = 0
                pendingWrap = false
            case "\n":
                moveTo(row: cursor.row + 1, column: cursor.column)
            case "\u{1B}":
                guard let next = scalars.popFirst(), next == "[" else { continue }
                var parameters = ""
                var final: Unicode.Scalar = "@"
                while let c = scalars.popFirst() {
                    if (0x40...0x7E).contains(c.value) { final = c; break }
                    parameters.unicodeScalars.append(c)
                }
                control(parameters, final)
            default:
                if s.value < 0x20 { continue }
                put(Character(s))
            }
        }
    }

    private mutating func control(_ parameters: String, _ final: Unicode.Scalar) {
        let n = Int(parameters) ?? 1
        switch final {
        case "A": moveTo(row: max(0, cursor.row - n), column: cursor.column)
        case "B": moveTo(row: cursor.row + n, column: cursor.column)
        case "C": moveTo(row: cursor.row, column: min(columns - 1, cursor.column + n))
        case "D": moveTo(row: cursor.row, column: max(0, cursor.column - n))
        case "H": moveTo(row: 0, column: 0)
        case "K": erase(row: cursor.row, from: cursor.column)
        case "J":
            if parameters == "2" {
                rows = rows.map { _ in [] }
            } else {
                erase(row: cursor.row, from: cursor.column)
                for r in (cursor.row + 1)..<rows.count { rows[r] = [] }
            }
        default: break
        }
    }

    private mutating func moveTo(row: Int, column: Int) {
        while rows.count <= row { rows.append([]) }
        cursor = (row, column)
        pendingWrap = false
    }

    private mutating func erase(row: Int, from column: Int) {
        if rows[row].count > column { rows[row].removeSubrange(column...) }
    }

    /// Writes a character where the cursor is, as xterm does: a wide one that does not fit in the row's
    /// last column goes to the next row, and a full row defers the wrap until the next character.
    private mutating func put(_ c: Character) {
        let w = Self.width(c)
        if pendingWrap || cursor.column + w > columns { moveTo(row: cursor.row + 1, column: 0) }
        while rows[cursor.row].count < cursor.column + w { rows[cursor.row].append(" ") }
        rows[cursor.row][cursor.column] = c
        // The second cell of a wide character.
        if w == 2 { rows[cursor.row][cursor.column + 1] = "\u{0}" }
        if cursor.column + w >= columns {
            cursor.column = columns - 1
            pendingWrap = true
        } else {
            cursor.column += w
        }
    }

    /// Two columns for CJK ideographs, kana and fullwidth forms (what the tests type); one otherwise.
    static func width(_ c: Character) -> Int {
        guard let v = c.unicodeScalars.first?.value else { return 0 }
        return (0x3000...0x30FF).contains(v) || (0x4E00...0x9FFF).contains(v) || (0xFF00...0xFF60).contains(v) ? 2 : 1
    }
}
