import ArgumentParser
import Foundation
import SwiftLM

struct TemplateCommand: AsyncParsableCommand, CommandErrorHints {
    static let configuration = CommandConfiguration(
        commandName: "template",
        abstract: "Render a chat template with a JSON context, exactly as transformers' apply_chat_template would.",
        discussion: """
        The context file is one JSON object of template variables: messages, tools, add_generation_prompt, \
        bos_token, eos_token and any others the template reads. With MODEL, the model's own chat template is used \
        and bos_token / eos_token default to the model's tokens. The rendered text is printed as is, with no \
        trailing newline. Set SWIFTLM_TEMPLATE_NOW to a Unix time to pin what strftime_now() returns (in UTC).
        """
    )

    @Argument(help: "A model name (e.g. qwen2.5-coder:0.5b) or a path to a .gguf file.")
    var model: String?

    @Option(name: .customLong("template"), help: "A Jinja2 chat template file to use instead of the model's.")
    var templateFile: String?

    @Option(help: "A named template variant stored in the model (tokenizer.chat_template.<NAME>), e.g. tool_use.")
    var variant: String?

    @Option(help: "JSON file with the template variables ('-' reads standard input).")
    var context: String

    func validate() throws {
        if model == nil, templateFile == nil { throw ValidationError("give a MODEL or --template FILE") }
        if variant != nil, model == nil { throw ValidationError("--variant needs a MODEL") }
    }

    func hint(for error: any Error) -> String? {
        if case TemplateError.missingTemplate = error { return "give a Jinja2 template file with --template FILE" }
        return nil
    }

    func run() async throws {
        var gguf: GGUFFile?
        if let model { gguf = try GGUFFile(path: try ModelStore().resolve(model)) }

        var template: ChatTemplate
        if let templateFile {
            template = try ChatTemplate(source: decodeText(readFile(templateFile, what: "template file"), from: templateFile))
        } else if let gguf {
            template = try ChatTemplate.fromModel(gguf, variant: variant)
        } else {
            throw ValidationError("give a MODEL or --template FILE")
        }
        if let pinned = ProcessInfo.processInfo.environment["SWIFTLM_TEMPLATE_NOW"] {
            guard let seconds = Double(pinned) else {
                throw CommandFailure("SWIFTLM_TEMPLATE_NOW='\(pinned)' is not a Unix time in seconds")
            }
            template.pinnedTime = seconds
        }

        let bytes = context == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try readFile(context, what: "context file")
        let source = context == "-" ? "standard input" : context
        let json: TemplateValue
        do {
            json = try TemplateValue(jsonData: Array(decodeText(bytes, from: source).utf8))
        } catch {
            throw CommandFailure("\(source): \(error)")
        }
        guard case let .object(object) = json else {
            throw CommandFailure("\(source) must hold one JSON object of template variables")
        }
        var variables: [String: TemplateValue] = [:]
        for (key, value) in object { variables[key] = value }
        if let gguf {
            let tokens = ChatTemplate.specialTokens(of: gguf)
            if variables["bos_token"] == nil, let bos = tokens.bos { variables["bos_token"] = .string(bos) }
            if variables["eos_token"] == nil, let eos = tokens.eos { variables["eos_token"] = .string(eos) }
        }
        let text = try template.render(variables)
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}
