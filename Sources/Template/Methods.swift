#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Python methods templates call on strings, dicts and lists, and jinja2's global functions.
// Mutating methods exist only to fail as jinja2's ImmutableSandboxedEnvironment does.

enum Methods {
    static let string: Set<String> = [
        "strip", "lstrip", "rstrip", "split", "rsplit", "startswith", "endswith", "upper", "lower", "title",
        "capitalize", "replace", "find", "rfind", "index", "count", "format", "join", "isdigit", "isalpha", "isalnum",
        "isspace", "islower", "isupper", "splitlines", "zfill", "center", "ljust", "rjust", "swapcase",
    ]
    static let dict: Set<String> = ["items", "keys", "values", "get", "copy", "pop", "popitem", "setdefault", "update", "clear"]
    static let list: Set<String> = ["index", "count", "copy", "append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse"]
    static let unsafeDict: Set<String> = ["pop", "popitem", "setdefault", "update", "clear"]
    static let unsafeList: Set<String> = ["append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse"]
}

extension Interpreter {
    func callMethod(_ receiver: Value, _ name: String, _ args: CallArguments, offset: Int) throws(TemplateError) -> Value {
        func str(_ i: Int, _ n: String) throws(TemplateError) -> String? {
            guard let v = args.get(i, n), !v.isNone else { return nil }
            guard case let .string(s) = v else { throw fail("\(name)() argument must be str, not \(v.typeName)", offset) }
            return s
        }
        func int(_ i: Int, _ n: String, _ d: Int) throws(TemplateError) -> Int {
            guard let v = args.get(i, n) else { return d }
            guard let x = intValue(v) else { throw fail("\(name)() argument must be int, not \(v.typeName)", offset) }
            return x
        }
        switch receiver {
        case let .string(s):
            switch name {
            case "strip": return .string(PyString.strip(s, try str(0, "chars"), leading: true, trailing: true))
            case "lstrip": return .string(PyString.strip(s, try str(0, "chars"), leading: true, trailing: false))
            case "rstrip": return .string(PyString.strip(s, try str(0, "chars"), leading: false, trailing: true))
            case "split", "rsplit":
                let sep = try str(0, "sep")
                if sep == "" { throw fail("empty separator", offset) }
                let parts = name == "split" ? PyString.split(s, sep, try int(1, "maxsplit", -1))
                    : PyString.rsplit(s, sep, try int(1, "maxsplit", -1))
                return .array(parts.map(Value.string))
            case "startswith", "endswith":
                let prefixes: [String]
                switch args.get(0, "prefix") {
                case let .string(p)?: prefixes = [p]
                case let .tuple(a)?, let .array(a)?: prefixes = a.compactMap { if case let .string(p) = $0 { return p } else { return nil } }
                default: throw fail("\(name) first arg must be str or a tuple of str", offset)
                }
                return .bool(prefixes.contains {
                    name == "startswith" ? s.unicodeScalars.starts(with: $0.unicodeScalars)
                        : s.unicodeScalars.reversed().starts(with: $0.unicodeScalars.reversed())
                })
            case "upper": return .string(s.uppercased())
            case "lower": return .string(s.lowercased())
            case "swapcase":
                return .string(s.unicodeScalars.map { $0.properties.isUppercase ? $0.properties.lowercaseMapping : $0.properties.uppercaseMapping }.joined())
            case "title": return .string(PyString.title(s))
            case "capitalize": return .string(PyString.capitalize(s))
            case "replace":
                guard let old = try str(0, "old"), let new = try str(1, "new") else { throw fail("replace() takes 2 strings", offset) }
                return .string(PyString.replace(s, old, new, try int(2, "count", -1)))
            case "find", "rfind", "index":
                guard let sub = try str(0, "sub") else { throw fail("\(name)() needs a string", offset) }
                let i = PyString.find(s, sub, fromEnd: name == "rfind")
                if name == "index", i < 0 { throw fail("substring not found", offset) }
                return .int(i)
            case "count":
                guard let sub = try str(0, "sub") else { throw fail("count() needs a string", offset) }
                return .int(PyString.count(s, sub))
            case "format": return .string(try pyFormat(s, args, offset: offset))
            case "join":
                guard let items = args.get(0, "iterable")?.iterated else { throw fail("can only join an iterable", offset) }
                var parts: [String] = []
                for item in items {
                    guard case let .string(p) = item else { throw fail("sequence item: expected str instance, \(item.typeName) found", offset) }
                    parts.append(p)
                }
                return .string(parts.joined(separator: s))
            case "isdigit": return .bool(!s.isEmpty && s.unicodeScalars.allSatisfy { $0.properties.numericType == .decimal || $0.properties.numericType == .digit })
            case "isalpha": return .bool(!s.isEmpty && s.unicodeScalars.allSatisfy(\.properties.isAlphabetic))
            case "isalnum": return .bool(!s.isEmpty && s.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || $0.properties.numericType != nil })
            case "isspace": return .bool(!s.isEmpty && s.unicodeScalars.allSatisfy(PyString.isSpace))
            case "islower": return .bool(s.unicodeScalars.contains(where: \.properties.isCased) && s == s.lowercased())
            case "isupper": return .bool(s.unicodeScalars.contains(where: \.properties.isCased) && s == s.uppercased())
            case "splitlines": return .array(PyString.splitLines(s, keepEnds: args.get(0, "keepends")?.truthy ?? false).map(Value.string))
            case "zfill", "center", "ljust", "rjust":
                let width = try checkSize(try int(0, "width", 0), offset: offset)
                let n = s.unicodeScalars.count
                guard width > n else { return .string(s) }
                let fill = name == "zfill" ? "0" : (try str(1, "fillchar") ?? " ")
                let pad = width - n
                switch name {
                case "zfill":
                    if s.hasPrefix("-") || s.hasPrefix("+") { return .string(String(s.first!) + String(repeating: "0", count: pad) + s.dropFirst()) }
                    return .string(String(repeating: "0", count: pad) + s)
                case "ljust": return .string(s + String(repeating: fill, count: pad))
                case "rjust": return .string(String(repeating: fill, count: pad) + s)
                default:
                    // Python centres with the extra pad on the left when both pad and width are odd.
                    let left = pad / 2 + (pad & width & 1)
                    return .string(String(repeating: fill, count: left) + s + String(repeating: fill, count: pad - left))
                }
            default: break
            }
        case let .dict(d):
            if Methods.unsafeDict.contains(name) { throw fail("access to attribute '\(name)' of 'dict' object is unsafe.", offset) }
            switch name {
            case "items": return .view(.items, d.pairs.map { .tuple([$0.0, $0.1]) })
            case "keys": return .view(.keys, d.keys)
            case "values": return .view(.values, d.values)
            case "copy": return receiver
            case "get":
                guard let key = args.get(0, "key") else { throw fail("get expected at least 1 argument, got 0", offset) }
                let fallback = args.get(1, "default") ?? .none
                return d[value: key] ?? fallback
            default: break
            }
        case let .array(a), let .tuple(a):
            if Methods.unsafeList.contains(name) { throw fail("access to attribute '\(name)' of '\(receiver.typeName)' object is unsafe.", offset) }
            switch name {
            case "index":
                guard let x = args.get(0, "value"), let i = a.firstIndex(where: { pyEquals($0, x) }) else {
                    throw fail("value is not in list", offset)
                }
                return .int(i)
            case "count":
                guard let x = args.get(0, "value") else { throw fail("count() takes exactly one argument", offset) }
                return .int(a.filter { pyEquals($0, x) }.count)
            case "copy": return receiver
            default: break
            }
        case let .loop(l):
            if name == "cycle" {
                guard !args.positional.isEmpty else { throw fail("no items for cycling given", offset) }
                return args.positional[l.index0 % args.positional.count]
            }
            throw fail("loop.changed() is not supported", offset)
        default: break
        }
        throw fail("'\(receiver.typeName)' object has no method '\(name)'", offset)
    }

    /// Python `str.format`: `{}`, `{0}`, `{name}`, `{name.attr}` / `{0[key]}` fields and `{{` / `}}` escapes.
    func pyFormat(_ format: String, _ args: CallArguments, offset: Int) throws(TemplateError) -> String {
        var out = ""
        let u = Array(format.unicodeScalars)
        var i = 0
        var auto = 0
        while i < u.count {
            let c = u[i]
            if c == "{" {
                if i + 1 < u.count, u[i + 1] == "{" { out += "{"; i += 2; continue }
                guard let close = u[i...].firstIndex(of: "}") else { throw fail("Single '{' encountered in format string", offset) }
                var field = String(String.UnicodeScalarView(u[(i + 1) ..< close]))
                var spec = ""
                if let colon = field.firstIndex(of: ":") { spec = String(field[field.index(after: colon)...]); field = String(field[..<colon]) }
                if let bang = field.firstIndex(of: "!") { field = String(field[..<bang]) }
                var head = field
                var rest = ""
                if let cut = field.firstIndex(where: { $0 == "." || $0 == "[" }) { head = String(field[..<cut]); rest = String(field[cut...]) }
                var v: Value
                if head.isEmpty {
                    guard auto < args.positional.count else { throw fail("Replacement index \(auto) out of range for positional args tuple", offset) }
                    v = args.positional[auto]
                    auto += 1
                } else if let n = Int(head) {
                    guard n < args.positional.count else { throw fail("Replacement index \(n) out of range for positional args tuple", offset) }
                    v = args.positional[n]
                } else {
                    guard let x = args.named[head] else { throw fail("KeyError: '\(head)'", offset) }
                    v = x
                }
                // Attribute and item accessors after the name.
                while !rest.isEmpty {
                    if rest.hasPrefix(".") {
                        rest.removeFirst()
                        let end = rest.firstIndex(where: { $0 == "." || $0 == "[" }) ?? rest.endIndex
                        v = try getAttribute(v, String(rest[..<end]), offset: offset)
                        rest = String(rest[end...])
                    } else {
                        guard let end = rest.firstIndex(of: "]") else { throw fail("Missing ']' in format string", offset) }
                        let key = String(rest.dropFirst()[..<end])
                        v = try getItem(v, Int(key).map(Value.int) ?? .string(key), offset: offset)
                        rest = String(rest[rest.index(after: end)...])
                    }
                }
                out += try formatSpec(v, spec, offset: offset)
                i = close + 1
            } else if c == "}" {
                guard i + 1 < u.count, u[i + 1] == "}" else { throw fail("Single '}' encountered in format string", offset) }
                out += "}"
                i += 2
            } else {
                out.unicodeScalars.append(c)
                i += 1
            }
        }
        return out
    }

    /// The common format specs: empty, precision for floats (`.2f`), and `d`.
    private func formatSpec(_ v: Value, _ spec: String, offset: Int) throws(TemplateError) -> String {
        if spec.isEmpty { return v.pyStr }
        if spec == "d", let i = intValue(v) { return String(i) }
        if spec.hasPrefix("."), spec.hasSuffix("f"), let p = Int(spec.dropFirst().dropLast()), let d = doubleValue(v) {
            return fixedPoint(d, p)
        }
        throw fail("format spec '\(spec)' is not supported", offset)
    }

    /// Python `%` formatting with `%s`, `%r`, `%d`, `%i`, `%f` and `%%`.
    func percentFormat(_ format: String, _ arg: Value, offset: Int) throws(TemplateError) -> String {
        var values: [Value]
        if case let .tuple(t) = arg { values = t } else { values = [arg] }
        var out = ""
        var it = format.unicodeScalars.makeIterator()
        while let c = it.next() {
            guard c == "%" else { out.unicodeScalars.append(c); continue }
            guard let k = it.next() else { throw fail("incomplete format", offset) }
            if k == "%" { out += "%"; continue }
            guard !values.isEmpty else { throw fail("not enough arguments for format string", offset) }
            let v = values.removeFirst()
            switch k {
            case "s": out += v.pyStr
            case "r": out += v.pyRepr
            case "d", "i":
                guard let d = doubleValue(v) else { throw fail("%d format: a real number is required, not \(v.typeName)", offset) }
                guard let i = truncatedInt(d) else { throw fail("%d format: number out of range", offset) }
                out += String(i)
            case "f":
                guard let d = doubleValue(v) else { throw fail("must be real number, not \(v.typeName)", offset) }
                out += fixedPoint(d, 6)
            default: throw fail("unsupported format character '\(k)'", offset)
            }
        }
        if !values.isEmpty, case .tuple = arg { throw fail("not all arguments converted during string formatting", offset) }
        return out
    }

    func fixedPoint(_ d: Double, _ digits: Int) -> String {
        var buf = [CChar](repeating: 0, count: 512)
        _ = withVaList([d]) { vsnprintf(&buf, buf.count, "%.\(max(0, min(digits, 100)))f", $0) }
        return cString(buf)
    }

    // MARK: - Globals

    func callGlobal(_ name: String, _ args: CallArguments, offset: Int) throws(TemplateError) -> Value {
        switch name {
        case "range":
            var nums: [Int] = []
            for v in args.positional {
                guard let i = intValue(v) else { throw fail("'\(v.typeName)' object cannot be interpreted as an integer", offset) }
                nums.append(i)
            }
            let (start, stop, step): (Int, Int, Int)
            switch nums.count {
            case 1: (start, stop, step) = (0, nums[0], 1)
            case 2: (start, stop, step) = (nums[0], nums[1], 1)
            case 3: (start, stop, step) = (nums[0], nums[1], nums[2])
            default: throw fail("range expected 1 to 3 arguments, got \(nums.count)", offset)
            }
            guard step != 0 else { throw fail("range() arg 3 must not be zero", offset) }
            // Counted in floating point so extreme bounds cannot overflow; the cap keeps it exact.
            let span = step > 0 ? Double(stop) - Double(start) : Double(start) - Double(stop)
            let n = span <= 0 ? 0 : Int(min((span / abs(Double(step))).rounded(.up), 1e9))
            // The sandbox caps ranges, so a template cannot allocate without bound.
            guard n <= 100_000 else { throw fail("Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).", offset) }
            return .array((0 ..< n).map { .int(start + $0 * step) })
        case "namespace", "dict":
            var d = Dict()
            if let first = args.positional.first {
                guard case let .dict(initial) = first else { throw fail("\(name)() expects a mapping", offset) }
                d = initial
            }
            for (k, v) in args.named.stringPairs { d[k] = v }
            return name == "dict" ? .dict(d) : .namespace(Namespace(d))
        case "raise_exception":
            let message = args.get(0, "message")?.pyStr ?? ""
            let (l, c) = lineColumn(source, offset)
            throw .raised(message: message, line: l, column: c)
        case "strftime_now":
            guard case let .string(format)? = args.get(0, "format") else { throw fail("strftime_now() needs a format string", offset) }
            return .string(strftime(format))
        default:
            throw fail("'\(name)' is not supported", offset)
        }
    }

    /// The current time (or the pinned time, in UTC) formatted with C strftime, as Python's does on Linux.
    private func strftime(_ format: String) -> String {
        var t = time(nil)
        if let fixedTime, let pinned = Int(exactly: fixedTime.rounded(.down)) { t = time_t(pinned) }
        var parts = tm()
        if fixedTime != nil { gmtime_r(&t, &parts) } else { localtime_r(&t, &parts) }
        var buf = [CChar](repeating: 0, count: 1024)
        let n = Glibc.strftime(&buf, buf.count, format, &parts)
        return n == 0 && !format.isEmpty ? "" : cString(buf)
    }
}

private func cString(_ buf: [CChar]) -> String {
    String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
