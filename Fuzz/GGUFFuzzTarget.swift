// libFuzzer entry point for the GGUF reader. Compiled together with Sources/GGUF into one module by
// Fuzz/run-gguf-fuzzer.sh (so no `import GGUF`); see docs/FUZZING.md.
//
// Contract checked on every input: opening either throws a GGUFError or returns a file whose
// tensors all lie inside it; the summary `swiftlm show` prints can always be computed.
// A trap, an out-of-bounds read (AddressSanitizer) or a leak is a finding.

/// Written so the optimizer cannot drop the probing loads. libFuzzer calls us on one thread.
nonisolated(unsafe) var fuzzSink: UInt8 = 0

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGGUF(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let file: GGUFFile
    do {
        file = try GGUFFile(copying: bytes)
    } catch {
        // Every error must render as one non-empty line (the CLI prints it as `error: ...`).
        let message = error.description
        if message.isEmpty || message.contains("\n") { fatalError("bad message for \(error)") }
        return 0
    }
    for t in file.tensors {
        let end = file.dataOffset + t.offset + t.byteCount
        if t.offset % file.alignment != 0 || end > file.fileSize { fatalError("tensor \(t.name) escapes the file") }
        // Touch the first and last byte so AddressSanitizer sees any mis-computed bounds.
        if t.byteCount > 0 {
            let p = file.data(for: t)
            fuzzSink ^= p.load(as: UInt8.self) ^ p.load(fromByteOffset: t.byteCount - 1, as: UInt8.self)
        }
    }
    let summary = ModelSummary(file)
    _ = summary.parameterLabel
    for (_, value) in file.metadata { _ = value.typeName }
    return 0
}
