extension ModelStore {
    /// Registers `destination` as another name for the pulled model `source` (Ollama's `copy`). The
    /// two names share one blob; removing either keeps the blob while the other still names it.
    /// - Throws: ``StoreError/notInStore(name:)`` when `source` is not pulled, or
    ///   ``StoreError/invalidName(name:reason:)`` for a bad destination.
    public func copy(from source: String, to destination: String) throws(StoreError) {
        let from = try canonicalName(source)
        guard let manifest = try manifest(canonical: from) else { throw .notInStore(name: source) }
        try ModelName.validate(destination)
        let to = ModelName.hasTag(destination) ? destination : "\(destination):\(ModelName.defaultTag)"
        var copy = manifest
        copy.name = to
        copy.pulledAt = ModelManifest.now()
        try writeManifest(copy)
    }
}
