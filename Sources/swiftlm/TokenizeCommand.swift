import ArgumentParser
import Foundation
import SwiftLM

struct TokenizeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Show the token ids a model's tokenizer gives for some text.",
        discussion: """
        Prints one `id<TAB>piece` line per token (in the piece, newline, tab, carriage return and \
        backslash are shown as \\n \\t \\r \\\\, and bytes that are not valid UTF-8 on their own as \\xNN), \
        or with --json a single JSON array of ids. Nothing is added unless --bos is given, and \
        special-token text such as <|im_start|> is plain text unless --special is given. Only the \
        tokenizer metadata is read, so vocab-only GGUF files work.
        """
    )

    @Argument(help: "A model name (e.g. qwen2.5-coder:0.5b) or a path to a .gguf file.")
    var model: String

    @Argument(help: "The text to tokenize (or use --file).")
    var text: String?

    @Option(name: .long, help: "Tokenize this file's exact bytes instead of TEXT.")
    var file: String?

    @Flag(help: "Print one JSON array of ids.")
    var json = false

    @Flag(help: "Add BOS / EOS as the model's metadata asks (llama.cpp's add_special).")
    var bos = false

    @Flag(help: "Recognise special tokens (<|im_start|>, <start_of_turn> ...) written in the text.")
    var special = false

    @Flag(help: "Report on stderr how long tokenizing took (model loading excluded).")
    var time = false

    func validate() throws {
        if (text == nil) == (file == nil) { throw ValidationError("give either TEXT or --file PATH (exactly one)") }
    }

    func run() async throws {
        let path = try ModelStore().resolve(model)
        let tokenizer = try Tokenizer(gguf: GGUFFile(path: path))
        for w in tokenizer.warnings { writeStandardError("warning: \(w)\n") }
        let input: [UInt8]
        if let file {
            input = [UInt8](try readFile(file, what: "file"))
        } else {
            input = Array((text ?? "").utf8)
        }
        let clock = ContinuousClock()
        let start = clock.now
        let ids = tokenizer.encode(bytes: input, addSpecial: bos, parseSpecial: special)
        let elapsed = clock.now - start
        if time {
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            writeStandardError(String(format: "tokenized %d bytes into %d tokens in %.3f ms (%.2f MB/s)\n",
                                      input.count, ids.count, seconds * 1000, Double(input.count) / seconds / 1e6))
        }
        var out = ""
        if json {
            out = "[" + ids.map(String.init).joined(separator: ",") + "]\n"
        } else {
            for id in ids { out += "\(id)\t\(Self.display(tokenizer.pieceBytes(id, renderSpecial: true)))\n" }
        }
        FileHandle.standardOutput.write(Data(out.utf8))
    }

    /// One line per token: escapes line breaks, tabs and backslashes; shows stray bytes as \xNN.
    static func display(_ bytes: [UInt8]) -> String {
        var s = ""
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            let len = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC2 ? 2 : 0
            if len > 1, i + len <= bytes.count, let ch = String(validating: bytes[i ..< i + len], as: UTF8.self) {
                s += ch
                i += len
                continue
            }
            switch b {
            case 0x0A: s += "\\n"
            case 0x09: s += "\\t"
            case 0x0D: s += "\\r"
            case 0x5C: s += "\\\\"
            case 0x20 ..< 0x7F: s.unicodeScalars.append(Unicode.Scalar(b))
            default: s += "\\x" + String(b, radix: 16, uppercase: true).leftPad2
            }
            i += 1
        }
        return s
    }
}

private extension String {
    var leftPad2: String { count >= 2 ? self : "0" + self }
}
