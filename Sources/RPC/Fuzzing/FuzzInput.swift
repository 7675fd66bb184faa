/// The fuzz input format: a sequence of records, each one received message.
///
///     u16 length (little-endian)   bytes of the message that follow
///     u8  attach                   bits 0-3: descriptors attached (0-15)
///                                  bits 4-5: their kind (FuzzDescriptorKind)
///                                  bit  6:   control data cut (MSG_CTRUNC)
///                                  bit  7:   the peer closes right after
///                                            this message (calls may be
///                                            in flight; later records unused)
///     length bytes                 the message (header + payload)
///
/// A length beyond the end of the input takes what remains; fewer than 3
/// bytes left end the sequence. docs/fuzzing.md.
public struct FuzzRecord: Equatable, Sendable {
    public var message: [UInt8]
    public var descriptorCount: Int
    public var descriptorKind: FuzzDescriptorKind
    public var controlTruncated: Bool
    public var closeAfter: Bool

    public init(
        _ message: [UInt8], descriptors: Int = 0, kind: FuzzDescriptorKind = .devNull,
        controlTruncated: Bool = false, closeAfter: Bool = false
    ) {
        precondition(message.count <= Int(UInt16.max) && descriptors <= 15)
        self.message = message
        self.descriptorCount = descriptors
        self.descriptorKind = kind
        self.controlTruncated = controlTruncated
        self.closeAfter = closeAfter
    }

    var attachByte: UInt8 {
        UInt8(descriptorCount) | descriptorKind.rawValue << 4 | (controlTruncated ? 0x40 : 0) | (closeAfter ? 0x80 : 0)
    }
}

/// What the descriptors attached to a record are.
public enum FuzzDescriptorKind: UInt8, Sendable {
    /// /dev/null, read-only.
    case devNull = 0
    /// A 4 KiB memfd sealed against shrinking and growing (REGISTER_SHM accepts it).
    case sealedMemfd = 1
    /// A 4 KiB memfd without seals (REGISTER_SHM refuses it).
    case unsealedMemfd = 2
    /// An empty memfd sealed against shrinking (REGISTER_SHM refuses it).
    case emptyMemfd = 3
}

public enum FuzzInput {
    /// Split an input into records (never traps).
    public static func parse(_ data: UnsafeRawBufferPointer) -> [FuzzRecord] {
        var out: [FuzzRecord] = []
        var i = 0
        while data.count - i >= 3 {
            let length = Int(data[i]) | Int(data[i + 1]) << 8
            let attach = data[i + 2]
            i += 3
            let n = min(length, data.count - i)
            out.append(
                FuzzRecord(
                    Array(UnsafeRawBufferPointer(rebasing: data[i..<i + n])),
                    descriptors: Int(attach & 0x0F),
                    kind: FuzzDescriptorKind(rawValue: (attach >> 4) & 3)!,
                    controlTruncated: attach & 0x40 != 0, closeAfter: attach & 0x80 != 0))
            i += n
        }
        return out
    }

    /// The input bytes for a list of records (for seeds and tests).
    public static func encode(_ records: [FuzzRecord]) -> [UInt8] {
        var out: [UInt8] = []
        for r in records {
            out.append(UInt8(r.message.count & 0xFF))
            out.append(UInt8(r.message.count >> 8))
            out.append(r.attachByte)
            out.append(contentsOf: r.message)
        }
        return out
    }
}
