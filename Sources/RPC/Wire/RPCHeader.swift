/// The 40-byte message header of docs/protocol.md §2, with the validation
/// every receiver applies before it looks at a payload.
public struct RPCHeader: Equatable, Sendable {
    public static let size = 40
    public static let magic: UInt32 = 0x4B53_5548  // "HUSK" in little-endian bytes
    public static let protocolVersion: UInt16 = 1

    public var version: UInt16 = RPCHeader.protocolVersion
    public var flags: RPCFlags = []
    public var interface: UInt32 = 0
    public var operation: UInt32 = 0
    public var requestID: UInt64 = 0
    public var status: Int32 = 0
    public var payloadLength: UInt32 = 0
    public var fdCount: UInt16 = 0
    public var signal: UInt16 = 0

    public init(
        flags: RPCFlags = [], interface: UInt32, operation: UInt32, requestID: UInt64,
        status: Int32 = 0, payloadLength: UInt32 = 0, fdCount: UInt16 = 0, signal: UInt16 = 0
    ) {
        self.flags = flags
        self.interface = interface
        self.operation = operation
        self.requestID = requestID
        self.status = status
        self.payloadLength = payloadLength
        self.fdCount = fdCount
        self.signal = signal
    }

    /// Little-endian bytes of the header.
    public func encoded() -> [UInt8] {
        var w = PayloadWriter(capacity: RPCHeader.size)
        w.u32(RPCHeader.magic)
        w.u16(version)
        w.u16(flags.rawValue)
        w.u32(interface)
        w.u32(operation)
        w.u64(requestID)
        w.i32(status)
        w.u32(payloadLength)
        w.u16(fdCount)
        w.u16(signal)
        w.u32(0)
        return w.bytes
    }

    /// Decode and validate the header of a received message of `messageLength`
    /// bytes carrying `fdsReceived` descriptors. Never traps on any input.
    public static func decode(_ bytes: UnsafeRawBufferPointer, messageLength: Int, fdsReceived: Int) -> Result<RPCHeader, RPCWireError> {
        guard bytes.count >= size, messageLength >= size else { return .failure(.truncated) }
        var r = PayloadReader(bytes)
        guard let magic = r.u32(), let version = r.u16(), let flagBits = r.u16(),
            let interface = r.u32(), let operation = r.u32(), let requestID = r.u64(),
            let status = r.i32(), let length = r.u32(), let fdCount = r.u16(), let signal = r.u16(),
            let reserved = r.u32()
        else { return .failure(.truncated) }
        guard magic == RPCHeader.magic else { return .failure(.badMagic) }
        guard version == protocolVersion else { return .failure(.badVersion(version)) }
        guard flagBits & ~RPCFlags.all.rawValue == 0 else { return .failure(.badFlags(flagBits)) }
        guard reserved == 0 else { return .failure(.reservedNotZero) }
        guard Int(length) == messageLength - size else { return .failure(.lengthMismatch(declared: length, actual: messageLength - size)) }
        guard Int(fdCount) == fdsReceived else { return .failure(.descriptorMismatch(declared: fdCount, actual: fdsReceived)) }
        var h = RPCHeader(
            flags: RPCFlags(rawValue: flagBits), interface: interface, operation: operation,
            requestID: requestID, status: status, payloadLength: length, fdCount: fdCount, signal: signal)
        h.version = version
        return .success(h)
    }
}

public struct RPCFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let reply = RPCFlags(rawValue: 1 << 0)
    public static let event = RPCFlags(rawValue: 1 << 1)
    public static let cancel = RPCFlags(rawValue: 1 << 2)
    public static let more = RPCFlags(rawValue: 1 << 3)
    public static let all: RPCFlags = [.reply, .event, .cancel, .more]
}

/// Why a received message was rejected (a protocol error, docs/protocol.md §7).
public enum RPCWireError: Error, Equatable, Sendable, CustomStringConvertible {
    case truncated
    case badMagic
    case badVersion(UInt16)
    case badFlags(UInt16)
    case reservedNotZero
    case lengthMismatch(declared: UInt32, actual: Int)
    case descriptorMismatch(declared: UInt16, actual: Int)
    case tooLarge(Int)
    case controlTruncated
    /// The peer broke the shared-memory ring's rules (protocol §11).
    case ring(String)

    public var description: String {
        switch self {
        case .truncated: return "message shorter than its header"
        case .badMagic: return "bad magic"
        case .badVersion(let v): return "unsupported protocol version \(v)"
        case .badFlags(let f): return "unknown flag bits 0x\(String(f, radix: 16))"
        case .reservedNotZero: return "reserved header field is not zero"
        case .lengthMismatch(let d, let a): return "payload length \(d) but \(a) bytes received"
        case .descriptorMismatch(let d, let a): return "header announces \(d) descriptors, \(a) received"
        case .tooLarge(let n): return "message of \(n) bytes exceeds the limit"
        case .controlTruncated: return "control data truncated (MSG_CTRUNC)"
        case .ring(let why): return "ring: \(why)"
        }
    }
}
