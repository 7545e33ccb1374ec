import GGUF
import Kernels

extension TransformerModel {
    /// The loading steps every decoder architecture shares, around the two it supplies: decodes the common
    /// hyperparameters of `architecture`, lets `configure` read the architecture's own metadata (and tensors
    /// that are configuration, such as RoPE factors), validates, binds the output tensors and each layer's
    /// block through `block` (tensors by name, shape-checked), refuses tensors nothing bound, and builds the model.
    static func load(_ gguf: GGUFFile, pool: ThreadPool, architecture: String, ropeNeox: Bool,
                     configure: (inout TransformerConfig, MetadataReader, WeightBinder) throws(ModelError) -> Void = { _, _, _ in },
                     block: (WeightBinder, _ layer: Int, TransformerConfig) throws(ModelError) -> any TransformerBlock)
        throws(ModelError) -> TransformerModel {
        let m = MetadataReader(gguf: gguf, arch: architecture)
        let binder = WeightBinder(gguf: gguf)
        var config = try TransformerConfig.common(m, ropeNeox: ropeNeox)
        try configure(&config, m, binder)
        try config.validate()
        let globals = try binder.globals(config)
        var layers: [any TransformerBlock] = []
        layers.reserveCapacity(config.layerCount)
        for i in 0 ..< config.layerCount { layers.append(try block(binder, i, config)) }
        try binder.requireEverythingBound()
        return TransformerModel(config: config, gguf: gguf, pool: pool, globals: globals, layers: layers)
    }
}
