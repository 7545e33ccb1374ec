import Foundation

/// Why `runSwiftLM` could not run the binary at all (as opposed to the binary failing).
public enum CLIRunnerError: Error, CustomStringConvertible {
    case binaryNotFound(searched: String)
    case launchFailed(String)

    public var description: String {
        switch self {
        case let .binaryNotFound(dir):
            return "swiftlm binary not found in \(dir); run the tests with `swift test`, which builds every product"
        case let .launchFailed(reason): return "could not launch swiftlm: \(reason)"
        }
    }
}

/// The built `swiftlm` executable. `swift test` builds every product into the same directory as the
/// test runner (`.build/<config>/`), so the binary sits next to `/proc/self/exe`. `SWIFTLM_BIN`
/// overrides this, to test another build or an installed binary.
public func swiftLMBinaryPath() throws -> String {
    if let override = ProcessInfo.processInfo.environment["SWIFTLM_BIN"], !override.isEmpty {
        guard FileManager.default.isExecutableFile(atPath: override) else {
            throw CLIRunnerError.binaryNotFound(searched: override)
        }
        return override
    }
    let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    var dir = exe.deletingLastPathComponent()
    // On macOS the runner lives inside `X.xctest/Contents/MacOS/`; climb out of the bundle.
    while dir.path.contains(".xctest") { dir = dir.deletingLastPathComponent() }
    let candidate = dir.appendingPathComponent("swiftlm").path
    guard FileManager.default.isExecutableFile(atPath: candidate) else {
        throw CLIRunnerError.binaryNotFound(searched: dir.path)
    }
    return candidate
}

/// Runs the built `swiftlm` with `args`, returning its exit status and everything it printed.
///
/// - Parameters:
///   - env: variables added to (or overriding) the test process's environment.
///   - stdin: text fed to standard input; with nil the child reads an empty stdin (never the terminal).
/// - Returns: `status` is the exit code, or 128 + signal number if the process was killed by a signal
///   (so a crash shows up as e.g. 132 / 133 / 134 / 139, never as success).
public func runSwiftLM(_ args: [String], env: [String: String] = [:], stdin: String? = nil) throws
    -> (status: Int32, stdout: String, stderr: String)
{
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try swiftLMBinaryPath())
    process.arguments = args
    process.environment = ProcessInfo.processInfo.environment.merging(env) { _, new in new }

    // Temporary files instead of pipes: a chatty child can never deadlock against a full pipe
    // buffer while we wait for it, and no reader threads are needed.
    let tmp = FileManager.default.temporaryDirectory
        .appendingPathComponent("swiftlm-cli-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: tmp) }
    let inURL = tmp.appendingPathComponent("stdin")
    let outURL = tmp.appendingPathComponent("stdout")
    let errURL = tmp.appendingPathComponent("stderr")
    try Data((stdin ?? "").utf8).write(to: inURL)
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    let inHandle = try FileHandle(forReadingFrom: inURL)
    let outHandle = try FileHandle(forWritingTo: outURL)
    let errHandle = try FileHandle(forWritingTo: errURL)
    defer {
        try? inHandle.close()
        try? outHandle.close()
        try? errHandle.close()
    }
    process.standardInput = inHandle
    process.standardOutput = outHandle
    process.standardError = errHandle

    do {
        try process.run()
    } catch {
        throw CLIRunnerError.launchFailed("\(error)")
    }
    process.waitUntilExit()

    let status: Int32 = process.terminationReason == .uncaughtSignal
        ? 128 + process.terminationStatus
        : process.terminationStatus
    let out = String(decoding: try Data(contentsOf: outURL), as: UTF8.self)
    let err = String(decoding: try Data(contentsOf: errURL), as: UTF8.self)
    return (status, out, err)
}
