import ArgumentParser
import SwiftLM

/// What this binary is: release, the commit it was built from, and the kernel path this CPU runs.
enum BuildInfo {
    /// The SwiftLM release this source tree is.
    static let version = "0.1.0"

    /// `git describe`-style commit recorded by the BuildInfo plugin at build time ("unknown" outside a
    /// git checkout; "-dirty" when tracked files had changes).
    static let commit = buildCommit

    /// The one-line form, for `swiftlm --version`.
    static var summary: String {
        "swiftlm \(version) (commit \(commit), kernels \(KernelPath.best))"
    }
}

struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "version", abstract: "Show the version, the commit it was built from, and the kernel path in use.")

    func run() throws {
        print("""
            swiftlm version \(BuildInfo.version)
            commit:  \(BuildInfo.commit)
            kernels: \(KernelPath.best) (chosen at run time from the CPU's features)
            threads: \(ThreadPool.defaultThreadCount) by default (\(ThreadPool.processorCount) CPUs online)
            """)
    }
}

struct CopyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cp", abstract: "Copy a model in the store to a new name (the file is shared, not duplicated).")

    @Argument(help: "The model to copy (e.g. smollm2:135m).")
    var source: String
    @Argument(help: "The new name, 'model' or 'model:tag'.")
    var destination: String

    func run() throws {
        let manifest = try ModelStore().copy(source, to: destination)
        print("copied '\(source)' to '\(manifest.name)'")
    }
}
