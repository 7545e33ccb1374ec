import Template

/// Turns a streamed reply into text and tool calls, in the syntax of a ``ToolCallFormat``.
///
/// Streaming never shows markup as text: bytes that might begin a call (a partial `<tool_c`, or a
/// reply that opens with `{`) are held back until they either become a call or turn out to be
/// ordinary text, and are then released unchanged. Feeding a reply in any pieces gives the same
/// events (adjacent text merged) as feeding it whole.
///
/// A call is recognized:
/// - after the format's opening markup anywhere in the reply (`<tool_call>`, `<|python_tag|>`,
///   `[TOOL_CALLS]`); markup whose body is not a call is released as text;
/// - as a JSON object (for Mistral also an array) that is the very start of the reply and has a
///   `name` and `arguments` (or `parameters`): small models often drop the tags (qwen2.5-coder:0.5b
///   answers a weather question with a bare `{"name": "get_weather", "arguments": {...}}`), and that
///   is Llama 3's own syntax. With ``toolNames`` set, such a bare call must name an offered tool.
///
/// After a call, whitespace and `;` separators are dropped, and a further bare object is read as
/// another call.
public struct ToolCallParser: Sendable {
    public let format: ToolCallFormat
    /// The names of the offered tools: a bare JSON reply only counts as a call of one of them.
    public let toolNames: Set<String>?
    private let makeID: @Sendable (Int) -> String

    private enum Mode: Equatable {
        /// Nothing but whitespace yet: a JSON opener here may be a bare call.
        case start
        /// Right after a call: whitespace and separators are dropped, an opener may be another call.
        case afterCall
        /// Ordinary text: only the opening markup starts a call.
        case text
        /// A bare JSON value at the start of the reply (or after a call), being scanned.
        case bareJSON
        /// Inside the opening markup's body.
        case tagged
        /// Mistral's `[TOOL_CALLS]name[ARGS]`: the arguments object of the named call.
        case mistralArguments(name: String)
    }

    private var mode = Mode.start
    /// Bytes received and not yet turned into events.
    private var buffer: [UInt8] = []
    private var scan = JSONExtent()
    private var callCount = 0

    /// - Parameters:
    ///   - toolNames: the offered tools; nil accepts any name.
    ///   - makeID: the id of the n-th call (from 0) when the model gives none; OpenAI-style random ids by default.
    public init(format: ToolCallFormat, toolNames: Set<String>? = nil,
                makeID: @escaping @Sendable (Int) -> String = { _ in ToolCallParser.randomID() })
    {
        self.format = format
        self.toolNames = toolNames
        self.makeID = makeID
    }

    /// How many calls have been parsed so far.
    public var callsParsed: Int { callCount }

