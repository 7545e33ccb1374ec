import Foundation
import Runtime

extension LoadedModel {
    /// Embeds `texts`: one L2-normalised vector per text, in order (see ``LoadedModel/embed(_:)``
    /// for pooling and truncation).
    ///
    /// ```swift
    /// let model = try await SwiftLM.load("all-minilm:22m")
    /// let v = try await model.embed(["How do I reset my password?", "Forgot password steps"])
    /// let similarity = zip(v[0], v[1]).reduce(0) { $0 + $1.0 * $1.1 }  // cosine: the vectors are unit length
    /// ```
    ///
    /// The forward pass is CPU bound, so it runs on a thread of its own rather than on the caller's task.
    public func embed(_ texts: [String]) async throws -> [[Float]] {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[[Float]], Error>) in
            let thread = Thread { [self] in
                do {
                    let vectors: [[Float]] = try self.embed(texts)
                    continuation.resume(returning: vectors)
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.start()
        }
    }
}
