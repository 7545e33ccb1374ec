import Foundation
import Testing
import TestSupport

/// The interactive chat driven through a pseudo-terminal, as a person types it: the line editor's keys,
/// history across runs, Ctrl-C during a reply, and a conversation that outgrows its context.
@Suite(.serialized) struct ChatTerminalTests {
    static let model = "smollm2:135m"
    static let placeholder = "Send a message (/? for help)"
    static let left = "\u{1B}[D", up = "\u{1B}[A", down = "\u{1B}[B", home = "\u{1B}[H"

    /// A fresh HOME, so the history file is the test's own.
    func temporaryHome() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlm-home-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    func chat(_ model: String, home: String, _ extra: [String] = [], columns: UInt16 = 80) throws -> PseudoTerminalSession {
        try PseudoTerminalSession(["run", model, "--temperature", "0"] + extra, env: ["HOME": home, "NO_COLOR": ""],
                                  columns: columns)
    }

    /// Runs `body` on a chat with smollm2 in a pseudo-terminal, with a fresh HOME removed afterwards.
    /// Returns at once when the model is missing outside CI.
    func withChat(_ extra: [String] = [], columns: UInt16 = 80, _ body: (PseudoTerminalSession) throws -> Void) throws {
        guard let path = try RealModels.pathOrSkip(Self.model) else { return }
        let home = try temporaryHome()
        defer { try? FileManager.default.removeItem(atPath: home) }
        try body(try chat(path, home: home, extra, columns: columns))
    }

    /// Ends the chat with /bye and expects a clean exit.
    func bye(_ chat: PseudoTerminalSession) throws {
        chat.send("/bye\r")
        #expect(try chat.waitForExit() == 0)
    }

    /// Enters the `/set system …` line being edited, and checks that /show prints `system` as the system prompt.
    func enterAndExpectSystem(_ chat: PseudoTerminalSession, _ system: String) throws {
        chat.send("\r")
        try chat.waitFor("Set system message.")
        chat.send("/show\r")
        try chat.waitFor("system " + system)
    }

    /// Waits for the first prompt of a chat on a `columns`-wide terminal; returns the screen row it is on
    /// and a function that reads the screen once the editor has drawn.
    func firstPrompt(_ chat: PseudoTerminalSession, columns: Int) throws -> (top: Int, screen: () -> TerminalScreen) {
        try chat.waitFor("Send a message")
        chat.settle()
        let top = TerminalScreen(columns: columns, output: chat.output).cursor.row
        return (top, {
            chat.settle()
            return TerminalScreen(columns: columns, output: chat.output)
        })
    }

    /// `text` cut into screen rows of `columns`, as ``TerminalScreen/lines`` shows them (no trailing blanks).
    func rows(_ text: String, columns: Int) -> [String] {
        stride(from: 0, to: text.count, by: columns).map {
            String(String(Array(text)[$0..<min($0 + columns, text.count)]).reversed().drop { $0 == " " }.reversed())
        }
    }

