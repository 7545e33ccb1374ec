/// Where text lands on a terminal that wraps at `columns`, counted from the prompt's first row: the
/// arithmetic behind ``LineEditor``'s redraw (xterm's deferred wrap, wide characters, pasted newlines).
struct ScreenLayout {
    struct Position {
        var row = 0
        var column = 0
        /// The last character filled the row's last column: the terminal holds the cursor there until the
        /// next character, which goes to the next row.
        var pendingWrap = false

        /// Where the cursor goes to sit before `next` (nil: at the end of the text): on `next` itself.
        func cursor(before next: Character?, columns: Int) -> (row: Int, column: Int) {
            if pendingWrap {
                // Before a newline that follows a full row, stay on that row's last column.
                return next == "\n" ? (row, columns - 1) : (row + 1, 0)
            }
            // A wide character that did not fit was drawn at the start of the next row.
            if let next, next != "\n", column + ScreenLayout.width(next) > columns { return (row + 1, 0) }
            return (row, column)
        }
    }

    let columns: Int
    let start: Position

    init(columns: Int, prompt: String) {
        self.columns = max(columns, 2)
        start = Self.advance(Position(), over: Array(prompt)[...], columns: self.columns)
    }

    func place(_ text: ArraySlice<Character>) -> Position {
        Self.advance(start, over: text, columns: columns)
    }

    private static func advance(_ from: Position, over text: ArraySlice<Character>, columns: Int) -> Position {
        var p = from
        for c in text {
            if c == "\n" {
                p = Position(row: p.row + 1, column: 0)
                continue
            }
            let w = width(c)
            // A wide character that does not fit at the end of a row moves whole to the next one.
            if p.pendingWrap || p.column + w > columns { p = Position(row: p.row + 1, column: 0) }
            p.column += w
            if p.column >= columns {
                p.column = columns - 1
                p.pendingWrap = true
            }
        }
        return p
    }

    /// Terminal columns a text takes: East Asian wide characters and most emoji take two.
    static func width<C: Collection>(_ characters: C) -> Int where C.Element == Character {
        characters.reduce(0) { $0 + width($1) }
    }

    static func width(_ s: String) -> Int { width(Array(s)[...]) }

    static func width(_ c: Character) -> Int {
        guard let v = c.unicodeScalars.first?.value else { return 0 }
        if v < 0x20 || (0x7F..<0xA0).contains(v) { return 0 }
        return wideRanges.contains { $0.contains(v) } ? 2 : 1
    }

    /// East Asian Wide / Fullwidth blocks and the emoji that terminals draw two columns wide.
    private static let wideRanges: [ClosedRange<UInt32>] = [
        0x1100...0x115F, 0x231A...0x231B, 0x2329...0x232A, 0x23E9...0x23EC, 0x25FD...0x25FE, 0x2614...0x2615,
        0x2648...0x2653, 0x26AA...0x26AB, 0x26BD...0x26BE, 0x26C4...0x26C5, 0x2705...0x2705, 0x270A...0x270B,
        0x2728...0x2728, 0x274C...0x274C, 0x2753...0x2755, 0x2757...0x2757, 0x2795...0x2797, 0x2B1B...0x2B1C,
        0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF, 0xA960...0xA97F,
        0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE10...0xFE19, 0xFE30...0xFE6F, 0xFF00...0xFF60, 0xFFE0...0xFFE6,
        0x1F300...0x1F64F, 0x1F680...0x1F6FF, 0x1F900...0x1F9FF, 0x1FA70...0x1FAFF, 0x20000...0x3FFFD,
    ]
}
