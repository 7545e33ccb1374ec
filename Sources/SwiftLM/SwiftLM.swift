// The public library: `import SwiftLM` brings every layer of the pipeline.
@_exported import GGUF
@_exported import Kernels
@_exported import Tokenizer
@_exported import Template
@_exported import Models
@_exported import Runtime
@_exported import Store
@_exported import Import
@_exported import Grammar
@_exported import JSON
