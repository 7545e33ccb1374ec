/// A metadata value. GGUF value type ids: 0 u8, 1 i8, 2 u16, 3 i16, 4 u32, 5 i32, 6 f32, 7 bool,
/// 8 string, 9 array, 10 u64, 11 i64, 12 f64.
public indirect enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case float32(Float), bool(Bool), string(String), uint64(UInt64), int64(Int64), float64(Double)
    /// An array. Arrays of scalars and strings are kept typed (tokenizer vocabularies hold
    /// hundreds of thousands of entries); arrays of arrays hold nested values.
    case array(GGUFArray)

    /// The value as an integer if it is any integer type (or a bool) and fits in `Int`.
    public var intValue: Int? {
        switch self {
        case let .uint8(v): return Int(v)
        case let .int8(v): return Int(v)
        case let .uint16(v): return Int(v)
        case let .int16(v): return Int(v)
        case let .uint32(v): return Int(v)
        case let .int32(v): return Int(v)
        case let .uint64(v): return Int(exactly: v)
        case let .int64(v): return Int(v)
        case let .bool(v): return v ? 1 : 0
        default: return nil
        }
    }

    public var doubleValue: Double? {
        switch self {
        case let .float32(v): return Double(v)
        case let .float64(v): return v
        default: return intValue.map(Double.init)
        }
    }

    public var boolValue: Bool? {
        if case let .bool(v) = self { return v }
        return nil
    }

    public var stringValue: String? {
        if case let .string(v) = self { return v }
        return nil
    }

    public var arrayValue: GGUFArray? {
        if case let .array(v) = self { return v }
        return nil
    }

    /// The value type's name as the GGUF spec spells it, for messages.
    public var typeName: String {
        switch self {
        case .uint8: return "UINT8"
        case .int8: return "INT8"
        case .uint16: return "UINT16"
        case .int16: return "INT16"
        case .uint32: return "UINT32"
        case .int32: return "INT32"
        case .float32: return "FLOAT32"
        case .bool: return "BOOL"
        case .string: return "STRING"
        case .uint64: return "UINT64"
        case .int64: return "INT64"
        case .float64: return "FLOAT64"
        case let .array(a): return "ARRAY[\(a.elementTypeName)]"
        }
    }
}

/// A typed GGUF array.
public enum GGUFArray: Sendable, Equatable {
    case integers([Int64], type: UInt32)
    /// u64 arrays whose values exceed Int64 are kept exactly.
    case unsigned64([UInt64])
    case floats([Double], type: UInt32)
    case bools([Bool])
    case strings([String])
    case arrays([GGUFArray])

    public var count: Int {
        switch self {
        case let .integers(v, _): return v.count
        case let .unsigned64(v): return v.count
        case let .floats(v, _): return v.count
        case let .bools(v): return v.count
        case let .strings(v): return v.count
        case let .arrays(v): return v.count
        }
    }

    public var elementTypeName: String {
        switch self {
        case let .integers(_, t), let .floats(_, t): return GGUFArray.typeNames[Int(t)]
        case .unsigned64: return "UINT64"
        case .bools: return "BOOL"
        case .strings: return "STRING"
        case .arrays: return "ARRAY"
        }
    }

    static let typeNames = ["UINT8", "INT8", "UINT16", "INT16", "UINT32", "INT32", "FLOAT32", "BOOL",
                            "STRING", "ARRAY", "UINT64", "INT64", "FLOAT64"]
}
