#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Python operator semantics: arithmetic across int / float / bool, comparisons and membership.

extension Interpreter {
    func binary(_ op: String, _ a: Value, _ b: Value, offset: Int) throws(TemplateError) -> Value {
        let typeError = operandError("unsupported operand type(s) for \(op): '\(a.typeName)' and '\(b.typeName)'", a, b, offset: offset)
        switch op {
        case "+":
            switch (a, b) {
            case let (.string(x), .string(y)): return .string(x + y)
            case let (.array(x), .array(y)): return .array(x + y)
            case let (.tuple(x), .tuple(y)): return .tuple(x + y)
            default: return try arithmetic(a, b, typeError, { $0.addingReportingOverflow($1) }, +)
            }
        case "-": return try arithmetic(a, b, typeError, { $0.subtractingReportingOverflow($1) }, -)
        case "*":
            switch (a, b) {
            case let (.string(s), n) where intValue(n) != nil, let (n, .string(s)) where intValue(n) != nil:
                let times = max(intValue(n)!, 0)
                _ = try checkSize(s.utf8.count.multipliedReportingOverflow(by: times).overflow ? Int.max : s.utf8.count * times, offset: offset)
                return .string(String(repeating: s, count: times))
            case let (.array(x), n) where intValue(n) != nil:
                let times = max(intValue(n)!, 0)
                _ = try checkSize(x.count.multipliedReportingOverflow(by: times).overflow ? Int.max : x.count * times, offset: offset)
                return .array(Array(repeating: x, count: times).flatMap { $0 })
            default: return try arithmetic(a, b, typeError, { $0.multipliedReportingOverflow(by: $1) }, *)
            }
        case "/":
            guard let x = doubleValue(a), let y = doubleValue(b) else { throw typeError }
            guard y != 0 else { throw fail("division by zero", offset) }
            return .double(x / y)
        case "//":
            if let x = intValue(a), let y = intValue(b) {
                guard y != 0 else { throw fail("integer division or modulo by zero", offset) }
                if x == .min, y == -1 { return .double(-Double(x)) }
                return .int(floorDiv(x, y))
            }
            guard let x = doubleValue(a), let y = doubleValue(b) else { throw typeError }
            guard y != 0 else { throw fail("float floor division by zero", offset) }
            return .double((x / y).rounded(.down))
        case "%":
            if case let .string(fmt) = a { return .string(try percentFormat(fmt, b, offset: offset)) }
            if let x = intValue(a), let y = intValue(b) {
                guard y != 0 else { throw fail("integer division or modulo by zero", offset) }
                if y == -1 { return .int(0) }
                return .int(x - floorDiv(x, y) * y)
            }
            guard let x = doubleValue(a), let y = doubleValue(b) else { throw typeError }
            guard y != 0 else { throw fail("float modulo", offset) }
            let r = x.truncatingRemainder(dividingBy: y)
            return .double(r != 0 && (r < 0) != (y < 0) ? r + y : r)
        case "**":
            if let x = intValue(a), let y = intValue(b), y >= 0 {
                // Square-and-multiply; beyond Int the result degrades to a float (Python has big ints).
                var (r, base, e) = (1, x, y)
                while e > 0 {
                    if e & 1 == 1 {
                        let (p, o) = r.multipliedReportingOverflow(by: base)
                        if o { return .double(pow(Double(x), Double(y))) }
                        r = p
                    }
                    e >>= 1
                    if e > 0 {
                        let (sq, o) = base.multipliedReportingOverflow(by: base)
                        if o { return .double(pow(Double(x), Double(y))) }
                        base = sq
                    }
                }
                return .int(r)
            }
            guard let x = doubleValue(a), let y = doubleValue(b) else { throw typeError }
            return .double(pow(x, y))
        default:
            throw fail("unknown operator \(op)", offset)
        }
    }

    private func arithmetic(_ a: Value, _ b: Value, _ typeError: TemplateError, _ intOp: (Int, Int) -> (Int, Bool),
                            _ doubleOp: (Double, Double) -> Double) throws(TemplateError) -> Value
    {
        if let x = intValue(a), let y = intValue(b) {
            let (r, o) = intOp(x, y)
            return o ? .double(doubleOp(Double(x), Double(y))) : .int(r)
        }
        guard let x = doubleValue(a), let y = doubleValue(b) else { throw typeError }
        return .double(doubleOp(x, y))
    }

    func doubleValue(_ v: Value) -> Double? {
        switch v {
        case let .int(i): return Double(i)
        case let .bool(b): return b ? 1 : 0
        case let .double(d): return d
        default: return nil
        }
    }

