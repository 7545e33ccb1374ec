import Foundation
import Import
import Testing

/// Folders the converter must refuse with a message that names the problem, writing nothing usable.
@Suite struct ConversionErrorTests {
    /// A copy of the tiny llama folder with `edit` applied.
    static func withEditedFolder(_ edit: (String) throws -> Void, _ body: (String) throws -> Void) throws {
        try ImportFixtures.withTemporaryDirectory { dir in
            let folder = dir + "/model"
            try FileManager.default.copyItem(atPath: ImportFixtures.url("tiny-llama").path, toPath: folder)
            try edit(folder)
            try body(folder)
        }
    }

    static func setConfig(_ folder: String, _ key: String, _ value: Any) throws {
        let path = folder + "/config.json"
        var config = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        config[key] = value
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: path))
    }

    @Test func unsupportedArchitectureIsNamed() throws {
        try Self.withEditedFolder({ try Self.setConfig($0, "architectures", ["MambaForCausalLM"]) }) { folder in
            let error = #expect(throws: ImportError.self) { try HFConverter.convert(directory: folder, to: folder + "/out.gguf") }
            #expect(error?.description.contains("MambaForCausalLM") == true)
            #expect(error?.description.contains("BertModel") == true)
        }
    }

    @Test func missingShardIsReported() throws {
        try Self.withEditedFolder({ try FileManager.default.removeItem(atPath: $0 + "/model-00002-of-00002.safetensors") }) { folder in
            let error = #expect(throws: ImportError.self) { try HFConverter.convert(directory: folder, to: folder + "/out.gguf") }
            #expect(error?.description.contains("model-00002-of-00002.safetensors") == true)
        }
    }

    @Test func corruptSafetensorsHeaderIsReported() throws {
        try Self.withEditedFolder({ folder in
            let path = folder + "/model-00001-of-00002.safetensors"
            var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            bytes[0] = 0xFF; bytes[1] = 0xFF; bytes[2] = 0xFF // header length beyond the file
            try Data(bytes).write(to: URL(fileURLWithPath: path))
        }) { folder in
            let error = #expect(throws: ImportError.self) { try HFConverter.convert(directory: folder, to: folder + "/out.gguf") }
            #expect(error?.description.contains("model-00001-of-00002.safetensors") == true)
        }
    }

    @Test func unknownTensorIsRefusedNotDropped() throws {
        try Self.withEditedFolder({ try Self.setConfig($0, "num_hidden_layers", 1) }) { folder in
            // Layer 1's weights now have no place in a 1-layer model.
            let error = #expect(throws: ImportError.self) { try HFConverter.convert(directory: folder, to: folder + "/out.gguf") }
            #expect(error?.description.contains("model.layers.1.") == true)
        }
    }

    @Test func notAFolder() {
        #expect(throws: ImportError.notADirectory("/nonexistent-swiftlm-folder")) {
            try HFConverter.convert(directory: "/nonexistent-swiftlm-folder", to: "/tmp/x.gguf")
        }
    }
}
