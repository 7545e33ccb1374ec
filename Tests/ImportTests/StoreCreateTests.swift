import Foundation
import GGUF
import Import
import Runtime
import Store
import Testing

/// `swiftlm create` through the store: registered like a pull, Modelfile settings kept in the GGUF,
/// a failed conversion leaves nothing registered.
@Suite struct StoreCreateTests {
    @Test func createRegistersTheConvertedModelWithModelfileSettings() throws {
        try ImportFixtures.withTemporaryDirectory { dir in
            let modelfile = dir + "/Modelfile"
            let folder = try ImportFixtures.url("tiny-llama").path
            try """
            FROM \(folder)
            SYSTEM You are terse.
            PARAMETER temperature 0.2
            PARAMETER num_ctx 64
            PARAMETER stop "<|end|>"
            PARAMETER mirostat 0
            TEMPLATE \"\"\"{% for m in messages %}{{ m['content'] }}{% endfor %}\"\"\"
            """.write(toFile: modelfile, atomically: true, encoding: .utf8)
            let parsed = try Modelfile(path: modelfile)
            #expect(parsed.from == folder)
            let store = ModelStore(root: dir + "/store")
            let options = ConversionOptions(outputType: .q8_0, chatTemplate: parsed.template, extraMetadata: parsed.metadata)
            let result = try store.create("tiny", from: parsed.from, options: options)
            #expect(result.manifest.name == "tiny:latest")
            #expect(result.manifest.architecture == "llama" && result.manifest.quantization == "Q8_0")
            #expect(try store.resolve("tiny") == result.path)
            #expect(store.list().map(\.name) == ["tiny:latest"])
            let file = try GGUFFile(path: result.path)
            #expect(file.string(GGUFKey.name) == "tiny:latest")
            #expect(file.string(GGUFKey.chatTemplate) == "{% for m in messages %}{{ m['content'] }}{% endfor %}")
            #expect(file.string(GGUFKey.modelfileSystem) == "You are terse.")
            #expect(file.string(GGUFKey.modelfileParameter("temperature")) == "0.2")
            // What `swiftlm run` applies under its flags.
            let defaults = ModelDefaults(gguf: file)
            #expect(defaults.system == "You are terse.")
            #expect(defaults.options.sampling.temperature == 0.2)
            #expect(defaults.options.stopSequences == ["<|end|>"])
            #expect(defaults.contextLength == 64)
            #expect(defaults.options.sampling.topK == GenerationOptions().sampling.topK)
            // Nothing is left behind in partial/.
            #expect((try? FileManager.default.contentsOfDirectory(atPath: dir + "/store/partial/tiny:latest"))?.isEmpty ?? true)
        }
    }

    @Test func failedConversionRegistersNothing() throws {
        try ImportFixtures.withTemporaryDirectory { dir in
            let store = ModelStore(root: dir + "/store")
            #expect(throws: StoreError.self) { try store.create("broken", from: dir + "/no-such-folder") }
            #expect(store.list().isEmpty)
            #expect(Catalog.conversion(named: "all-minilm:22m")?.files.contains { $0.path == "model.safetensors" } == true)
            let canonical = try store.canonicalName("all-minilm")
            #expect(canonical == "all-minilm:22m")
        }
    }
}
