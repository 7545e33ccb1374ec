import Foundation
import GGUF

/// Special tokens, add-special-token flags, merges, normalizer flags and the chat template of a model
/// folder, resolved the way gguf-py's `SpecialVocab` does (tokenizer.json's added tokens and
/// post-processor, tokenizer_config.json, chat_template.jinja/json, then config.json's `*_token_id`),
/// so the GGUF says what llama.cpp's converter would.
struct SpecialVocabulary {
    /// Token types in gguf-py's order; `eot`/`eom` join when a post-processor overrides EOS.
    private(set) var types = ["bos", "eos", "unk", "sep", "pad", "cls", "mask"]
    private(set) var ids: [(type: String, id: Int)] = []
    private(set) var add: [(type: String, value: Bool)] = []
    private(set) var merges: [String] = []
    private(set) var chatTemplate: String?
    private(set) var namedTemplates: [(name: String, template: String)] = []
    private(set) var lowercase: Bool?
    private(set) var stripAccents: Bool?
    let vocabularySize: Int?

    init(vocabularySize: Int?) { self.vocabularySize = vocabularySize }

    /// GGUF key of each special token type (`tokenizer.ggml.<type>_token_id`, llama.cpp's spellings).
    static let idKeys = ["bos": GGUFKey.bosID, "eos": GGUFKey.eosID, "unk": GGUFKey.unknownID, "sep": GGUFKey.separatorID,
                         "pad": GGUFKey.paddingID, "cls": GGUFKey.clsID, "mask": GGUFKey.maskID,
                         "eot": GGUFKey.eotID, "eom": GGUFKey.eomID]
    static let addKeys = ["bos": GGUFKey.addBOS, "eos": GGUFKey.addEOS, "sep": GGUFKey.addSEP]

    var metadata: [(key: String, value: GGUFValue)] {
        var out: [(key: String, value: GGUFValue)] = []
        if !merges.isEmpty { out.append((GGUFKey.merges, .array(.strings(merges)))) }
        for (type, id) in ids { if let key = Self.idKeys[type] { out.append((key, .uint32(UInt32(id)))) } }
        for (type, value) in add { if let key = Self.addKeys[type] { out.append((key, .bool(value))) } }
        if let chatTemplate { out.append((GGUFKey.chatTemplate, .string(chatTemplate))) }
        for (name, template) in namedTemplates { out.append((GGUFKey.chatTemplate(named: name), .string(template))) }
        if let lowercase { out.append((GGUFKey.normalizerLowercase, .bool(lowercase))) }
        if let stripAccents { out.append((GGUFKey.normalizerStripAccents, .bool(stripAccents))) }
        return out
    }

    /// First value wins, as in `_set_special_token`; ids outside the vocabulary are dropped.
    private mutating func setID(_ type: String, _ id: Int?) {
        guard let id, id >= 0, vocabularySize.map({ id < $0 }) ?? true, !ids.contains(where: { $0.type == type }) else { return }
        ids.append((type, id))
    }

    private mutating func setAdd(_ type: String, _ value: Bool, overwrite: Bool = true) {
        if let i = add.firstIndex(where: { $0.type == type }) {
            if overwrite { add[i].value = value }
        } else {
            add.append((type, value))
        }
    }

    private func addValue(_ type: String) -> Bool? { add.first { $0.type == type }?.value }

    mutating func load(directory: String, merges loadMerges: Bool) throws(ImportError) {
        let tokenizer = try JSONFile.optional(directory + "/tokenizer.json")
        var added: [[String: Any]] = []
        if let tokenizer {
            if loadMerges { try readMerges(tokenizer) }
            if let normalizer = tokenizer["normalizer"] as? [String: Any] { parseNormalizer(normalizer) }
            added = tokenizer["added_tokens"] as? [[String: Any]] ?? []
        }
        let configFile = try JSONFile.optional(directory + "/tokenizer_config.json")
        var config = configFile?.object ?? [:]
        let hasConfig = configFile != nil && !config.isEmpty
        if let tokenizer { readPostProcessor(tokenizer, config: &config, hasConfig: hasConfig) }
        if hasConfig {
            try readChatTemplate(directory: directory, config: config)
            for type in types {
                if let value = JSONFile.bool(config["add_\(type)_token"]) { setAdd(type, value, overwrite: false) }
                let content: String?
                if let s = config["\(type)_token"] as? String {
                    content = s
                } else if let d = config["\(type)_token"] as? [String: Any] {
                    content = d["content"] as? String
                } else {
                    content = nil
                }
                guard let content else { continue }
                setID(type, added.first { $0["content"] as? String == content }.flatMap { JSONFile.int($0["id"]) })
            }
        }
        if let model = try JSONFile.optional(directory + "/config.json") {
            for type in types {
                let value = model["\(type)_token_id"] ?? (model["text_config"] as? [String: Any])?["\(type)_token_id"]
                setID(type, JSONFile.int(value))
            }
        }
    }

    private mutating func readMerges(_ tokenizer: JSONFile) throws(ImportError) {
        guard let raw = (tokenizer["model"] as? [String: Any])?["merges"] as? [Any], !raw.isEmpty else { return }
        if let strings = raw as? [String] {
            merges = strings
        } else if let pairs = raw as? [[String]], pairs.allSatisfy({ $0.count == 2 }) {
            // transformers >= 4.45 writes pairs so parts may hold spaces; llama.cpp's merges are
            // "a b" strings, with a space inside a part shifted to U+0120 + 256 as gguf-py does.
            merges = pairs.map { pair in
                pair.map { part in String(String.UnicodeScalarView(part.unicodeScalars.map { $0 == " " ? Unicode.Scalar(0x120)! : $0 })) }
                    .joined(separator: " ")
            }
        } else {
            throw .unsupportedTokenizer(path: tokenizer.path, reason: "unknown merges format")
        }
    }