    /// A line longer than the terminal wraps over rows and every edit redraws it in place, with the cursor
    /// where the next key goes, checked on an emulated 20-column screen.
    @Test func longLinesWrapAndRedrawInPlace() throws {
        try withChat(columns: 20) { chat in
            let (top, screen) = try firstPrompt(chat, columns: 20)
            /// The rows from the prompt on, without the empty rows below the text.
            func shown(_ s: TerminalScreen) -> [String] {
                Array(Array(s.lines[top...]).reversed().drop { $0.isEmpty }.reversed())
            }

            /// Where the cursor is after `p` columns of prompt and text.
            func at(_ p: Int) -> (Int, Int) { (top + p / 20, p % 20) }

            var text = "/set system abcdefghij klmnopqrst uvwxyz 0123456789"
            chat.send(text)
            var s = screen()
            #expect(shown(s) == rows(">>> " + text, columns: 20))
            #expect(s.cursor == at(4 + text.count))
            // Twenty ← go up one row, to the same column.
            chat.send(String(repeating: Self.left, count: 20))
            s = screen()
            #expect(s.cursor == at(4 + text.count - 20))
            #expect(shown(s) == rows(">>> " + text, columns: 20))
            // Typing in the middle reflows the rows below.
            chat.send("XY")
            text.insert(contentsOf: "XY", at: text.index(text.startIndex, offsetBy: text.count - 20))
            s = screen()
            #expect(shown(s) == rows(">>> " + text, columns: 20))
            #expect(s.cursor == at(4 + text.count - 20))
            chat.send("\u{01}")
            #expect(screen().cursor == at(4))
            // Text that ends exactly at the margin puts the cursor at the start of the next row.
            let fill = String(repeating: "!", count: 60 - 4 - text.count)
            chat.send("\u{05}" + fill)
            text += fill
            s = screen()
            #expect(shown(s).prefix(3) == rows(">>> " + text, columns: 20)[...])
            #expect(s.cursor == at(60))
            // Deleting back across the row boundary.
            chat.send("\u{7F}\u{7F}")
            text.removeLast(2)
            s = screen()
            #expect(shown(s) == rows(">>> " + text, columns: 20))
            #expect(s.cursor == at(58))
            try enterAndExpectSystem(chat, String(text.dropFirst("/set system ".count)))
            try bye(chat)
        }
    }

    /// Wide characters take two columns, and one that does not fit at the end of a row starts the next,
    /// as the terminal draws it.
    @Test func wideCharactersWrapWhole() throws {
        try withChat(columns: 20) { chat in
            let (top, screen) = try firstPrompt(chat, columns: 20)
            // ">>> /set system x" takes 17 columns, 你 the next two; 好 does not fit in the last one.
            chat.send("/set system x你好世界")
            var s = screen()
            #expect(Array(s.lines[top...].prefix(2)) == [">>> /set system x你", "好世界"])
            #expect(s.cursor == (top + 1, 6))
            chat.send(String(repeating: Self.left, count: 3))
            s = screen()
            #expect(s.cursor == (top + 1, 0), "on 好, at the start of the second row")
            chat.send(Self.left)
            #expect(screen().cursor == (top, 17))
            chat.send("\u{05}")
            try enterAndExpectSystem(chat, "x你好世界")
            try bye(chat)
        }
    }

    /// A paste keeps its newlines in one message (bracketed paste), instead of sending each line.
    @Test func pastedNewlinesStayInTheMessage() throws {
        try withChat { chat in
            try chat.waitFor("\u{1B}[?2004h")
            chat.send("\u{1B}[200~/set system first line\rsecond line\u{1B}[201~")
            chat.settle()
            let screen = TerminalScreen(columns: 80, output: chat.output)
            #expect(screen.lines.suffix(2) == [">>> /set system first line", "second line"])
            try enterAndExpectSystem(chat, "first line\r\nsecond line")
            try bye(chat)
        }
    }

