/// Decoding through `Codable` (a request field typed `JSONValue` inside a Foundation-decoded body).
///
/// A `Decoder` hands out objects as dictionaries, so key order is lost: keys come out sorted, which at
/// least makes the result deterministic. Parse with ``JSONParser`` where order matters. Numbers are
/// `.int` when the decoder can read them as an `Int`, else `.double`.
extension JSONValue: Decodable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let i = try? c.decode(Int.self) {
            self = .int(i)
        } else if let d = try? c.decode(Double.self) {
            self = .double(d)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([JSONValue].self) {
            self = .array(a)
        } else if let o = try? c.decode([String: JSONValue].self) {
            self = .object(o.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
        } else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "not a JSON value")
        }
    }
}
