// swift-tools-version:6.0
import PackageDescription

// Release builds of the kernels need the CPU's vector units; the C target picks AVX2 / AVX-512 paths
// at run time (see Sources/CKernels), so no -march flag is set for the whole package.
let package = Package(
    name: "SwiftLM",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "SwiftLM", targets: ["SwiftLM"]),
        .executable(name: "swiftlm", targets: ["swiftlm"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // Test-only: the server tests' HTTP client (its deadline is ours to choose).
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        // File format: memory-mapped GGUF reader, ggml type table, every GGUF key / tensor name.
        .target(name: "GGUF"),
        // Innermost SIMD loops in C (AVX2, AVX-512 VNNI, NEON), dispatched at run time.
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3"])]),
        // Quant block layouts, scalar references, dispatch to CKernels, thread pool, mat-vec / mat-mat.
        .target(name: "Kernels", dependencies: ["CKernels", "GGUF"]),
        // Text <-> token ids: byte-level BPE and SentencePiece, from GGUF metadata.
        .target(name: "Tokenizer", dependencies: ["GGUF"]),
        // One JSON value type, strict parser and serializer for the grammar, templates and server.
        .target(name: "JSON"),
        // Jinja2 engine for chat templates.
        .target(name: "Template", dependencies: ["GGUF", "JSON"]),
        // Architectures (llama, qwen2, gemma3): config from metadata, weight binding, forward pass.
        .target(name: "Models", dependencies: ["GGUF", "Kernels"]),
        // Constrained sampling: GBNF and JSON Schema grammars, byte-level recognizer, cached token masks.
        .target(name: "Grammar", dependencies: ["JSON"]),
        // KV cache, sampling, generation loop, chat sessions.
        .target(name: "Runtime", dependencies: ["GGUF", "Kernels", "Models", "Tokenizer", "Template", "Grammar", "JSON"]),
        // Hugging Face folder (safetensors, config.json, tokenizer.json) -> GGUF, for `swiftlm create`.
        .target(name: "Import", dependencies: ["GGUF", "Kernels"]),
        // Model catalog, pull (pip / HTTP, converting Hugging Face packages), content-addressed store.
        .target(name: "Store", dependencies: [
            "GGUF", "Import",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "ZIPFoundation", package: "ZIPFoundation"),
        ]),
        // HTTP API (Ollama / OpenAI compatible) on Hummingbird: routes, model manager, metrics.
        .target(name: "Server", dependencies: [
            "Runtime", "Store", "GGUF", "Template", "Tokenizer", "JSON",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        // The public library: re-exports the modules and adds the high-level API.
        .target(name: "SwiftLM", dependencies: ["GGUF", "Kernels", "Tokenizer", "Template", "Models", "Runtime", "Store", "Import", "Grammar", "JSON"]),
        .executableTarget(name: "swiftlm", dependencies: [
            "SwiftLM", "Server",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ], plugins: ["BuildInfoPlugin"]),
        // Writes the git commit into the CLI for `swiftlm version`.
        .plugin(name: "BuildInfoPlugin", capability: .buildTool()),

        // Test-only helpers: a GGUF writer, model lookup for real-model tests.
        .target(name: "TestSupport", dependencies: ["GGUF", "Store"], path: "Tests/TestSupport"),
        .testTarget(name: "GGUFTests", dependencies: ["GGUF", "TestSupport"]),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "TokenizerTests", dependencies: ["Tokenizer", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "JSONTests", dependencies: ["JSON"]),
        .testTarget(name: "TemplateTests", dependencies: ["Template", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "Runtime", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "RuntimeTests", dependencies: ["Runtime", "SwiftLM", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "GrammarTests", dependencies: ["Grammar", "Runtime", "SwiftLM", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "StoreTests", dependencies: ["Store", "TestSupport"]),
        .testTarget(name: "ImportTests", dependencies: ["Import", "GGUF", "Kernels", "Models", "Tokenizer", "Runtime", "Store", "TestSupport",
                                                   .product(name: "Crypto", package: "swift-crypto")],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "CLITests", dependencies: ["TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "ServerTests", dependencies: [
            "Server", "TestSupport",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
        ]),
    ]
)