    func compare(_ op: String, _ a: Value, _ b: Value, offset: Int) throws(TemplateError) -> Bool {
        switch op {
        case "==": return pyEquals(a, b)
        case "!=": return !pyEquals(a, b)
        case "in": return try contains(b, a, offset: offset)
        case "notin": return !(try contains(b, a, offset: offset))
        default:
            guard let order = pyOrder(a, b) else {
                throw operandError("'\(op)' not supported between instances of '\(a.typeName)' and '\(b.typeName)'", a, b, offset: offset)
            }
            switch op {
            case "<": return order < 0
            case ">": return order > 0
            case "<=": return order <= 0
            default: return order >= 0
            }
        }
    }

    func contains(_ container: Value, _ item: Value, offset: Int) throws(TemplateError) -> Bool {
        switch container {
        case let .string(s):
            guard case let .string(sub) = item else {
                throw operandError("'in <string>' requires string as left operand, not \(item.typeName)", item, offset)
            }
            return sub.isEmpty || s.unicodeScalars.firstRange(of: sub.unicodeScalars) != nil
        case let .array(a), let .tuple(a), let .iterator(a), let .view(_, a): return a.contains { pyEquals($0, item) }
        case let .dict(d):
            return d[value: item] != nil
        case let .namespace(ns):
            if case let .string(k) = item { return ns.attributes[k] != nil }
            return false
        case .undefined: return false
        default: throw fail("argument of type '\(container.typeName)' is not iterable", offset)
        }
    }
}

func floorDiv(_ x: Int, _ y: Int) -> Int {
    let q = x / y
    return (x % y != 0 && (x < 0) != (y < 0)) ? q - 1 : q
}

/// Python `==`: numbers compare across int / float / bool, containers element-wise, other types never equal.
func pyEquals(_ a: Value, _ b: Value) -> Bool {
    switch (a, b) {
    case (.undefined, .undefined), (.none, .none): return true
    case let (.string(x), .string(y)): return x.unicodeScalars.elementsEqual(y.unicodeScalars)
    case let (.array(x), .array(y)), let (.tuple(x), .tuple(y)):
        return x.count == y.count && zip(x, y).allSatisfy { pyEquals($0, $1) }
    case let (.dict(x), .dict(y)):
        return x.count == y.count && x.pairs.allSatisfy { k, v in y[value: k].map { pyEquals(v, $0) } ?? false }
    case let (.namespace(x), .namespace(y)): return x === y
    case let (.macro(x), .macro(y)): return x === y
    default:
        if let x = numeric(a), let y = numeric(b) { return x == y }
        return false
    }
}

private func numeric(_ v: Value) -> Double? {
    switch v {
    case let .int(i): return Double(i)
    case let .bool(b): return b ? 1 : 0
    case let .double(d): return d
    default: return nil
    }
}

/// Python ordering (`<`): numbers, strings by code point, sequences lexicographically; nil when unorderable.
func pyOrder(_ a: Value, _ b: Value) -> Int? {
    switch (a, b) {
    case let (.int(x), .int(y)): return x < y ? -1 : (x > y ? 1 : 0)
    case let (.string(x), .string(y)):
        if x.unicodeScalars.elementsEqual(y.unicodeScalars) { return 0 }
        return x.unicodeScalars.lexicographicallyPrecedes(y.unicodeScalars) { $0.value < $1.value } ? -1 : 1
    case let (.array(x), .array(y)), let (.tuple(x), .tuple(y)):
        for (p, q) in zip(x, y) where !pyEquals(p, q) { return pyOrder(p, q) }
        return x.count < y.count ? -1 : (x.count > y.count ? 1 : 0)
    default:
        guard let x = numeric(a), let y = numeric(b) else { return nil }
        return x < y ? -1 : (x > y ? 1 : 0)
    }
}

/// The indices `range(n)[start:stop:step]` selects, with Python's clamping of negative and out-of-range bounds.
func pySliceIndices(_ n: Int, _ start: Int?, _ stop: Int?, _ step: Int) -> [Int] {
    var out: [Int] = []
    if step > 0 {
        var a = start ?? 0, b = stop ?? n
        if a < 0 { a = max(a + n, 0) } else { a = min(a, n) }
        if b < 0 { b = max(b + n, 0) } else { b = min(b, n) }
        var i = a
        while i < b {
            out.append(i)
            let (next, o) = i.addingReportingOverflow(step)
            if o { break }
            i = next
        }
    } else {
        var a = start ?? n - 1, b = stop ?? -1
        if let s = start { a = s < 0 ? max(s + n, -1) : min(s, n - 1) }
        if let s = stop { b = s < 0 ? max(s + n, -1) : min(s, n - 1) }
        var i = a
        while i > b {
            out.append(i)
            let (next, o) = i.addingReportingOverflow(step)
            if o { break }
            i = next
        }
    }
    return out
}

