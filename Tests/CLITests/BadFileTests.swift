import Foundation
import Testing
import TestSupport

/// `swiftlm show` on files that are not (whole) GGUF models: exit status 1 and exactly one
/// `error: ...` line on stderr, never a crash, a stack trace or output on stdout.
@Suite struct BadFileTests {
    static let tiny = GGUFWriter(metadata: [
        ("general.architecture", .string("llama")), ("tokenizer.ggml.tokens", .array(.strings(["a", "b"]))),
    ], tensors: [.init(name: "token_embd.weight", dimensions: [32, 2], type: .q8_0)])

    func expectOneLineError(_ path: String, mentioning words: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let r = try runSwiftLM(["show", path])
        #expect(r.status == 1, "status \(r.status) for \(path)", sourceLocation: sourceLocation)
        #expect(r.stdout.isEmpty, "stdout: \(r.stdout)", sourceLocation: sourceLocation)
        let lines = r.stderr.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 2 && lines[1].isEmpty, "want one line, got: \(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr.hasPrefix("error: "), "\(r.stderr)", sourceLocation: sourceLocation)
        for bad in ["Fatal error", "Stack dump", "backtrace", "Crash"] {
            #expect(!r.stderr.contains(bad), "\(r.stderr)", sourceLocation: sourceLocation)
        }
        for word in words {
            #expect(r.stderr.lowercased().contains(word.lowercased()), "'\(word)' not in: \(r.stderr)", sourceLocation: sourceLocation)
        }
    }

    @Test func truncatedFile() throws {
        let dir = try makeTemporaryDirectory()
        defer { dir.cleanup() }
        let (bytes, layout) = Self.tiny.build()
        for (i, n) in [layout.headerEnd / 2, layout.headerEnd, bytes.count - 1].enumerated() {
            let path = dir.path + "/cut\(i).gguf"
            try Data(bytes[..<n]).write(to: URL(fileURLWithPath: path))
            try expectOneLineError(path, mentioning: ["truncated"])
        }
    }

    @Test func truncatedRealModel() throws {
        guard let model = try RealModels.pathOrSkip("smollm2:135m") else { return }
        let dir = try makeTemporaryDirectory()
        defer { dir.cleanup() }
        let handle = try #require(FileHandle(forReadingAtPath: model))
        for size in [1000, 3 << 20] {
            try handle.seek(toOffset: 0)
            let path = dir.path + "/partial-\(size).gguf"
            try #require(try handle.read(upToCount: size)).write(to: URL(fileURLWithPath: path))
            try expectOneLineError(path, mentioning: ["truncated"])
        }
        try handle.close()
    }

    @Test func corruptFiles() throws {
        let dir = try makeTemporaryDirectory()
        defer { dir.cleanup() }
        var bytes = Self.tiny.bytes()
        bytes[0] = UInt8(ascii: "X")
        try Data(bytes).write(to: URL(fileURLWithPath: dir.path + "/magic.gguf"))
        try expectOneLineError(dir.path + "/magic.gguf", mentioning: ["not a GGUF file"])

        var w = Self.tiny
        w.version = 7
        try w.write(to: dir.path + "/version.gguf")
        try expectOneLineError(dir.path + "/version.gguf", mentioning: ["version 7"])

        w = Self.tiny
        w.metadata.append(("general.architecture", .string("qwen2")))
        try w.write(to: dir.path + "/dup.gguf")
        try expectOneLineError(dir.path + "/dup.gguf", mentioning: ["general.architecture", "twice"])

        w = Self.tiny
        w.tensors[0].offset = 64
        try w.write(to: dir.path + "/offset.gguf")
        try expectOneLineError(dir.path + "/offset.gguf", mentioning: ["token_embd.weight"])

        // Tensor count field set to 2^60.
        bytes = Self.tiny.bytes()
        bytes.replaceSubrange(8 ..< 16, with: [0, 0, 0, 0, 0, 0, 0, 0x10])
        try Data(bytes).write(to: URL(fileURLWithPath: dir.path + "/count.gguf"))
        try expectOneLineError(dir.path + "/count.gguf", mentioning: ["tensor count"])
    }

    @Test func emptyFile() throws {
        let dir = try makeTemporaryDirectory()
        defer { dir.cleanup() }
        let path = dir.path + "/empty.gguf"
        try Data().write(to: URL(fileURLWithPath: path))
        try expectOneLineError(path, mentioning: ["empty"])
    }

    @Test func randomBytes() throws {
        let dir = try makeTemporaryDirectory()
        defer { dir.cleanup() }
        var rng = SplitMix64(seed: 42)
        for size in [1, 7, 100, 10_000] {
            let path = dir.path + "/random\(size).gguf"
            try Data((0 ..< size).map { _ in UInt8.random(in: 0 ... 255, using: &rng) }).write(to: URL(fileURLWithPath: path))
            try expectOneLineError(path, mentioning: [])
        }
        // Random bytes behind a valid magic and version get past the first checks.
        let path = dir.path + "/random-header.gguf"
        var bytes: [UInt8] = [0x47, 0x47, 0x55, 0x46, 3, 0, 0, 0]
        bytes += (0 ..< 4096).map { _ in UInt8.random(in: 0 ... 255, using: &rng) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        try expectOneLineError(path, mentioning: ["GGUF"])
    }

    @Test func directoryAndMissingFile() throws {
        let dir = try makeTemporaryDirectory()
        defer { dir.cleanup() }
        try expectOneLineError(dir.path, mentioning: [dir.path])
        try expectOneLineError(dir.path + "/missing.gguf", mentioning: ["missing.gguf"])
    }

    @Test func unknownModelName() throws {
        let dir = try makeTemporaryDirectory()
        defer { dir.cleanup() }
        let r = try runSwiftLM(["show", "no-such-model"], env: ["SWIFTLM_MODELS": dir.path])
        #expect(r.status == 1 && r.stderr.hasPrefix("error: ") && r.stderr.filter { $0 == "\n" }.count == 1, "\(r.stderr)")
    }
}
