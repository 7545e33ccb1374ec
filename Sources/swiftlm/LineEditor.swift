import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A small line editor for the interactive chat, over the terminal in raw mode (termios): cursor
/// movement, history and the usual Emacs keys, as in Ollama's prompt and readline.
///
/// Keys: ←/→ (Ctrl-B/F) move, Ctrl-←/→ (Alt-B/F) move by word, Home/End (Ctrl-A/E), ↑/↓ (Ctrl-P/N)
/// history, Backspace / Delete, Ctrl-K kill to the end, Ctrl-U kill to the start, Ctrl-W kill the
/// previous word, Alt-D kill the next word, Ctrl-Y yank the last kill, Ctrl-L clear the screen,
/// Ctrl-C abandon the line, Ctrl-D delete (end of input on an empty line).
///
/// The terminal is raw only while a line is being read, so Ctrl-C during a reply is still a SIGINT
/// (which stops the reply). A line longer than the terminal wraps, and is redrawn across its rows. A
/// paste keeps its newlines (bracketed paste mode), so pasted code is one message.
final class LineEditor {
    enum Result: Equatable {
        case line(String)
        /// Ctrl-C; `discarded` is whether the line had text.
        case interrupted(discarded: Bool)
        case endOfInput
    }

    let history: LineHistory
    private let input: Int32
    private let output: Int32

    // The line being edited.
    private var text: [Character] = []
    private var cursor = 0
    private var prompt = ""
    private var placeholder: String?
    /// The terminal row of the cursor, counted from the prompt's first row, as last drawn.
    private var cursorRow = 0
    private var killBuffer: [Character] = []
    /// Position in `history.entries` while browsing it; `entries.count` is the new line.
    private var historyIndex = 0
    private var pendingLine: [Character] = []
    /// Inside a bracketed paste, where Enter is a newline in the text, not the end of the message.
    private var pasting = false
    private var previousByte: UInt8 = 0

    /// Whether the editor can run here: stdin and stdout are terminals that understand cursor movement.
    static var isSupported: Bool {
        guard isatty(STDIN_FILENO) != 0, isatty(STDOUT_FILENO) != 0 else { return false }
        let term = ProcessInfo.processInfo.environment["TERM"] ?? ""
        return term != "dumb"
    }

    init(history: LineHistory, input: Int32 = STDIN_FILENO, output: Int32 = STDOUT_FILENO) {
        self.history = history
        self.input = input
        self.output = output
    }

    /// Reads one line. `placeholder` is shown dimmed while the line is empty.
    func readLine(prompt: String, placeholder: String? = nil) -> Result {
        guard let saved = enterRawMode() else { return fallbackRead(prompt: prompt) }
        // Bracketed paste: the terminal marks pasted text, so a pasted newline stays in the message.
        write("\u{1B}[?2004h")
        defer {
            write("\u{1B}[?2004l")
            withUnsafePointer(to: saved) { _ = tcsetattr(input, TCSADRAIN, $0) }
        }
        self.prompt = prompt
        self.placeholder = placeholder
        text = []
        cursor = 0
        cursorRow = 0
        historyIndex = history.entries.count
        pendingLine = []
        pasting = false
        refresh()
        while true {
            guard let key = readKey() else {
                finishLine()
                return .endOfInput
            }
            if let result = handle(key) { return result }
        }
    }

    // MARK: keys

    private enum Key {
        case insert([Character])
        case enter, backspace, delete, left, right, wordLeft, wordRight, home, end, up, down
        case killToEnd, killToStart, killWordBack, killWordForward, yank, clearScreen, interrupt, endOfFile
        case pasteStart, pasteEnd
        case ignored
    }

    /// Returns the result when the key ends the line.
    private func handle(_ key: Key) -> Result? {
        switch key {
        case let .insert(characters):
            text.insert(contentsOf: characters, at: cursor)
            cursor += characters.count
        case .enter:
            let line = String(text)
            finishLine()
            history.add(line)
            return .line(line)
        case .interrupt:
            let discarded = !text.isEmpty
            cursor = text.count
            refresh(final: true)
            write("^C\r\n")
            return .interrupted(discarded: discarded)
        case .endOfFile:
            if text.isEmpty {
                finishLine()
                return .endOfInput
            }
            if cursor < text.count { text.remove(at: cursor) }
        case .backspace:
            if cursor > 0 {
                cursor -= 1
                text.remove(at: cursor)
            }
        case .delete:
            if cursor < text.count { text.remove(at: cursor) }
        case .left: cursor = max(0, cursor - 1)
        case .right: cursor = min(text.count, cursor + 1)
        case .wordLeft: cursor = previousWordStart()
        case .wordRight: cursor = nextWordEnd()
        case .home: cursor = 0
        case .end: cursor = text.count
        case .killToEnd:
            killBuffer = Array(text[cursor...])
            text.removeSubrange(cursor...)
        case .killToStart:
            killBuffer = Array(text[..<cursor])
            text.removeSubrange(..<cursor)
            cursor = 0
        case .killWordBack:
            let start = previousWordStart()
            killBuffer = Array(text[start..<cursor])
            text.removeSubrange(start..<cursor)
            cursor = start
        case .killWordForward:
            let end = nextWordEnd()
            killBuffer = Array(text[cursor..<end])
            text.removeSubrange(cursor..<end)
        case .yank:
            text.insert(contentsOf: killBuffer, at: cursor)
            cursor += killBuffer.count
        case .up: browseHistory(by: -1)
        case .down: browseHistory(by: 1)
        case .clearScreen:
            write("\u{1B}[H\u{1B}[2J")
            cursorRow = 0
        case .pasteStart:
            pasting = true
            return nil
        case .pasteEnd:
            pasting = false
        case .ignored:
            return nil
        }
        refresh()
        return nil
    }