    /// `call_` and 24 random letters and digits, as OpenAI's ids look.
    public static func randomID() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        return "call_" + String((0..<24).map { _ in alphabet.randomElement()! })
    }

    /// Adds a piece of the reply; returns what became certain.
    public mutating func feed(_ text: String) -> [ToolCallEvent] {
        buffer += text.utf8
        return process(final: false)
    }

    /// The reply ended: releases whatever was held back (an unfinished call is parsed if it is
    /// complete JSON, as when a model stops right after the object, and released as text otherwise).
    public mutating func finish() -> [ToolCallEvent] {
        process(final: true)
    }

    // MARK: - The state machine

    private static let whitespace: Set<UInt8> = [0x20, 0x0A, 0x0D, 0x09]

    private mutating func process(final: Bool) -> [ToolCallEvent] {
        var out = Events()
        while true {
            switch mode {
            case .start, .afterCall:
                guard let i = buffer.firstIndex(where: { !Self.whitespace.contains($0) }) else {
                    if final, mode == .start { out.text(take(buffer.count)) }
                    if mode == .afterCall || final { buffer.removeAll() }
                    return out.events
                }
                let c = buffer[i]
                if mode == .afterCall, c == UInt8(ascii: ";") || c == UInt8(ascii: ",") {
                    buffer.removeFirst(i + 1)
                    continue
                }
                if mode == .afterCall { buffer.removeFirst(i) }
                if c == UInt8(ascii: "{") || (format == .mistral && c == UInt8(ascii: "[")) {
                    mode = .bareJSON
                    scan = JSONExtent()
                } else {
                    mode = .text
                }
            case .text:
                let tag = Array(format.openTag.utf8)
                if let k = buffer.firstRange(of: tag) {
                    out.text(take(k.lowerBound))
                    buffer.removeFirst(tag.count)
                    mode = .tagged
                    scan = JSONExtent()
                    continue
                }
                let hold = final ? 0 : Self.heldBack(buffer, tag: tag)
                out.text(take(buffer.count - hold))
                return out.events
            case .bareJSON:
                guard let end = scan.end(of: buffer) else {
                    if final { mode = .text; continue }
                    return out.events
                }
                if let calls = Self.calls(in: buffer[..<end], bare: true, toolNames: toolNames) {
                    buffer.removeFirst(end)
                    emit(calls, into: &out)
                    mode = .afterCall
                } else {
                    mode = .text // ordinary JSON text, released by .text
                }
            case .tagged:
                guard let done = taggedBody(final: final, into: &out) else { return out.events }
                if !done { return out.events }
            case let .mistralArguments(name):
                guard let end = scan.end(of: buffer) else {
                    if final { releaseUnparsed(prefix: format.openTag + name + "[ARGS]", into: &out) }
                    return out.events
                }
                let arguments = try? TemplateValue(jsonData: Array(buffer[..<end]))
                if let arguments, case .object = arguments {
                    buffer.removeFirst(end)
                    emit([ChatToolCall(name: name, arguments: arguments)], into: &out)
                    mode = .afterCall
                } else {
                    releaseUnparsed(prefix: format.openTag + name + "[ARGS]", into: &out)
                }
            }
        }
    }

    /// The body after the opening markup. Returns true to continue processing, false (or nil) to wait
    /// for more bytes.
    private mutating func taggedBody(final: Bool, into out: inout Events) -> Bool? {
        if let close = format.closeTag.map({ Array($0.utf8) }) {
            // Hermes: everything up to the closing tag is one call.
            guard let k = buffer.firstRange(of: close) else {
                if final {
                    if let calls = Self.calls(in: buffer[...], bare: false, toolNames: nil) {
                        buffer.removeAll()
                        emit(calls, into: &out)
                        mode = .afterCall
                    } else {
                        releaseUnparsed(prefix: format.openTag, into: &out)
                    }
                    return true
                }
                return false
            }
            if let calls = Self.calls(in: buffer[..<k.lowerBound], bare: false, toolNames: nil) {
                buffer.removeFirst(k.upperBound)
                emit(calls, into: &out)
                mode = .afterCall
            } else {
                let body = take(k.upperBound)
                out.text(format.openTag + body)
                mode = .text
            }
            return true
        }
        // Llama 3 and Mistral: a JSON value follows the markup (Mistral may write `name[ARGS]` first).
        guard let i = buffer.firstIndex(where: { !Self.whitespace.contains($0) }) else {
            if final { releaseUnparsed(prefix: format.openTag, into: &out) }
            return final
        }
        let c = buffer[i]
        if c == UInt8(ascii: "{") || c == UInt8(ascii: "[") {
            guard let end = scan.end(of: buffer) else {
                if final { releaseUnparsed(prefix: format.openTag, into: &out) }
                return final
            }
            if let calls = Self.calls(in: buffer[..<end], bare: false, toolNames: nil) {
                buffer.removeFirst(end)
                emit(calls, into: &out)
                mode = .afterCall
            } else {
                releaseUnparsed(prefix: format.openTag, into: &out)
            }
            return true
        }
        if format == .mistral {
            let marker = Array("[ARGS]".utf8)
            guard let k = buffer.firstRange(of: marker) else {
                if final { releaseUnparsed(prefix: format.openTag, into: &out) }
                return final
            }
            let name = String(decoding: buffer[..<k.lowerBound], as: UTF8.self).trimmingWhitespace
            buffer.removeFirst(k.upperBound)
            mode = .mistralArguments(name: name)
            scan = JSONExtent()
            return true
        }
        // Llama's built-in tools (`<|python_tag|>brave_search.call(query="...")`) are not JSON calls.
        releaseUnparsed(prefix: format.openTag, into: &out)
        return true
    }

    /// Gives up on a call: the markup and everything after it are plain text.
    private mutating func releaseUnparsed(prefix: String, into out: inout Events) {
        out.text(prefix + take(buffer.count))
        mode = .text
    }

    private mutating func emit(_ calls: [ChatToolCall], into out: inout Events) {
        for var call in calls {
            if call.id == nil { call.id = makeID(callCount) }
            callCount += 1
            out.events.append(.call(call))
        }
    }

    /// Removes and decodes the first `n` bytes.
    private mutating func take(_ n: Int) -> String {
        defer { buffer.removeFirst(n) }
        return String(decoding: buffer[..<n], as: UTF8.self)
    }

    /// The length of the longest suffix of `bytes` that is a proper prefix of `tag`.
    static func heldBack(_ bytes: [UInt8], tag: [UInt8]) -> Int {
        var n = min(tag.count - 1, bytes.count)
        while n > 0 {
            if bytes[(bytes.count - n)...].elementsEqual(tag[..<n]) { return n }
            n -= 1
        }
        return 0
    }

    // MARK: - Call shapes

    /// The calls a JSON text holds: one call object, or a list of them. A call object has a string
    /// `name` and `arguments` or `parameters` (an object, or a string of JSON), or is OpenAI's
    /// `{"function": {...}}`. A `bare` object (no markup around it) must have arguments, and a name
    /// among `toolNames` when given. Nil when the text is not calls.
    static func calls(in bytes: ArraySlice<UInt8>, bare: Bool, toolNames: Set<String>?) -> [ChatToolCall]? {
        guard let value = try? TemplateValue(jsonData: Array(bytes)) else { return nil }
        let items: [TemplateValue]
        switch value {
        case let .array(list): items = list
        case .object: items = [value]
        default: return nil
        }
        guard !items.isEmpty else { return nil }
        var calls: [ChatToolCall] = []
        for item in items {
            guard let call = call(from: item, bare: bare) else { return nil }
            if bare, let toolNames, !toolNames.contains(call.name) { return nil }
            calls.append(call)
        }
        return calls
    }

    private static func call(from value: TemplateValue, bare: Bool) -> ChatToolCall? {
        if let function = value["function"], case .object = function {
            var call = call(from: function, bare: bare)
            if let id = value["id"]?.stringValue { call?.id = id }
            return call
        }
        guard let name = value["name"]?.stringValue, !name.isEmpty else { return nil }
        var arguments = value["arguments"] ?? value["parameters"]
        if arguments == nil, bare { return nil }
        if case let .string(text)? = arguments {
            guard let parsed = try? TemplateValue(json: text) else { return nil }
            arguments = parsed
        }
        switch arguments {
        case nil, .null?: arguments = .object(TemplateObject())
        case .object?: break
        default: return nil
        }
        return ChatToolCall(id: value["id"]?.stringValue, name: name, arguments: arguments!)
    }
}

/// Accumulates parser events, merging adjacent text.
private struct Events {
    var events: [ToolCallEvent] = []

    mutating func text(_ s: String) {
        guard !s.isEmpty else { return }
        if case let .text(previous)? = events.last {
            events[events.count - 1] = .text(previous + s)
        } else {
            events.append(.text(s))
        }
    }
}

/// Finds where a JSON value that starts a byte buffer ends, incrementally: bytes already looked at
/// are not scanned again when more arrive. Only brackets and strings are tracked; whether the value is
/// valid JSON is for the parser to say.
struct JSONExtent: Sendable {
    private var position = 0
    private var depth = 0
    private var inString = false
    private var escaped = false
    private var started = false

    /// The end index (exclusive) of the value at the start of `bytes` (after whitespace), or nil when it
    /// has not ended yet.
    mutating func end(of bytes: [UInt8]) -> Int? {
        while position < bytes.count {
            let b = bytes[position]
            position += 1
            if inString {
                if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch b {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                started = true
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if started, depth <= 0 { return position }
            default: break
            }
        }
        return nil
    }
}

extension String {
    var trimmingWhitespace: String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s = s.dropFirst() }
        while let c = s.last, c.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}
