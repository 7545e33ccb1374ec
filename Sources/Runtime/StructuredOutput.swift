import Foundation
import Grammar
import Tokenizer

/// The shape generated text must have. The sampler enforces it token by token (constrained sampling),
/// so the output parses by construction: it can only end where the grammar is complete.
public enum OutputFormat: Sendable, Equatable {
    /// Any JSON value with an object at the top (Ollama's `format: "json"`, OpenAI's `json_object`).
    case json
    /// JSON matching a JSON Schema, given as the schema's JSON text.
    case jsonSchema(String)
    /// Text matching a GBNF grammar (llama.cpp's format), given as the grammar's text.
    case grammar(String)

    /// The GBNF text the format compiles from.
    public func gbnf() throws(RuntimeError) -> String {
        switch self {
        case .json: return JSONSchemaGrammar.anyJSONObject
        case let .jsonSchema(schema):
            do throws(GrammarError) { return try JSONSchemaGrammar.gbnf(schema: schema) } catch { throw .grammar(error) }
        case let .grammar(text): return text
        }
    }

    /// The compiled grammar (cached by text, so validating a request and then running it compiles once).
    public func compiledGrammar() throws(RuntimeError) -> Grammar {
        try StructuredOutputCache.grammar(try gbnf())
    }
}

/// Compiled grammars by text, and each tokenizer's vocabulary trie with its constraints: building the trie
/// for a 150k-token vocabulary and the first masks of a grammar cost tens of milliseconds, which a server
/// answering many requests with one schema should pay once.
enum StructuredOutputCache {
    private struct ModelEntry: Sendable {
        weak var tokenizer: Tokenizer?
        let vocabulary: TokenVocabulary
        var constraints: [String: TokenConstraint]
    }

    private struct State: Sendable {
        var grammars: [String: Grammar] = [:]
        var models: [ModelEntry] = []
    }

    /// Small bounds: a few models, a few dozen grammars each; beyond them the oldest are dropped.
    private static let maxGrammars = 64
    private static let state = LockedState(State())

    static func grammar(_ gbnf: String) throws(RuntimeError) -> Grammar {
        if let g = state.withLock({ $0.grammars[gbnf] }) { return g }
        let g: Grammar
        do throws(GrammarError) { g = try Grammar(gbnf: gbnf) } catch { throw .grammar(error) }
        state.withLock { s in
            if s.grammars.count >= maxGrammars { s.grammars.removeAll() }
            s.grammars[gbnf] = g
        }
        return g
    }

    static func constraint(_ format: OutputFormat, tokenizer: Tokenizer) throws(RuntimeError) -> TokenConstraint {
        let gbnf = try format.gbnf()
        let grammar = try grammar(gbnf)
        let cached: TokenConstraint? = state.withLock { s in
            s.models.removeAll { $0.tokenizer == nil }
            return s.models.first { $0.tokenizer === tokenizer }?.constraints[gbnf]
        }
        if let cached { return cached }
        let existing = state.withLock { s in s.models.first { $0.tokenizer === tokenizer }?.vocabulary }
        let vocabulary = existing ?? vocabulary(of: tokenizer)
        let constraint = TokenConstraint(grammar: grammar, vocabulary: vocabulary)
        state.withLock { s in
            if let i = s.models.firstIndex(where: { $0.tokenizer === tokenizer }) {
                if s.models[i].constraints.count >= maxGrammars { s.models[i].constraints.removeAll() }
                s.models[i].constraints[gbnf] = constraint
            } else {
                if s.models.count >= 4 { s.models.removeFirst() }
                s.models.append(ModelEntry(tokenizer: tokenizer, vocabulary: vocabulary, constraints: [gbnf: constraint]))
            }
        }
        return constraint
    }

    /// Every token's output bytes (control tokens print nothing and are never allowed) and the tokens that
    /// end generation.
    static func vocabulary(of tokenizer: Tokenizer) -> TokenVocabulary {
        let n = tokenizer.vocabularySize
        let pieces = (0..<n).map { tokenizer.pieceBytes(Int32($0), renderSpecial: false) }
        let eog = (0..<n).map(Int32.init).filter { tokenizer.isEndOfGeneration($0) }
        return TokenVocabulary(pieces: pieces, endOfGeneration: eog)
    }
}

extension Sampler {
    /// The sampler a generation with `options` uses: constrained by ``GenerationOptions/format`` (with the
    /// token budget `maxTokens`, so the output closes in time) when one is set.
    public init(generation options: GenerationOptions, tokenizer: Tokenizer) throws(RuntimeError) {
        let matcher = try options.format.map { f throws(RuntimeError) in GrammarMatcher(try StructuredOutputCache.constraint(f, tokenizer: tokenizer)) }
        self.init(options: options.sampling, constraint: matcher, tokenBudget: options.maxTokens)
    }
}
