import GGUF
import Kernels

extension TransformerModel {
    /// Decodes the common hyperparameters of `architecture`, lets the architecture adjust them,
    /// validates them, then binds every tensor (shape-checked; `bind` for architecture-specific ones), refuses
    /// tensors nothing bound, and builds the model.
    static func load(_ gguf: GGUFFile, pool: ThreadPool, architecture: String, ropeNeox: Bool,
                     activation: TransformerConfig.Activation, layout: BlockTensors,
                     adjust: (inout TransformerConfig, MetadataReader) throws(ModelError) -> Void = { _, _ in },
                     bind: (inout TransformerConfig, WeightBinder, MetadataReader) throws(ModelError) -> Void = { _, _, _ in })
        throws(ModelError) -> TransformerModel {
        let m = MetadataReader(gguf: gguf, arch: architecture)
        var config = try TransformerConfig.common(m, ropeNeox: ropeNeox, activation: activation)
        try adjust(&config, m)
        try config.validate()
        let binder = WeightBinder(gguf: gguf)
        config.ropeFactors = try binder.optionalVector(GGUFTensorName.ropeFrequencies, count: config.rotaryDims / 2,
                                                        layout.ropeFrequencies)
        // Config that lives in tensors (LongRoPE's factors).
        try bind(&config, binder, m)
        let globals = try binder.globals(config)
        var layers: [LayerWeights] = []
        layers.reserveCapacity(config.layerCount)
        for i in 0 ..< config.layerCount { layers.append(try binder.layer(i, config, layout)) }
        try binder.requireEverythingBound()
        return TransformerModel(config: config, gguf: gguf, pool: pool, globals: globals, layers: layers)
    }
}
