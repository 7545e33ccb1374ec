import GGUF

/// Errors from the Kernels module.
public enum KernelsError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The tensor's type has no kernel here (IQ*, TQ*, MXFP4, integer types, ...).
    case unsupportedType(tensor: String, type: GGMLType)
    /// A weight's shape does not fit its type (a row that is not a whole number of blocks, a negative size).
    case badShape(tensor: String, rows: Int, cols: Int, type: GGMLType)

    public var description: String {
        switch self {
        case let .unsupportedType(tensor, type):
            return "tensor '\(tensor)' has type \(type.name), which SwiftLM cannot compute with yet; "
                + "supported types: \(WeightMatrix.supportedTypes.map(\.name).joined(separator: ", ")). "
                + "Use a GGUF quantized with one of those (for example Q4_K_M or Q8_0)."
        case let .badShape(tensor, rows, cols, type):
            return "tensor '\(tensor)' of type \(type.name) has shape \(rows) x \(cols), but each row must hold "
                + "a whole number of \(type.blockSize)-element blocks; the file is corrupt or was written by a buggy tool."
        }
    }
}
