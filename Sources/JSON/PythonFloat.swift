/// Python's `repr(float)`: the shortest digits that round-trip (as Swift's `description` gives them),
/// spelled the way Python spells them: `1.0`, `1e-05`, `1e+16` (exponent form outside [1e-4, 1e16)),
/// `nan`, `inf`. Jinja's `{{ x }}` and `json.dumps` both print floats this way.
package func pythonFloatRepr(_ d: Double) -> String {
    if d.isNaN { return "nan" }
    if d.isInfinite { return d < 0 ? "-inf" : "inf" }
    if d == 0 { return d.sign == .minus ? "-0.0" : "0.0" }
    // Swift's description already gives the shortest round-trip digits; only the switch to
    // exponent notation and its spelling differ from Python.
    let s = d.description
    var mantissa = s
    var exponent = 0
    if let e = s.firstIndex(where: { $0 == "e" || $0 == "E" }) {
        mantissa = String(s[..<e])
        exponent = Int(s[s.index(after: e)...]) ?? 0
    }
    let negative = mantissa.hasPrefix("-")
    if negative { mantissa.removeFirst() }
    // Decimal digits and the position of the decimal point relative to them.
    var digits = ""
    var pointPos = 0
    if let dot = mantissa.firstIndex(of: ".") {
        let intPart = String(mantissa[..<dot])
        let frac = String(mantissa[mantissa.index(after: dot)...])
        digits = intPart + frac
        pointPos = intPart.count
    } else {
        digits = mantissa
        pointPos = mantissa.count
    }
    pointPos += exponent
    // Strip leading zeros (moving the point) and trailing zeros.
    while digits.count > 1, digits.first == "0" { digits.removeFirst(); pointPos -= 1 }
    while digits.count > 1, digits.last == "0" { digits.removeLast() }
    let decimalExponent = pointPos - 1 // exponent in d.ddd × 10^x form
    var out = negative ? "-" : ""
    if decimalExponent < -4 || decimalExponent >= 16 {
        out += String(digits.first!)
        if digits.count > 1 { out += "." + digits.dropFirst() }
        out += "e" + (decimalExponent < 0 ? "-" : "+")
        let mag = abs(decimalExponent)
        out += mag < 10 ? "0\(mag)" : "\(mag)"
    } else if pointPos <= 0 {
        out += "0." + String(repeating: "0", count: -pointPos) + digits
    } else if pointPos >= digits.count {
        out += digits + String(repeating: "0", count: pointPos - digits.count) + ".0"
    } else {
        out += digits.prefix(pointPos) + "." + digits.dropFirst(pointPos)
    }
    return out
}
