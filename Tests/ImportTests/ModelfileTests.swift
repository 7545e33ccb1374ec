import GGUF
import Import
import Testing

@Suite struct ModelfileTests {
    @Test func parsesOllamaStyleInstructions() throws {
        let text = """
        # a comment
        FROM ./my-model
        parameter temperature 0.7
        PARAMETER stop "<|end|>"
        PARAMETER stop "<|user|>"
        SYSTEM \"\"\"You are
        helpful.\"\"\"
        TEMPLATE "{{ messages }}"
        """
        let m = try Modelfile(parsing: text)
        #expect(m.from == "./my-model")
        #expect(m.system == "You are\nhelpful.")
        #expect(m.template == "{{ messages }}")
        #expect(m.parameters == [.init(name: "temperature", value: "0.7"), .init(name: "stop", value: "<|end|>"),
                                 .init(name: "stop", value: "<|user|>")])
        let meta = m.metadata
        #expect(meta.map(\.key) == [GGUFKey.modelfileSystem, GGUFKey.modelfileParameter("temperature"), GGUFKey.modelfileParameter("stop")])
        #expect(meta[2].value == .array(.strings(["<|end|>", "<|user|>"])))
    }

    @Test(arguments: ["PARAMETER temprature 1\nFROM x", "SYSTEM hi", "FROM x\nSYSTEM \"\"\"open", "FROM x\nADAPTER y", "FROM x\nBOGUS 1", "FROM x\nPARAMETER temperature hot", "FROM x\nPARAMETER num_ctx 1.5"])
    func rejectsBadModelfiles(_ text: String) {
        #expect(throws: ImportError.self) { try Modelfile(parsing: text) }
    }
}