    private func browseHistory(by step: Int) {
        let entries = history.entries
        let target = historyIndex + step
        guard target >= 0, target <= entries.count else { return }
        if historyIndex == entries.count { pendingLine = text }
        historyIndex = target
        text = target == entries.count ? pendingLine : Array(entries[target])
        cursor = text.count
    }

    /// Where Ctrl-W and Alt-B stop: back over spaces, then over the word before them (readline's
    /// unix-word-rubout).
    private func previousWordStart() -> Int {
        var i = cursor
        while i > 0, text[i - 1].isWhitespace { i -= 1 }
        while i > 0, !text[i - 1].isWhitespace { i -= 1 }
        return i
    }

    private func nextWordEnd() -> Int {
        var i = cursor
        while i < text.count, text[i].isWhitespace { i += 1 }
        while i < text.count, !text[i].isWhitespace { i += 1 }
        return i
    }

    // MARK: input decoding

    private func readByte(timeoutMilliseconds: Int32 = -1) -> UInt8? {
        if timeoutMilliseconds >= 0 {
            var descriptor = pollfd(fd: input, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, timeoutMilliseconds) > 0 else { return nil }
        }
        var byte: UInt8 = 0
        while true {
            let n = read(input, &byte, 1)
            if n == 1 { return byte }
            if n < 0, errno == EINTR { continue }
            return nil
        }
    }

    /// One key from the terminal; nil at end of input.
    private func readKey() -> Key? {
        guard let byte = readByte() else { return nil }
        defer { previousByte = byte }
        switch byte {
        case 0x01: return .home
        case 0x02: return .left
        case 0x03: return .interrupt
        case 0x04: return .endOfFile
        case 0x05: return .end
        case 0x06: return .right
        case 0x08, 0x7F: return .backspace
        // A tab would move the terminal's cursor to a tab stop the redraw cannot follow.
        case 0x09: return .insert(Array("    "))
        case 0x0D: return pasting ? .insert(["\n"]) : .enter
        // In a paste, the LF of a CRLF pair is the same newline again.
        case 0x0A: return pasting ? (previousByte == 0x0D ? .ignored : .insert(["\n"])) : .enter
        case 0x0B: return .killToEnd
        case 0x0C: return .clearScreen
        case 0x0E: return .down
        case 0x10: return .up
        case 0x15: return .killToStart
        case 0x17: return .killWordBack
        case 0x19: return .yank
        case 0x1B: return readEscapeSequence()
        case 0x00..<0x20: return .ignored
        default: return readCharacter(startingWith: byte)
        }
    }

    /// The rest of a UTF-8 sequence. Invalid bytes become U+FFFD rather than corrupting the line.
    private func readCharacter(startingWith lead: UInt8) -> Key {
        var bytes = [lead]
        let length = lead < 0x80 ? 1 : lead >> 5 == 0b110 ? 2 : lead >> 4 == 0b1110 ? 3 : lead >> 3 == 0b11110 ? 4 : 1
        while bytes.count < length, let next = readByte(timeoutMilliseconds: 100) {
            bytes.append(next)
        }
        return .insert(Array(String(decoding: bytes, as: UTF8.self)))
    }

    /// ESC [ ... and ESC O ... sequences (xterm, VT100 and rxvt spellings), and Alt+key.
    private func readEscapeSequence() -> Key {
        // A lone Escape key sends nothing after it.
        guard let next = readByte(timeoutMilliseconds: 50) else { return .ignored }
        switch next {
        case UInt8(ascii: "["):
            var parameters = ""
            while let b = readByte(timeoutMilliseconds: 50) {
                if (0x40...0x7E).contains(b) {
                    return csiKey(parameters: parameters, final: Character(Unicode.Scalar(b)))
                }
                parameters.append(Character(Unicode.Scalar(b)))
            }
            return .ignored
        case UInt8(ascii: "O"):
            guard let b = readByte(timeoutMilliseconds: 50) else { return .ignored }
            return csiKey(parameters: "", final: Character(Unicode.Scalar(b)))
        case UInt8(ascii: "b"): return .wordLeft
        case UInt8(ascii: "f"): return .wordRight
        case UInt8(ascii: "d"): return .killWordForward
        case 0x7F, 0x08: return .killWordBack
        default: return .ignored
        }
    }

