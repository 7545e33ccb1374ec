import ArgumentParser
import Foundation
import SwiftLM

struct CreateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Convert a Hugging Face model folder (safetensors) into a GGUF model in the store.",
        discussion: """
        The folder holds config.json, model.safetensors (or shards with model.safetensors.index.json) in \
        F32, F16 or BF16, and tokenizer.json / tokenizer_config.json (tokenizer.model for SentencePiece \
        models). Architectures: \(HFConverter.supportedArchitectures.joined(separator: ", ")). The GGUF \
        has the metadata and tensor names llama.cpp's convert_hf_to_gguf.py writes. Without --quantize \
        weights are stored as F16, like llama.cpp's converter; norms and biases always stay F32.

        A Modelfile (--modelfile) gives FROM <folder> (relative to the Modelfile), and optionally \
        TEMPLATE (a Jinja chat template), SYSTEM and PARAMETER lines; 'swiftlm run' applies SYSTEM and the \
        sampling PARAMETERs under its own flags.
        """
    )

    @Argument(help: "Name to register the model under (model:tag; ':latest' when no tag).")
    var name: String

    @Option(help: "The Hugging Face model folder.")
    var from: String?

    @Option(help: "A Modelfile with FROM, TEMPLATE, SYSTEM and PARAMETER lines.")
    var modelfile: String?

    @Option(help: "Weight type: f16 (default), q8_0, q4_0 or q4_K; also f32 and bf16.")
    var quantize: String?

    func validate() throws {
        if (from == nil) == (modelfile == nil) { throw ValidationError("give exactly one of --from DIR and --modelfile FILE") }
        if let quantize, WeightType(name: quantize) == nil {
            throw ValidationError("--quantize must be one of \(WeightType.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    func run() throws {
        var options = ConversionOptions(outputType: quantize.flatMap { WeightType(name: $0) } ?? .f16)
        var directory = from ?? ""
        if let modelfile {
            let parsed = try Modelfile(path: modelfile)
            directory = parsed.from
            options.extraMetadata = parsed.metadata
            if let template = parsed.template {
                // Refuse a template SwiftLM could not render (an Ollama Go template, a typo) up front.
                do {
                    _ = try ChatTemplate(source: template)
                } catch {
                    throw CommandFailure("the Modelfile's TEMPLATE is not a Jinja chat template SwiftLM can render: \(error)")
                }
                options.chatTemplate = template
            }
        }
        let printer = ConversionProgressPrinter()
        let result: PullResult
        do {
            result = try ModelStore().create(name, from: directory, options: options) { printer.update($0) }
        } catch {
            printer.finish()
            throw error
        }
        printer.finish()
        let m = result.manifest
        print("created \(m.name) (\(HumanFormat.bytes(m.size)), \(m.architecture) \(m.quantization), sha256 \(m.sha256.prefix(12)))")
    }
}

/// One self-overwriting line on a terminal (tensor, bytes, percent), a line per 10% otherwise.
final class ConversionProgressPrinter {
    private let isTerminal = isatty(STDERR_FILENO) != 0
    private var lastDraw = 0.0
    private var lastDecile = -1
    private var drawn = false

    func update(_ p: ConversionProgress) {
        let fraction = p.total > 0 ? Double(p.completed) / Double(p.total) : 1
        let line = "converting \(p.tensorIndex + 1)/\(p.tensorCount) \(p.tensorName)  "
            + "\(HumanFormat.bytes(p.completed))/\(HumanFormat.bytes(p.total)) (\(Int(fraction * 100))%)"
        if isTerminal {
            let now = Date().timeIntervalSince1970
            guard now - lastDraw >= 0.1 || p.completed == p.total else { return }
            lastDraw = now
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
            drawn = true
        } else {
            let decile = Int(fraction * 10)
            guard decile != lastDecile else { return }
            lastDecile = decile
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }

    func finish() {
        if drawn { FileHandle.standardError.write(Data("\n".utf8)) }
        drawn = false
    }
}
