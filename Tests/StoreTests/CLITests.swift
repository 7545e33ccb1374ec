import Foundation
import Store
import Testing
import TestSupport

/// `swiftlm pull` / `list` / `rm` through the built binary, against a temporary store.
@Suite struct StoreCLITests {
    @Test func pullListRemoveThroughTheCLI() throws {
        let fixture = try HTTPFixture()
        defer { fixture.cleanup() }
        let env = ["SWIFTLM_MODELS": fixture.store.root]
        let digest = sha256Hex(fixture.body)

        let pull = try runSwiftLM(["pull", fixture.url, "--name", "tiny:q4", "--sha256", digest], env: env)
        #expect(pull.status == 0, "\(pull.stderr)")
        #expect(pull.stdout.contains("pulled tiny:q4"))
        #expect(pull.stderr.contains("pulling tiny:q4"), "plain progress lines when stderr is not a terminal")
        #expect(!pull.stderr.contains("\u{1B}["), "no terminal escapes in a log")

        let again = try runSwiftLM(["pull", fixture.url, "--name", "tiny:q4"], env: env)
        #expect(again.status == 0 && again.stdout.contains("already present"))

        let list = try runSwiftLM(["list"], env: env)
        #expect(list.status == 0)
        let lines = list.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 2)
        #expect(lines.first?.split(separator: " ", omittingEmptySubsequences: true) == ["NAME", "ID", "SIZE", "QUANTIZATION", "MODIFIED"])
        let row = lines.last?.split(separator: " ", omittingEmptySubsequences: true).map(String.init) ?? []
        #expect(row.prefix(5) == ["tiny:q4", String(digest.prefix(12)), "1.0", "MB", "Q4_K_M"])
        #expect(lines.last?.hasSuffix("ago") == true)

        // cp: a second name on the same blob, listed first (most recent), same ID.
        let cp = try runSwiftLM(["cp", "tiny:q4", "copy"], env: env)
        #expect(cp.status == 0 && cp.stdout.contains("copied 'tiny:q4' to 'copy:latest'"), "\(cp.stderr)")
        let cpAgain = try runSwiftLM(["cp", "tiny:q4", "copy"], env: env)
        #expect(cpAgain.status == 1 && cpAgain.stderr.contains("already exists"))
        let rmCopy = try runSwiftLM(["rm", "copy"], env: env)
        #expect(rmCopy.status == 0 && fixture.files("blobs").count == 1, "the original still uses the blob")

        // A model whose file is gone is marked, with what to do.
        try FileManager.default.moveItem(atPath: fixture.store.blobPath(sha256: digest), toPath: fixture.store.root + "/moved")
        let damaged = try runSwiftLM(["list"], env: env)
        #expect(damaged.status == 0 && damaged.stdout.contains("(damaged)"), "\(damaged.stdout)")
        #expect(damaged.stderr.contains("warning: tiny:q4 is damaged"))
        try FileManager.default.moveItem(atPath: fixture.store.root + "/moved", toPath: fixture.store.blobPath(sha256: digest))

        let rm = try runSwiftLM(["rm", "tiny:q4"], env: env)
        #expect(rm.status == 0 && rm.stdout.contains("deleted 'tiny:q4'"))
        #expect(fixture.files("blobs") == [] && fixture.files("manifests") == [])

        let rmAgain = try runSwiftLM(["rm", "tiny:q4"], env: env)
        #expect(rmAgain.status != 0)
        #expect(rmAgain.stderr.contains("model 'tiny:q4' is not in the store"))
    }

    @Test func killedPullRegistersNothingAndTheNextOneResumes() throws {
        let fixture = try HTTPFixture(body: sampleGGUF(floats: 1_000_000))
        defer { fixture.cleanup() }
        fixture.server.throttle(chunk: 16384, microseconds: 2000)
        let env = ProcessInfo.processInfo.environment.merging(["SWIFTLM_MODELS": fixture.store.root]) { $1 }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try swiftLMBinaryPath())
        process.arguments = ["pull", fixture.url]
        process.environment = env
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = fixture.store.root + "/partial/model:latest/data"
        let deadline = Date().addingTimeInterval(30)
        while (try? FileManager.default.attributesOfItem(atPath: data)[.size] as? Int) ?? 0 < 500_000,
              Date() < deadline, process.isRunning {
            usleep(20_000)
        }
        #expect(process.isRunning, "the throttled download should still be running")
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(fixture.files("manifests") == [] && fixture.files("blobs") == [])
        let kept = (try? FileManager.default.attributesOfItem(atPath: data)[.size] as? Int) ?? 0
        #expect(kept >= 500_000 && kept < fixture.body.count)

        fixture.server.throttle(chunk: 65536, microseconds: 0)
        let resumed = try runSwiftLM(["pull", fixture.url, "--sha256", sha256Hex(fixture.body)],
                                     env: ["SWIFTLM_MODELS": fixture.store.root])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let range = try #require(fixture.server.requests.last?.range)
        let offset = Int(range.dropFirst("bytes=".count).dropLast()) ?? 0
        #expect(offset >= kept, "resumed from the kept bytes, not from zero")
        #expect(try ModelStore(root: fixture.store.root).resolve("model").hasSuffix(sha256Hex(fixture.body)))
    }

    @Test func missingPythonIsOneActionableLine() throws {
        let dir = try makeTemporaryDirectory()
        defer { dir.cleanup() }
        let result = try runSwiftLM(["pull", "smollm2:135m"],
                                    env: ["SWIFTLM_MODELS": dir.path, "SWIFTLM_PYTHON": "/nonexistent/python3"])
        #expect(result.status != 0)
        let lines = result.stderr.split(separator: "\n").filter { !$0.hasPrefix("pulling") }
        #expect(lines.count == 1, "\(result.stderr)")
        #expect(lines.first?.contains("python3 was not found") == true)
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/manifests"))
    }

    @Test func missingPipIsOneActionableLine() throws {
        let dir = try makeTemporaryDirectory()
        defer { dir.cleanup() }
        // An interpreter without pip answers `-m pip` like this.
        let fake = dir.path + "/python-without-pip"
        try "#!/bin/sh\necho \"$0: No module named pip\" >&2\nexit 1\n".write(toFile: fake, atomically: true, encoding: .utf8)
        chmod(fake, 0o755)
        let result = try runSwiftLM(["pull", "gemma3"], env: ["SWIFTLM_MODELS": dir.path + "/m", "SWIFTLM_PYTHON": fake])
        #expect(result.status != 0)
        #expect(result.stderr.contains("-m pip' is not available: install pip"), "\(result.stderr)")
    }

    @Test func unknownNameAndBadFlags() throws {
        let dir = try makeTemporaryDirectory()
        defer { dir.cleanup() }
        let env = ["SWIFTLM_MODELS": dir.path]
        let unknown = try runSwiftLM(["pull", "llama9:70b"], env: env)
        #expect(unknown.status != 0 && unknown.stderr.contains("'llama9:70b' is not in the catalog"))
        #expect(unknown.stderr.contains("smollm2:135m") && unknown.stderr.contains("swiftlm pull https://"))
        let path = try runSwiftLM(["pull", "./model.gguf"], env: env)
        #expect(path.status != 0 && path.stderr.contains("is a file path: local .gguf files need no pull"))
        let flags = try runSwiftLM(["pull", "smollm2", "--sha256", String(repeating: "0", count: 64)], env: env)
        #expect(flags.status != 0 && flags.stderr.contains("only when pulling a URL"))
    }
}
