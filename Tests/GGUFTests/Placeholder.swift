import Testing
import GGUF
import Foundation

@Test func quickOpen() throws {
    for p in ["/work/models/smollm2-135m.gguf", "/work/models/qwen2.5-coder-0.5b.gguf", "/work/models/gemma3-270m.gguf"] {
        let t0 = Date()
        let f = try GGUFFile(path: p)
        print(p, Date().timeIntervalSince(t0), f.tensors.count, f.metadata.count, f.parameterCount, f.architecture ?? "-", f.array(GGUFKey.tokens)?.count ?? -1)
    }
}
