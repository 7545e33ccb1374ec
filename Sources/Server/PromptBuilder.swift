import Runtime
import Template
import Tokenizer

/// Turns a chat or a completion request into prompt tokens, enforcing the context size: a prompt that
/// does not fit is refused with its length and what fits, or, when the request asks for truncation,
/// shortened from the oldest messages (system messages kept) and reported as truncated.
struct PromptBuilder {
    let model: LoadedModel
    /// Positions the request's context holds.
    let capacity: Int

    struct Result: Sendable {
        var tokens: [Int32]
        /// Messages (chat) or tokens (completion) dropped to fit; 0 when nothing was.
        var truncated: Int
    }

    /// Chat: renders `messages` with the model's template (or `template`), adding the generation prompt,
    /// the request's tools and the forced start of a call (`tool_choice`).
    func chat(_ messages: [ChatMessage], template override: ChatTemplate? = nil, tools: RequestTools? = nil,
              truncate: Bool) throws(ServerError) -> Result {
        guard let template = override ?? model.chatTemplate else {
            if let reason = model.chatTemplateError {
                throw .badRequest("the model's chat template cannot be used (\(reason)); use /api/generate with \"raw\": true")
            }
            throw .badRequest("\(model.name) has no chat template (it is a base model): use /api/generate or /v1/completions for plain completion")
        }
        var kept = messages
        var dropped = 0
        while true {
            let tokens = try render(kept, template: template, tools: tools)
            if tokens.count < capacity { return Result(tokens: tokens, truncated: dropped) }
            // The oldest message that is not a system message, never the last one (the turn to answer).
            guard truncate, let oldest = kept.indices.dropLast().first(where: { kept[$0].role != "system" }) else {
                throw overflow(tokens.count, truncatable: truncate ? nil : "set \"truncate\": true to drop the oldest messages")
            }
            kept.remove(at: oldest)
            dropped += 1
        }
    }

    /// Plain completion tokens; with `truncate`, the oldest tokens go (a BOS token stays first).
    func completion(_ tokens: [Int32], truncate: Bool) throws(ServerError) -> Result {
        if tokens.count < capacity { return Result(tokens: tokens, truncated: 0) }
        guard truncate, capacity >= 2 else {
            throw overflow(tokens.count, truncatable: truncate ? nil : "set \"truncate\": true to keep only its end")
        }
        let keepBOS = model.tokenizer.bosID.map { tokens.first == $0 } ?? false
        let room = capacity - 1 - (keepBOS ? 1 : 0)
        let kept = (keepBOS ? [tokens[0]] : []) + tokens.suffix(room)
        return Result(tokens: kept, truncated: tokens.count - kept.count)
    }

    func render(_ messages: [ChatMessage], template: ChatTemplate, tools: RequestTools? = nil) throws(ServerError) -> [Int32] {
        templatedTokens(try renderText(messages, template: template, tools: tools))
    }

    /// The prompt text: the template's rendering, then the forced start of a call if any.
    func renderText(_ messages: [ChatMessage], template: ChatTemplate, tools: RequestTools? = nil) throws(ServerError) -> String {
        let special = model.specialTokenTexts
        do {
            return try template.render(messages: messages, addGenerationPrompt: true, bosToken: special.bos, eosToken: special.eos,
                                       tools: tools?.tools) + (tools?.forcedPrefix ?? "")
        } catch {
            throw .badRequest("chat template: \(error)")
        }
    }

    /// Plain completion tokens, as `swiftlm run --raw` makes them: BOS when the model's metadata asks
    /// for one, special-token text parsed.
    func completionTokens(_ text: String) -> [Int32] {
        model.tokenizer.encode(text, addSpecial: true, parseSpecial: true)
    }

    /// Tokens of text a template produced: special tokens parsed, BOS added only when the model wants
    /// one and the template did not write it already.
    func templatedTokens(_ text: String) -> [Int32] {
        let tokenizer = model.tokenizer
        var ids = tokenizer.encode(text, addSpecial: false, parseSpecial: true)
        if tokenizer.addBOS, let bos = tokenizer.bosID, ids.first != bos { ids.insert(bos, at: 0) }
        return ids
    }

    /// Fill-in-the-middle tokens (`prompt` before the gap, `suffix` after it), for models whose vocabulary
    /// has FIM tokens (Qwen2.5-Coder, StarCoder, CodeLlama style); nil for other models.
    func fillInMiddle(prefix: String, suffix: String) -> [Int32]? {
        let t = model.tokenizer
        for names in [("<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"), ("<fim_prefix>", "<fim_suffix>", "<fim_middle>"),
                      ("<fim-prefix>", "<fim-suffix>", "<fim-middle>")] {
            if let p = t.tokenID(forText: names.0), let s = t.tokenID(forText: names.1), let m = t.tokenID(forText: names.2) {
                var ids: [Int32] = []
                if t.addBOS, let bos = t.bosID { ids.append(bos) }
                ids.append(p)
                ids += t.encode(prefix, addSpecial: false, parseSpecial: false)
                ids.append(s)
                ids += t.encode(suffix, addSpecial: false, parseSpecial: false)
                ids.append(m)
                return ids
            }
        }
        return nil
    }

    /// Whether the model can fill in the middle (Ollama's `insert` capability).
    var supportsInsert: Bool { fillInMiddle(prefix: "", suffix: "") != nil }

    private func overflow(_ count: Int, truncatable hint: String?) -> ServerError {
        let trained = model.trainedContextLength
        var message = "the prompt is \(count) tokens but the context holds \(capacity) (num_ctx \(capacity), "
            + "which must also leave room for the reply); at most \(capacity - 1) prompt tokens fit"
        if trained > capacity { message += "; raise options.num_ctx (this model supports up to \(trained))" }
        if let hint { message += "; or \(hint)" }
        if hint == nil { message += "; even the last message alone does not fit" }
        return .badRequest(message)
    }
}