    private func csiKey(parameters: String, final: Character) -> Key {
        // "1;5C" is Ctrl-→, "1;3C" Alt-→.
        let modified = parameters.hasSuffix(";5") || parameters.hasSuffix(";3")
        switch final {
        case "A": return .up
        case "B": return .down
        case "C": return modified ? .wordRight : .right
        case "D": return modified ? .wordLeft : .left
        case "H": return .home
        case "F": return .end
        case "~":
            switch parameters {
            case "1", "7": return .home
            case "4", "8": return .end
            case "3": return .delete
            case "200": return .pasteStart
            case "201": return .pasteEnd
            default: return .ignored
            }
        default: return .ignored
        }
    }

    // MARK: drawing

    /// Redraws the prompt and the line, which may wrap over several rows (and hold pasted newlines), and
    /// puts the cursor in place. With `final`, the placeholder is not drawn and the cursor is left at the
    /// end of the text.
    private func refresh(final: Bool = false) {
        let columns = terminalColumns()
        var out = cursorRow > 0 ? "\u{1B}[\(cursorRow)A" : ""
        out += "\r\u{1B}[J" + prompt
        let promptWidth = ScreenLayout.width(prompt)
        if text.isEmpty, !final, let placeholder, promptWidth + 1 < columns {
            let room = columns - promptWidth - 1
            out += dim(String(placeholder.prefix(room))) + "\r"
            cursorRow = 0
            if promptWidth > 0 { out += "\u{1B}[\(promptWidth)C" }
            write(out)
            return
        }
        out += String(text).replacingOccurrences(of: "\n", with: "\r\n")
        let layout = ScreenLayout(columns: columns, prompt: prompt)
        let end = layout.place(text[...])
        // A text that ends exactly at the right margin leaves the terminal's cursor there, waiting to wrap;
        // move it to the next row so the position arithmetic holds.
        if end.pendingWrap { out += "\r\n" }
        let atEnd = final || cursor == text.count
        let (row, column) = atEnd
            ? end.cursor(before: nil, columns: columns)
            : layout.place(text[..<cursor]).cursor(before: text[cursor], columns: columns)
        // The terminal's cursor is at the end of the text now; move it only when it belongs elsewhere.
        let endRow = end.cursor(before: nil, columns: columns).row
        if !atEnd {
            if endRow > row { out += "\u{1B}[\(endRow - row)A" }
            out += "\r"
            if column > 0 { out += "\u{1B}[\(column)C" }
        }
        cursorRow = row
        write(out)
    }

    /// Ends the line on screen: the whole text shown without placeholder, the cursor on the next row.
    private func finishLine() {
        cursor = text.count
        refresh(final: true)
        write("\r\n")
    }

    private func dim(_ s: String) -> String {
        ProcessInfo.processInfo.environment["NO_COLOR"].map { !$0.isEmpty } == true ? "" : "\u{1B}[2m\(s)\u{1B}[22m"
    }

    private func terminalColumns() -> Int {
        var size = winsize()
        if ioctl(output, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        return 80
    }

    private func write(_ s: String) {
        var bytes = Array(s.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { systemWrite(output, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { return }
            bytes = bytes.dropFirst(n)
        }
    }

    // MARK: terminal mode

    /// Switches the terminal to raw input (no echo, no line buffering, no signals from Ctrl-C / Ctrl-Z,
    /// no CR→NL translation) and returns the settings to restore. Output processing stays on, so "\n"
    /// still starts a new row. Typeahead is kept.
    private func enterRawMode() -> termios? {
        var original = termios()
        guard tcgetattr(input, &original) == 0 else { return nil }
        var raw = original
        raw.c_iflag &= ~tcflag_t(BRKINT | ICRNL | INPCK | ISTRIP | IXON)
        raw.c_cflag |= tcflag_t(CS8)
        raw.c_lflag &= ~tcflag_t(ECHO | ICANON | IEXTEN | ISIG)
        withUnsafeMutableBytes(of: &raw.c_cc) { cc in
            cc[Int(VMIN)] = 1
            cc[Int(VTIME)] = 0
        }
        guard tcsetattr(input, TCSADRAIN, &raw) == 0 else { return nil }
        return original
    }

    /// When the terminal refuses raw mode: the prompt and a plain line.
    private func fallbackRead(prompt: String) -> Result {
        write(prompt)
        guard let line = Swift.readLine() else { return .endOfInput }
        history.add(line)
        return .line(line)
    }
}

private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int {
    write(fd, buffer, count)
}