    private mutating func parseNormalizer(_ n: [String: Any]) {
        switch n["type"] as? String {
        case "Lowercase": lowercase = true
        case "StripAccents": stripAccents = true
        case "BertNormalizer":
            if let v = JSONFile.bool(n["lowercase"]) { lowercase = v }
            if let v = JSONFile.bool(n["strip_accents"]) { stripAccents = v }
        case "Sequence":
            for inner in n["normalizers"] as? [[String: Any]] ?? [] { parseNormalizer(inner) }
        default: break
        }
    }

    /// gguf-py's crude reading of the post-processor: which specials wrap a single sequence (add
    /// BOS/EOS) and what separates a pair (add SEP). `config` is updated as gguf-py updates it.
    private mutating func readPostProcessor(_ tokenizer: JSONFile, config: inout [String: Any], hasConfig: Bool) {
        guard let post = tokenizer["post_processor"] as? [String: Any] else { return }
        func name(_ key: String) -> String? {
            if let s = config[key] as? String { return s }
            return (config[key] as? [String: Any])?["content"] as? String
        }
        var bos = name("bos_token"), cls = name("cls_token"), eos = name("eos_token"), sep = name("sep_token")
        if bos == nil, let cls, hasConfig { config["bos_token"] = cls; bos = cls }
        if eos == nil, let sep, hasConfig { config["eos_token"] = sep; eos = sep }
        let processors = post["processors"] as? [[String: Any]] ?? [post]
        for processor in processors {
            switch processor["type"] as? String {
            case "ByteLevel":
                setAdd("bos", false, overwrite: false)
                setAdd("eos", false, overwrite: false)
            case "RobertaProcessing":
                setAdd("bos", true); setAdd("eos", true); setAdd("sep", true)
                if cls == nil, hasConfig, let c = (processor["cls"] as? [Any])?.first as? String ?? bos { config["cls_token"] = c; cls = c }
                if sep == nil, hasConfig, let s = (processor["sep"] as? [Any])?.first as? String ?? eos { config["sep_token"] = s; sep = s }
            case "TemplateProcessing":
                let single = processor["single"] as? [[String: Any]] ?? []
                var pair = processor["pair"] as? [[String: Any]] ?? []
                func special(_ item: [String: Any]?) -> String? { (item?["SpecialToken"] as? [String: Any])?["id"] as? String }
                func sequence(_ item: [String: Any]?) -> String? { (item?["Sequence"] as? [String: Any])?["id"] as? String }
                var first: String?, last: String?
                if single.count > 1 {
                    if let f = special(single.first) {
                        first = f
                        if !hasConfig {
                            bos = f
                        } else if f != bos, f != cls {
                            if bos == nil { config["bos_token"] = f; bos = f }
                            if cls == nil { config["cls_token"] = f; cls = f }
                        }
                        setAdd("bos", f == bos || f == cls)
                    }
                    if let l = special(single.last) {
                        last = l
                        if !hasConfig {
                            eos = l
                        } else if l != eos {
                            if !types.contains("eot") {
                                types.append("eot"); config["eot_token"] = eos as Any
                            } else if !types.contains("eom") {
                                types.append("eom"); config["eom_token"] = eos as Any
                            }
                            config["eos_token"] = l; eos = l
                        }
                        setAdd("eos", l == eos)
                    }
                }
                guard !pair.isEmpty else { continue }
                if let first, special(pair.first) == first { pair.removeFirst() }
                if let last, special(pair.last) == last, !pair.isEmpty { pair.removeLast() }
                guard !pair.isEmpty, sequence(pair.first) == "A", sequence(pair.last) == "B" else { continue }
                let middle = Array(pair.dropFirst().dropLast())
                guard !middle.isEmpty else { continue }
                var addSep = false
                if let entry = special(middle.first), entry == sep || entry == eos, last == nil { addSep = true }
                if middle.count == 2, let entry = special(middle[1]), entry == sep || entry == eos { addSep = true }
                setAdd("sep", addSep)
                if addSep, sep == nil, hasConfig { config["sep_token"] = eos as Any }
            default:
                break
            }
        }
    }

    private mutating func readChatTemplate(directory: String, config: [String: Any]) throws(ImportError) {
        var alternative: Any?
        let jinja = directory + "/chat_template.jinja"
        if let data = FileManager.default.contents(atPath: jinja), let text = String(data: data, encoding: .utf8) {
            alternative = text
        } else if let json = try JSONFile.optional(directory + "/chat_template.json") {
            alternative = json["chat_template"]
        }
        let template = config["chat_template"] ?? alternative
        if let s = template as? String {
            chatTemplate = s
        } else if let list = template as? [[String: Any]] {
            // Named templates: "default" is the chat template, the rest go under their names.
            for entry in list {
                guard let name = entry["name"] as? String, let t = entry["template"] as? String else { continue }
                if name == "default" { chatTemplate = t } else { namedTemplates.append((name, t)) }
            }
        }
    }
}
