import GGUF

/// A compiled Jinja2 chat template, rendered the way Hugging Face transformers' `apply_chat_template`
/// renders it (trim_blocks and lstrip_blocks on, loop controls, `raise_exception`, `strftime_now`,
/// a `tojson` that keeps non-ASCII text).
///
/// Parsing happens once in ``init(source:)``; ``render(_:)`` can be called from any thread.
public struct ChatTemplate: Sendable {
    /// The template text as given.
    public let source: String
    /// The source as jinja2 lexes it: newlines normalised, one trailing newline dropped.
    let text: String
    let program: [Node]
    /// Pins the clock `strftime_now` reads, as Unix seconds formatted in UTC, so renders are
    /// reproducible (golden tests, `SWIFTLM_TEMPLATE_NOW`). Nil reads the local clock.
    public var pinnedTime: Double?

    /// Parses `source`. Throws ``TemplateError/syntax(message:line:column:)`` with the position of
    /// the first problem.
    public init(source: String) throws(TemplateError) {
        self.source = source
        text = Self.jinjaSource(source)
        var lexer = Lexer(text)
        let tokens = try lexer.tokenize()
        var parser = Parser(tokens: tokens, source: text)
        program = try parser.parseTemplate()
    }

    /// Renders the template with `context` as its variables. Unknown variables are jinja2
    /// `Undefined`s (empty when printed, false when tested).
    public func render(_ context: [String: TemplateValue]) throws(TemplateError) -> String {
        var vars: [String: Value] = [:]
        for (k, v) in context { vars[k] = Value(v) }
        let interpreter = Interpreter(source: text, globals: vars, fixedTime: pinnedTime)
        return try interpreter.run(program)
    }

    /// jinja2 (keep_trailing_newline=False, newline_sequence="\n") turns `\r\n` and `\r` into `\n`
    /// and drops a single newline at the very end of the template.
    static func jinjaSource(_ source: String) -> String {
        var out = String.UnicodeScalarView()
        var it = source.unicodeScalars.makeIterator()
        var pendingCR = false
        while let u = it.next() {
            if pendingCR {
                pendingCR = false
                out.append("\n")
                if u == "\n" { continue }
            }
            if u == "\r" { pendingCR = true } else { out.append(u) }
        }
        if pendingCR { out.append("\n") }
        if out.last == "\n" { out.removeLast() }
        return String(out)
    }

    /// The chat template stored in a model file: `tokenizer.chat_template`, or the named variant
    /// `tokenizer.chat_template.<variant>` (for example `tool_use`).
    /// Throws ``TemplateError/missingTemplate(model:variant:)`` when the model has none.
    public static func fromModel(_ gguf: GGUFFile, variant: String? = nil) throws(TemplateError) -> ChatTemplate {
        let key = variant.map { GGUFKey.chatTemplate(named: $0) } ?? GGUFKey.chatTemplate
        guard let text = gguf.string(key) else {
            let model = gguf.string(GGUFKey.name) ?? gguf.path
            throw .missingTemplate(model: model, variant: variant)
        }
        return try ChatTemplate(source: text)
    }

    /// The text of the model's BOS and EOS tokens (`tokenizer.ggml.tokens[bos_token_id]`...), which
    /// transformers passes to templates as `bos_token` / `eos_token`. Nil when the model does not say.
    public static func specialTokens(of gguf: GGUFFile) -> (bos: String?, eos: String?) {
        guard case let .strings(tokens)? = gguf.array(GGUFKey.tokens) else { return (nil, nil) }
        func text(_ key: String) -> String? {
            guard let id = gguf.int(key), id >= 0, id < tokens.count else { return nil }
            return tokens[id]
        }
        return (text(GGUFKey.bosID), text(GGUFKey.eosID))
    }
}

extension ChatTemplate {
    /// Renders a conversation the way `apply_chat_template(messages, tools=..., add_generation_prompt=...)`
    /// does. `extra` adds variables such as `enable_thinking` or `date_string`.
    public func render(messages: [ChatMessage], addGenerationPrompt: Bool, bosToken: String, eosToken: String,
                       tools: [TemplateValue]? = nil, extra: [String: TemplateValue] = [:]) throws(TemplateError) -> String
    {
        var context = extra
        context["messages"] = .array(messages.map(\.templateValue))
        context["add_generation_prompt"] = .bool(addGenerationPrompt)
        context["bos_token"] = .string(bosToken)
        context["eos_token"] = .string(eosToken)
        if let tools { context["tools"] = .array(tools) }
        return try render(context)
    }
}
