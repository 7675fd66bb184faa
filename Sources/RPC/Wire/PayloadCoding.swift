/// Positional little-endian payload encoding (docs/protocol.md §5).
public struct PayloadWriter: Sendable {
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public mutating func u8(_ v: UInt8) { bytes.append(v) }
    public mutating func bool(_ v: Bool) { bytes.append(v ? 1 : 0) }
    public mutating func u16(_ v: UInt16) { appendLE(v) }
    public mutating func u32(_ v: UInt32) { appendLE(v) }
    public mutating func u64(_ v: UInt64) { appendLE(v) }
    public mutating func i32(_ v: Int32) { appendLE(UInt32(bitPattern: v)) }
    public mutating func i64(_ v: Int64) { appendLE(UInt64(bitPattern: v)) }
    public mutating func bytes(_ v: [UInt8]) {
        u32(UInt32(v.count))
        bytes.append(contentsOf: v)
    }
    public mutating func string(_ v: String) { bytes(Array(v.utf8)) }
    public mutating func shm(_ v: SharedMemoryRef) {
        u32(v.id)
        u32(0)
        u64(v.offset)
        u64(v.length)
    }

    private mutating func appendLE<T: FixedWidthInteger>(_ v: T) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }
}

/// Reads a payload; every accessor returns nil instead of reading past the
/// end, and lengths are checked against what remains before any allocation.
/// An accessor that returns nil leaves the reader where it was.
public struct PayloadReader {
    private let base: UnsafeRawBufferPointer
    public private(set) var offset = 0

    public init(_ buffer: UnsafeRawBufferPointer) { base = buffer }

    public var remaining: Int { base.count - offset }
    public var isAtEnd: Bool { offset == base.count }

    public mutating func u8() -> UInt8? { fixed(UInt8.self) }
    public mutating func u16() -> UInt16? { fixed(UInt16.self) }
    public mutating func u32() -> UInt32? { fixed(UInt32.self) }
    public mutating func u64() -> UInt64? { fixed(UInt64.self) }
    public mutating func i32() -> Int32? { fixed(UInt32.self).map { Int32(bitPattern: $0) } }
    public mutating func i64() -> Int64? { fixed(UInt64.self).map { Int64(bitPattern: $0) } }

    public mutating func bool() -> Bool? {
        let save = offset
        guard let b = u8(), b <= 1 else {
            offset = save
            return nil
        }
        return b == 1
    }

    public mutating func bytes() -> [UInt8]? {
        let save = offset
        guard let n = u32(), Int(n) <= remaining else {
            offset = save
            return nil
        }
        let out = Array(UnsafeRawBufferPointer(rebasing: base[offset..<offset + Int(n)]))
        offset += Int(n)
        return out
    }

    public mutating func string() -> String? {
        let save = offset
        guard let b = bytes(), let s = String(validating: b, as: UTF8.self) else {
            offset = save
            return nil
        }
        return s
    }

    public mutating func shm() -> SharedMemoryRef? {
        let save = offset
        guard let id = u32(), let pad = u32(), pad == 0, let off = u64(), let len = u64() else {
            offset = save
            return nil
        }
        return SharedMemoryRef(id: id, offset: off, length: len)
    }

    /// A count for an array of elements of at least `minElementSize` bytes,
    /// refused if the remaining bytes could not hold that many.
    public mutating func count(minElementSize: Int) -> Int? {
        let save = offset
        guard let n = u32(), Int(n) <= remaining / max(minElementSize, 1) else {
            offset = save
            return nil
        }
        return Int(n)
    }

    private mutating func fixed<T: FixedWidthInteger>(_: T.Type) -> T? {
        let n = MemoryLayout<T>.size
        guard remaining >= n else { return nil }
        var v: T = 0
        withUnsafeMutableBytes(of: &v) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: base[offset..<offset + n])) }
        offset += n
        return T(littleEndian: v)
    }
}

/// A reference into client-registered shared memory.
public struct SharedMemoryRef: Equatable, Sendable {
    public var id: UInt32
    public var offset: UInt64
    public var length: UInt64
    public init(id: UInt32, offset: UInt64, length: UInt64) {
        self.id = id
        self.offset = offset
        self.length = length
    }
}
