/// The declaration of one interface, as parsed from an IDL file.
struct InterfaceDecl: Equatable, Sendable {
    var name: String
    var id: UInt32
    var version: UInt32
    var operations: [OperationDecl]
    var location: SourceLocation
}

/// One operation: `op ID NAME(request fields) -> (reply fields) [idempotent]`.
struct OperationDecl: Equatable, Sendable {
    var id: UInt32
    var name: String
    var request: [FieldDecl]
    var reply: [FieldDecl]
    var idempotent: Bool
    var location: SourceLocation
}

struct FieldDecl: Equatable, Sendable {
    var name: String
    var type: IDLType
    var location: SourceLocation
}

/// The types of docs/idl.md and their wire encodings (docs/protocol.md §5).
indirect enum IDLType: Equatable, Sendable, CustomStringConvertible {
    case u8, u16, u32, u64, i32, i64, bool, bytes, string, shm, fd
    /// `[T]`: a u32 count then the elements; T is a fixed-width integer type.
    case array(IDLType)

    static let scalarNames: [String: IDLType] = [
        "u8": .u8, "u16": .u16, "u32": .u32, "u64": .u64, "i32": .i32, "i64": .i64,
        "bool": .bool, "bytes": .bytes, "string": .string, "shm": .shm, "fd": .fd
    ]

    var description: String {
        switch self {
        case .u8: return "u8"
        case .u16: return "u16"
        case .u32: return "u32"
        case .u64: return "u64"
        case .i32: return "i32"
        case .i64: return "i64"
        case .bool: return "bool"
        case .bytes: return "bytes"
        case .string: return "string"
        case .shm: return "shm"
        case .fd: return "fd"
        case .array(let t): return "[\(t)]"
        }
    }

    /// Bytes on the wire for fixed-width integers; nil for everything else.
    var fixedWidth: Int? {
        switch self {
        case .u8: return 1
        case .u16: return 2
        case .u32, .i32: return 4
        case .u64, .i64: return 8
        default: return nil
        }
    }
}