    @Test func lineEditingKeys() throws {
        try withChat { chat in
            try chat.waitFor(">>> \u{1B}[2m\(Self.placeholder)\u{1B}[22m")
            // Each line is typed with editing keys, then entered; the command it became answers.
            let edits: [(keys: String, answer: String)] = [
                // ← six times lands between "temperat" and "re": a typo fixed in the middle of the line.
                ("/set temperatre 0.5" + String(repeating: Self.left, count: 6) + "u", "'temperature' to '0.5'"),
                // Ctrl-A then Ctrl-K kills the whole line.
                ("garbage\u{01}\u{0B}/set seed 7", "'seed' to '7'"),
                // Ctrl-W deletes the previous word.
                ("/set top_k 40 junk\u{17}", "'top_k' to '40'"),
                // Ctrl-U deletes to the start of the line.
                ("nonsense\u{15}/set top_p 0.8", "'top_p' to '0.8'"),
                // Home, then Ctrl-E (end) and Ctrl-B / Ctrl-F.
                ("set min_p 0.1" + Self.home + "/\u{05}5\u{02}\u{02}\u{06}\u{06}", "'min_p' to '0.15'"),
                // Backspace and Delete.
                ("/set seed 123\u{7F}\u{7F}" + Self.left + "\u{1B}[3~9", "'seed' to '9'"),
            ]
            // Each line typed once the prompt is back (its placeholder drawn, the terminal in raw mode), as a
            // person would: keys typed ahead while the command runs reach the terminal in cooked mode, where a
            // Ctrl-C is the line discipline's SIGINT, which flushes the typed-ahead text (CI lost "/set seed 5^C"
            // that way once).
            for (keys, answer) in edits {
                chat.send(keys + "\r")
                try chat.waitFor("Set parameter " + answer)
                try chat.waitFor(Self.placeholder)
            }
            // Ctrl-C on a line with text abandons it; on an empty line it says how to leave.
            chat.send("/set seed 5\u{03}")
            try chat.waitFor("^C")
            chat.send("\u{03}")
            try chat.waitFor("Use Ctrl + d or /bye to exit.")
            // Ctrl-D on an empty line ends the chat. Typed once the prompt is back, as a person would: typed
            // ahead while the terminal is still in cooked mode, the line discipline reads it as end-of-file
            // and hands the editor a NUL byte instead.
            try chat.waitFor(Self.placeholder)
            chat.send("\u{04}")
            #expect(try chat.waitForExit() == 0)
            #expect(!chat.output.contains("\u{1B}[D"), "arrow keys are not echoed into the line")
            #expect(!chat.output.contains("Set parameter 'seed' to '5'"))
        }
    }

    @Test func historyPersistsAcrossRuns() throws {
        guard let path = try RealModels.pathOrSkip(Self.model) else { return }
        let home = try temporaryHome()
        defer { try? FileManager.default.removeItem(atPath: home) }
        do {
            let first = try chat(path, home: home)
            try first.waitFor(Self.placeholder)
            first.send("/set seed 42\r")
            try first.waitFor("'42'")
            first.send("/set seed 43\r")
            try first.waitFor("'43'")
            try bye(first)
        }
        let file = home + "/.swiftlm/history"
        #expect(try String(contentsOfFile: file, encoding: .utf8) == "/set seed 42\n/set seed 43\n/bye\n")
        let permissions = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int
        #expect(permissions == 0o600, "the history is private")

        let second = try chat(path, home: home)
        try second.waitFor(Self.placeholder)
        // ↑↑↑ reaches "/set seed 42", ↓ comes back to "/set seed 43".
        second.send(Self.up + Self.up + Self.up + Self.down + "\r")
        try second.waitFor("Set parameter 'seed' to '43'")
        // Past the newest entry, ↓ gives back the line being typed; Ctrl-P / Ctrl-N browse too.
        second.send("/set seed 9" + Self.up + Self.down + "\r")
        try second.waitFor("Set parameter 'seed' to '9'")
        second.send("\u{10}\u{10}\u{0E}\r")
        try second.waitFor("Set parameter 'seed' to '9'")
        try bye(second)
        let lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n")
        #expect(lines.suffix(3) == ["/set seed 43", "/set seed 9", "/bye"])
    }

