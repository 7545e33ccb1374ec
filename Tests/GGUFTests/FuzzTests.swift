import Foundation
import GGUF
import Testing
import TestSupport

/// Mutation fuzzing of the GGUF reader: every input must either load (and then satisfy the reader's
/// invariants) or throw a `GGUFError`; a crash fails the whole run.
///
/// Cases: `SWIFTLM_FUZZ_CASES`, else 12,000 in CI and 1,500 locally. Seed: `SWIFTLM_FUZZ_SEED`
/// (default fixed, so a failure reproduces). The long-running harness is in Fuzz/ (docs/FUZZING.md).
@Suite(.serialized) struct FuzzTests {
    static let environment = ProcessInfo.processInfo.environment
    static let caseCount = environment["SWIFTLM_FUZZ_CASES"].flatMap(Int.init) ?? (RealModels.isCI ? 12_000 : 1_500)
    static let seed = environment["SWIFTLM_FUZZ_SEED"].flatMap(UInt64.init) ?? 0x5EED_6600F
    /// One case in this many mutates a full-size real header (megabytes of vocabulary to parse).
    static let fullHeaderEvery = 100

    /// Mutates the real models' headers. Most cases use a compact copy of each header (every real
    /// key and tensor info, vocabulary arrays cut to 256 entries) so that 10,000+ cases fit in CI's
    /// budget; a share run on the untouched first megabytes of the real file.
    @Test func mutatedRealModelHeaders() throws {
        var corpus: [FuzzSeed] = []
        for model in ["smollm2:135m", "qwen2.5-coder:0.5b", "gemma3:270m"] {
            guard let path = try RealModels.pathOrSkip(model) else { continue }
            corpus += try FuzzSeed.fromRealModel(path: path)
        }
        corpus += FuzzSeed.synthetic()
        var rng = SplitMix64(seed: Self.seed)
        var stats = FuzzStats()
        let start = Date()
        let dir = try makeTemporaryDirectory("swiftlm-fuzz")
        defer { dir.cleanup() }
        let fullSeeds = corpus.filter(\.isFullHeader), compactSeeds = corpus.filter { !$0.isFullHeader }
        var fullTime = Duration.zero
        for i in 0 ..< Self.caseCount {
            // The full-size headers take ~1000x longer to parse than the compact ones: ration them.
            let full = i % Self.fullHeaderEvery == 0 && !fullSeeds.isEmpty
            let caseStart = ContinuousClock.now
            defer { if full { fullTime += ContinuousClock.now - caseStart } }
            let seed = (full ? fullSeeds : compactSeeds).randomElement(using: &rng)!
            let input = Mutator.mutate(seed, using: &rng)
            // Every 200th case goes through the file path (open + mmap) instead of the in-memory copy.
            if i % 200 == 0 {
                let path = dir.path + "/case.gguf"
                try Data(input).write(to: URL(fileURLWithPath: path))
                stats.record(check { () throws(GGUFError) in try GGUFFile(path: path) })
            } else {
                stats.record(check { () throws(GGUFError) in try GGUFFile(copying: input) })
            }
        }
        let seconds = Date().timeIntervalSince(start)
        print("GGUF fuzz: \(Self.caseCount) mutated cases from \(corpus.count) seeds in \(String(format: "%.1f", seconds)) s (\(fullTime) on full headers), seed \(Self.seed): \(stats)")
        #expect(stats.total == Self.caseCount)
        #expect(stats.loaded > 0, "no mutated file loaded: the mutations are too destructive to test the success path")
        #expect(stats.errors.count > 5, "too few distinct errors: \(stats)")
    }

    @Test func randomBytes() {
        var rng = SplitMix64(seed: Self.seed ^ 0xA5A5)
        var stats = FuzzStats()
        for i in 0 ..< Self.caseCount / 4 {
            var bytes = (0 ..< Int.random(in: 0 ... 2048, using: &rng)).map { _ in UInt8.random(in: 0 ... 255, using: &rng) }
            // Most random files die at the magic; give half of them a valid magic and version.
            if i % 2 == 0, bytes.count >= 8 {
                bytes.replaceSubrange(0 ..< 8, with: [0x47, 0x47, 0x55, 0x46, UInt8.random(in: 2 ... 3, using: &rng), 0, 0, 0])
            }
            stats.record(check { () throws(GGUFError) in try GGUFFile(copying: bytes) })
        }
        print("GGUF random-bytes fuzz: \(stats)")
        #expect(stats.total == Self.caseCount / 4)
    }
}

/// Loads through `open` and checks what a successful load promises: every tensor lies inside the
/// file, aligned, and the summary can be computed. (Plain conditions + `Issue.record`: `#expect`
/// in this loop would dominate the run time.)
func check(_ open: () throws(GGUFError) -> GGUFFile) -> Result<Void, GGUFError> {
    let file: GGUFFile
    do {
        file = try open()
    } catch {
        let message = error.description
        if message.isEmpty || message.contains(where: \.isNewline) { Issue.record("bad message: \(message)") }
        return .failure(error)
    }
    if !file.tensors.isEmpty, file.dataOffset % file.alignment != 0 || file.dataOffset > file.fileSize {
        Issue.record("data section at \(file.dataOffset) in a \(file.fileSize)-byte file, alignment \(file.alignment)")
    }
    for t in file.tensors {
        let (end, overflow) = (file.dataOffset + t.offset).addingReportingOverflow(t.byteCount)
        if t.offset % file.alignment != 0 || t.offset < 0 || t.byteCount < 0 || overflow || end > file.fileSize
            || t.type.byteCount(elements: t.elementCount) != t.byteCount {
            Issue.record("tensor \(t.name) accepted with offset \(t.offset), \(t.byteCount) bytes, file \(file.fileSize)")
        }
    }
    let summary = ModelSummary(file)
    if summary.tensorCount != file.tensors.count || summary.parameters < 0 { Issue.record("summary \(summary)") }
    _ = summary.parameterLabel
    return .success(())
}

struct FuzzStats: CustomStringConvertible {
    var loaded = 0
    var errors: [String: Int] = [:]
    var total: Int { loaded + errors.values.reduce(0, +) }

    mutating func record(_ result: Result<Void, GGUFError>) {
        switch result {
        case .success: loaded += 1
        case let .failure(e): errors[Mirror(reflecting: e).children.first?.label ?? "\(e)", default: 0] += 1
        }
    }

    var description: String {
        "\(loaded) loaded, " + errors.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
    }
}
