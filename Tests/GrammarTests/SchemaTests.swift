import Foundation
import Grammar
import Testing

/// The JSON Schema converter, keyword by keyword: each schema with outputs it must accept and reject.
/// Accepting strings are checked by both the engine and the independent Earley recognizer.
@Suite struct SchemaTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var keyword: String
        var schema: String
        var accept: [String]
        var reject: [String]
        var testDescription: String { keyword }
    }

    static let cases: [Case] = [
        Case(keyword: "type string", schema: #"{"type":"string"}"#, accept: [#""hi""#, #""a\"b\\c\u00e9""#, #""""#], reject: [#"1"#, #""a"#, "\"a\nb\""]),
        Case(keyword: "type number", schema: #"{"type":"number"}"#, accept: ["0", "-1.5", "2e10", "3.25E-2"], reject: ["01", "1.", "+1", "\"1\""]),
        Case(keyword: "type integer", schema: #"{"type":"integer"}"#, accept: ["0", "-12", "123456"], reject: ["1.0", "-", "007"]),
        Case(keyword: "type boolean", schema: #"{"type":"boolean"}"#, accept: ["true", "false"], reject: ["True", "1"]),
        Case(keyword: "type null", schema: #"{"type":"null"}"#, accept: ["null"], reject: ["nil", "\"null\""]),
        Case(keyword: "type list", schema: #"{"type":["string","null"]}"#, accept: [#""x""#, "null"], reject: ["1"]),
        Case(keyword: "properties+required", schema: #"{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string"}},"required":["a","b"]}"#,
             accept: [#"{"a":1,"b":"x"}"#, #"{ "a": 1, "b": "x" }"#], reject: [#"{"a":1}"#, #"{"b":"x","a":1}"#, #"{"a":"1","b":"x"}"#]),
        Case(keyword: "optional properties", schema: #"{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"integer"},"c":{"type":"integer"}},"required":["b"]}"#,
             accept: [#"{"b":1}"#, #"{"b":1,"a":2}"#, #"{"b":1,"c":3}"#, #"{"b":1,"a":2,"c":3}"#], reject: [#"{}"#, #"{"a":2}"#, #"{"b":1,"c":3,"a":2}"#, #"{"b":1,}"#]),
        Case(keyword: "no required", schema: #"{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"integer"}}}"#,
             accept: ["{}", #"{"a":1}"#, #"{"b":2}"#, #"{"a":1,"b":2}"#], reject: [#"{,"b":2}"#, #"{"c":1}"#]),
        Case(keyword: "additionalProperties false", schema: #"{"type":"object","additionalProperties":false}"#, accept: ["{}"], reject: [#"{"a":1}"#]),
        Case(keyword: "additionalProperties schema", schema: #"{"type":"object","additionalProperties":{"type":"integer"}}"#,
             accept: ["{}", #"{"x":1,"y":2}"#], reject: [#"{"x":"1"}"#]),
        Case(keyword: "object without properties", schema: #"{"type":"object"}"#, accept: ["{}", #"{"x":[1,{"y":null}]}"#], reject: ["[]"]),
        Case(keyword: "items", schema: #"{"type":"array","items":{"type":"integer"}}"#, accept: ["[]", "[1]", "[1, 2,3]"], reject: ["[1,]", #"["a"]"#]),
        Case(keyword: "minItems/maxItems", schema: #"{"type":"array","items":{"type":"boolean"},"minItems":2,"maxItems":3}"#,
             accept: ["[true,false]", "[true,true,true]"], reject: ["[true]", "[true,true,true,true]", "[]"]),
        Case(keyword: "prefixItems", schema: #"{"type":"array","prefixItems":[{"type":"string"},{"type":"integer"}]}"#,
             accept: [#"["a",1]"#], reject: [#"[1,"a"]"#, #"["a",1,2]"#]),
        Case(keyword: "draft-4 tuple items", schema: #"{"type":"array","items":[{"type":"integer"},{"type":"null"}]}"#, accept: ["[1,null]"], reject: ["[1]"]),
        Case(keyword: "enum", schema: #"{"enum":["red","green",3,null,{"a":[1]}]}"#, accept: [#""red""#, "3", "null", #"{"a":[1]}"#], reject: [#""blue""#, "4"]),
        Case(keyword: "const", schema: #"{"const":"v1"}"#, accept: [#""v1""#], reject: [#""v2""#]),
        Case(keyword: "anyOf", schema: #"{"anyOf":[{"type":"integer"},{"type":"string","maxLength":2}]}"#, accept: ["1", #""ab""#], reject: [#""abc""#, "true"]),
        Case(keyword: "oneOf", schema: #"{"oneOf":[{"type":"boolean"},{"type":"null"}]}"#, accept: ["true", "null"], reject: ["0"]),
        Case(keyword: "allOf", schema: #"{"allOf":[{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]},{"properties":{"b":{"type":"string"}},"required":["b"]}]}"#,
             accept: [#"{"a":1,"b":"x"}"#], reject: [#"{"a":1}"#, #"{"b":"x"}"#]),
        Case(keyword: "$ref/$defs", schema: ##"{"$defs":{"p":{"type":"object","properties":{"x":{"type":"number"}},"required":["x"]}},"type":"array","items":{"$ref":"#/$defs/p"}}"##,
             accept: [#"[{"x":1},{"x":2.5}]"#], reject: [#"[{"y":1}]"#]),
        Case(keyword: "definitions + recursion", schema: ##"{"definitions":{"node":{"type":"object","properties":{"v":{"type":"integer"},"next":{"anyOf":[{"$ref":"#/definitions/node"},{"type":"null"}]}},"required":["v","next"]}},"$ref":"#/definitions/node"}"##,
             accept: [#"{"v":1,"next":{"v":2,"next":null}}"#], reject: [#"{"v":1,"next":{"v":2}}"#]),
        Case(keyword: "pattern", schema: #"{"type":"string","pattern":"^[A-Z]{2}-\\d{3}(x|yz)?$"}"#, accept: [#""AB-123""#, #""QQ-000yz""#], reject: [#""A-123""#, #""AB-12""#, #""AB-123y""#]),
        Case(keyword: "pattern classes", schema: #"{"type":"string","pattern":"^\\w+@[^@\\s]+\\.com$"}"#, accept: [#""a_1@x.y.com""#], reject: [#""@x.com""#, #""a@b@c.com""#]),
        Case(keyword: "format date", schema: #"{"type":"string","format":"date"}"#, accept: [#""2024-02-28""#, #""1999-12-31""#], reject: [#""2024-13-01""#, #""2024-02-30""#, #""24-01-01""#]),
        Case(keyword: "format time", schema: #"{"type":"string","format":"time"}"#, accept: [#""23:59:59Z""#, #""08:00:00.5+02:00""#], reject: [#""24:00:00Z""#, #""12:00""#]),
        Case(keyword: "format date-time", schema: #"{"type":"string","format":"date-time"}"#, accept: [#""2024-01-31T12:30:00Z""#], reject: [#""2024-01-31 12:30:00Z""#]),
        Case(keyword: "format uuid", schema: #"{"type":"string","format":"uuid"}"#, accept: [#""123e4567-e89b-12d3-a456-426614174000""#], reject: [#""123e4567e89b12d3a456426614174000""#]),
        Case(keyword: "minLength/maxLength", schema: #"{"type":"string","minLength":2,"maxLength":3}"#, accept: [#""ab""#, #""abc""#, #""é☃""#], reject: [#""a""#, #""abcd""#]),
        Case(keyword: "minimum/maximum integer", schema: #"{"type":"integer","minimum":-5,"maximum":120}"#,
             accept: ["-5", "-1", "0", "7", "99", "100", "120"], reject: ["-6", "121", "200", "1000", "-10"]),
        Case(keyword: "exclusive integer bounds", schema: #"{"type":"integer","exclusiveMinimum":0,"exclusiveMaximum":10}"#, accept: ["1", "9"], reject: ["0", "10"]),
        Case(keyword: "minimum only", schema: #"{"type":"integer","minimum":18}"#, accept: ["18", "99", "100", "123456"], reject: ["17", "5", "-1"]),
        Case(keyword: "maximum only", schema: #"{"type":"integer","maximum":3}"#, accept: ["3", "0", "-1000"], reject: ["4", "10"]),
        Case(keyword: "number bounds", schema: #"{"type":"number","minimum":0,"maximum":5}"#, accept: ["0", "4.99", "5", "0.5", "3"], reject: ["-0.1", "5.5", "6", "-1"]),
        Case(keyword: "number exclusiveMinimum", schema: #"{"type":"number","exclusiveMinimum":0}"#, accept: ["0.01", "1", "250.5"], reject: ["0", "0.000", "-1"]),
        Case(keyword: "number negative range", schema: #"{"type":"number","minimum":-90,"maximum":90}"#, accept: ["-90", "-45.5", "0", "89.999", "90"], reject: ["-90.5", "90.1", "100"]),
    ]

    @Test(arguments: cases)
    func keyword(_ c: Case) throws {
        let gbnf = try JSONSchemaGrammar.gbnf(schema: c.schema)
        let g = try Grammar(gbnf: gbnf)
        let earley = EarleyRecognizer(try GBNFParser.parse(gbnf))
        for s in c.accept {
            #expect(Recognizer.matches(g, s), "should accept \(s)\n\(gbnf)")
            #expect(earley.recognizes(s), "earley should accept \(s)")
        }
        for s in c.reject { #expect(!Recognizer.matches(g, s), "should reject \(s)\n\(gbnf)") }
    }

    @Test func anyJSONHasAnObjectAtTheTop() throws {
        let g = try Grammar(gbnf: JSONSchemaGrammar.anyJSONObject)
        #expect(Recognizer.matches(g, #"{"a": [1, {"b": null}], "c": "d"}"#))
        #expect(!Recognizer.matches(g, "[1]"))
        #expect(!Recognizer.matches(g, "\"x\""))
    }

    @Test(arguments: [
        (#"{"type":"array","uniqueItems":true}"#, "uniqueItems"),
        (#"{"not":{"type":"string"}}"#, "not"),
        (#"{"type":"object","patternProperties":{"^x":{}}}"#, "patternProperties"),
        (#"{"type":"number","multipleOf":5}"#, "multipleOf"),
        (#"{"if":{},"then":{}}"#, "if"),
        (#"{"type":"string","format":"ipv6"}"#, "format"),
        (#"{"type":"string","pattern":"^(?=a)b$"}"#, "pattern"),
        (#"{"type":"string","pattern":"(a)\\1"}"#, "pattern"),
        (#"{"$ref":"https://example.com/s.json"}"#, "$ref"),
        (#"{"type":"number","minimum":0.5}"#, "minimum"),
        (#"{"type":"object","properties":{"a":{"type":"object","minProperties":1}}}"#, "minProperties"),
    ])
    func unsupportedKeywordsAreLoud(schema: String, keyword: String) {
        let error = grammarError { _ = try JSONSchemaGrammar.gbnf(schema: schema) }
        guard case let .unsupportedSchema(k, _, _)? = error else { Issue.record("\(String(describing: error))"); return }
        #expect(k == keyword)
    }

    @Test func invalidSchemasNameThePlace() throws {
        #expect(grammarError { _ = try JSONSchemaGrammar.gbnf(schema: "{") } != nil)
        let error = grammarError { _ = try JSONSchemaGrammar.gbnf(schema: #"{"type":"object","properties":{"a":{"type":"strin"}}}"#) }
        guard case let .invalidSchema(path, reason)? = error else { Issue.record("\(String(describing: error))"); return }
        #expect(path == "/properties/a/type")
        #expect(reason.contains("strin"))
    }
}

/// The grammar error `body` throws, nil if it throws none.
func grammarError(_ body: () throws -> Void) -> GrammarError? {
    do {
        try body()
        return nil
    } catch {
        return error as? GrammarError
    }
}
