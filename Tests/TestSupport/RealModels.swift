import Foundation
import Store

/// Finds the real GGUF models for tests, through the same ``ModelStore`` the CLI uses
/// (`$SWIFTLM_MODELS`, else `~/.swiftlm/models`; `scripts/pull-test-models` fills it).
///
/// Tests that need a model must fail in CI (env `CI=true`) when it is missing, and may skip locally:
///
/// ```swift
/// @Test(.enabled(if: RealModels.shouldRun("qwen2.5-coder:0.5b")))
/// func greedyMatchesLlamaCpp() throws {
///     let path = try RealModels.path("qwen2.5-coder:0.5b")
///     ...
/// }
/// ```
///
/// or, inside a test body, `guard let path = try RealModels.pathOrSkip(name) else { return }`.
public enum RealModels {
    /// Why a real model could not be found, with the command that fixes it.
    public struct Missing: Error, CustomStringConvertible {
        public let name: String
        public let reason: String
        public var description: String {
            "real model '\(name)' is not available (\(reason)); run scripts/pull-test-models or 'swiftlm pull \(name)'"
        }
    }

    /// Whether this run is CI (env `CI=true`), where a missing model is a failure.
    public static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// Path of the pulled model's GGUF file; throws ``Missing`` when it is not in the store.
    public static func path(_ name: String) throws -> String {
        do {
            return try ModelStore().resolve(name)
        } catch {
            throw Missing(name: name, reason: error.description)
        }
    }

    /// Like ``path(_:)``, but returns nil (skip) when the model is missing and this is not CI.
    /// In CI a missing model throws, so the test fails.
    public static func pathOrSkip(_ name: String) throws -> String? {
        if isCI { return try path(name) }
        return try? path(name)
    }

    /// For `.enabled(if:)`: true when the model is present, and always in CI (so the test runs
    /// and fails there if the model is missing).
    public static func shouldRun(_ name: String) -> Bool {
        isCI || (try? path(name)) != nil
    }
}