    @Test func ctrlCStopsTheReplyAndReturnsToThePrompt() throws {
        try withChat(["--verbose"]) { chat in
            try chat.waitFor(Self.placeholder)
            chat.send("Count from 1 to 500, one number per line.\r")
            // (The editor ends the line with "\r\n", which the terminal's output processing writes as "\r\r\n".)
            try chat.waitFor("one number per line.\r\r\n")
            // Some of the reply, then Ctrl-C: the terminal's line discipline turns it into a SIGINT.
            try chat.waitFor("\n")
            let interrupted = Date()
            chat.send("\u{03}")
            try chat.waitFor("done reason:          cancelled", timeout: 30)
            try chat.waitFor(Self.placeholder, timeout: 10)
            #expect(Date().timeIntervalSince(interrupted) < 20)
            // The chat goes on.
            chat.send("/set num_predict 3\r")
            try chat.waitFor("Set parameter 'num_predict' to '3'")
            chat.send("Hello\r")
            try chat.waitFor("(reply cut at num_predict = 3 tokens)")
            try chat.waitFor("done reason:          length")
            try bye(chat)
        }
    }

    /// The reproduction: at `--ctx 128` a long reply is cut by the context (and says so), and the
    /// next turn drops the oldest turns with one notice instead of failing.
    @Test func aFullContextIsShiftedInsteadOfADeadEnd() throws {
        try withChat(["--ctx", "128", "--system", "You are a storyteller."]) { chat in
            try chat.waitFor(Self.placeholder)
            chat.send("Write a long story about a dragon.\r")
            try chat.waitFor("\u{1B}[2m(reply cut: the context of 128 tokens is full)\u{1B}[22m", timeout: 120)
            try chat.waitFor(Self.placeholder)
            // A message that cannot fit even alone is refused with advice that fits, and the chat goes on.
            chat.send(String(repeating: "word ", count: 150) + "\r")
            try chat.waitFor("error: this message needs")
            try chat.waitFor("shorten it, or start again with a larger --ctx")
            try chat.waitFor(Self.placeholder)
            chat.send("Who are you?\r")
            try chat.waitFor("\u{1B}[2mcontext full (128 tokens): dropped the 2 oldest messages; kept the system prompt\u{1B}[22m")
            let reply = try chat.waitFor(Self.placeholder, timeout: 120).withoutTerminalControls
            #expect(!reply.contains("error"))
            #expect(reply.trimmingCharacters(in: .whitespacesAndNewlines).count > 3, "the model answered: \(reply)")
            try bye(chat)
        }
    }

    /// The "done when": twenty turns at `--ctx 256` without a dead end.
    @Test func twentyTurnsAtCtx256() throws {
        try withChat(["--ctx", "256", "--num-predict", "24"]) { chat in
            try chat.waitFor(Self.placeholder)
            var shifts = 0
            for turn in 1...20 {
                chat.send("Tell me one fact about the number \(turn).\r")
                let seen = try chat.waitFor(Self.placeholder, timeout: 120).withoutTerminalControls
                #expect(!seen.contains("error"), "turn \(turn): \(seen)")
                if seen.contains("context full (256 tokens): dropped") { shifts += 1 }
                // The reply: what follows the entered line, without the notices and the next prompt.
                let after = seen.components(separatedBy: "number \(turn).\n").last ?? ""
                let reply = after.split(separator: "\n").filter {
                    !$0.hasPrefix("context full") && !$0.hasPrefix("(reply cut") && !$0.hasPrefix(">>> ")
                }.joined(separator: "\n")
                #expect(reply.trimmingCharacters(in: .whitespacesAndNewlines).count > 3, "turn \(turn) has a reply: \(seen)")
            }
            #expect(shifts >= 2, "twenty turns do not fit in 256 tokens")
            try bye(chat)
        }
    }

    @Test func withoutATerminalInputStaysPlain() throws {
        guard let path = try RealModels.pathOrSkip(Self.model) else { return }
        // Empty piped input is no prompt, and without a terminal there is no chat: a usage error, plain.
        let r = try runSwiftLM(["run", path], stdin: "")
        #expect(r.status == 64, "stderr: \(r.stderr)")
        #expect(r.stderr.contains("standard input is empty"))
        #expect(!r.stdout.contains(">>>"))
        #expect(!r.stdout.contains("\u{1B}"))
        #expect(!r.stderr.contains("\u{1B}"))
    }
}
