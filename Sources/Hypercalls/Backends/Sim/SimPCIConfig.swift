import HypercallABI
import Hypercalls

/// PCI configuration registers of a type-0 header (offsets used below).
enum PCIReg {
    static let vendor = 0x00, device = 0x02, command = 0x04, status = 0x06
    static let revision = 0x08, progIF = 0x09, classCode = 0x0A, headerType = 0x0E
    static let bar0 = 0x10, subVendor = 0x2C, subDevice = 0x2E, capPointer = 0x34
    static let interruptLine = 0x3C, interruptPin = 0x3D

    static let cmdIO: UInt16 = 1 << 0, cmdMemory: UInt16 = 1 << 1, cmdBusMaster: UInt16 = 1 << 2
    static let cmdINTxDisable: UInt16 = 1 << 10
    static let statusINTx: UInt16 = 1 << 3, statusCapList: UInt16 = 1 << 4

    static let capMSI: UInt8 = 0x05, capVendor: UInt8 = 0x09, capMSIX: UInt8 = 0x11
}

/// How a BAR is declared by a sim device.
struct SimBAR {
    var size: UInt64  // power of two, >= 16; 0 = absent
    var is64Bit = false
    var prefetchable = false
    var info: BARInfo {
        guard size > 0 else { return .absent }
        return BARInfo(
            size: size,
            flags: HUSK_BAR_MMIO | (is64Bit ? HUSK_BAR_64BIT : 0)
                | (prefetchable ? HUSK_BAR_PREFETCH : 0))
    }
}

/// A 256-byte conventional config space: a byte image plus a mask of the bits
/// software may write. Everything read-only (ids, class, capability bodies)
/// simply has a zero mask, and BAR sizing falls out of the mask: a BAR's low
/// address bits are read-only zeros, so writing all-ones reads back ~(size-1).
/// Not thread-safe by itself: its owner (SimPCIFunction) holds a lock.
struct SimPCIConfig {
    static let size = 256
    private(set) var bytes = [UInt8](repeating: 0, count: SimPCIConfig.size)
    private var writable = [UInt8](repeating: 0, count: SimPCIConfig.size)
    private(set) var bars: [SimBAR] = Array(repeating: SimBAR(size: 0), count: 6)
    private var lastCap = 0
    private var nextCapOffset = 0x40

    init(identity: PCIIdentity, bars declared: [Int: SimBAR], interruptPin: UInt8) {
        set16(PCIReg.vendor, identity.vendor)
        set16(PCIReg.device, identity.device)
        set8(PCIReg.revision, identity.revision)
        set8(PCIReg.progIF, UInt8(truncatingIfNeeded: identity.classCode))
        set16(PCIReg.classCode, UInt16(truncatingIfNeeded: identity.classCode >> 8))
        set16(PCIReg.subVendor, identity.subVendor)
        set16(PCIReg.subDevice, identity.subDevice)
        // Command: I/O, memory, bus master, parity, SERR, INTx disable.
        setMask(PCIReg.command, 2, 0x0547)
        set8(PCIReg.interruptPin, interruptPin)
        setMask(PCIReg.interruptLine, 1, 0xFF)
        for (index, bar) in declared where (0..<6).contains(index) && bar.size > 0 {
            bars[index] = bar
            let reg = PCIReg.bar0 + 4 * index
            let low: UInt32 = (bar.is64Bit ? 0x4 : 0) | (bar.prefetchable ? 0x8 : 0)
            set32(reg, low)
            // Address bits above the size are writable; below, they read 0.
            setMask(reg, 4, UInt32(truncatingIfNeeded: ~(bar.size - 1)) & 0xFFFF_FFF0)
            if bar.is64Bit && index < 5 {
                setMask(reg + 4, 4, UInt32(truncatingIfNeeded: ~(bar.size - 1) >> 32))
            }
        }
    }

    // MARK: building

    /// Append a capability with `body` after its id/next bytes; returns its
    /// offset. `mask` gives writable bits of the body (same length or empty).
    @discardableResult
    mutating func addCapability(id: UInt8, body: [UInt8], mask: [UInt8] = []) -> Int {
        let offset = nextCapOffset
        precondition(offset + 2 + body.count <= SimPCIConfig.size, "sim: config space full")
        bytes[offset] = id
        bytes[offset + 1] = 0
        for (i, b) in body.enumerated() { bytes[offset + 2 + i] = b }
        for (i, m) in mask.enumerated() where i < body.count { writable[offset + 2 + i] = m }
        if lastCap == 0 {
            set8(PCIReg.capPointer, UInt8(offset))
            set16(PCIReg.status, get16(PCIReg.status) | PCIReg.statusCapList)
        } else {
            bytes[lastCap + 1] = UInt8(offset)
        }
        lastCap = offset
        // Capabilities are dword-aligned.
        nextCapOffset = (offset + 2 + body.count + 3) & ~3
        return offset
    }

    // MARK: access (validated again here: a bad width or range never traps)

    func read(offset: Int, width: Int) -> UInt32? {
        guard [1, 2, 4].contains(width), offset >= 0, offset % width == 0,
            offset + width <= SimPCIConfig.size
        else { return nil }
        var v: UInt32 = 0
        for i in 0..<width { v |= UInt32(bytes[offset + i]) << (8 * i) }
        return v
    }

    /// Software write through the mask. Returns false for a bad access.
    mutating func write(offset: Int, width: Int, value: UInt32) -> Bool {
        guard [1, 2, 4].contains(width), offset >= 0, offset % width == 0,
            offset + width <= SimPCIConfig.size
        else { return false }
        for i in 0..<width {
            let m = writable[offset + i]
            let b = UInt8(truncatingIfNeeded: value >> (8 * i))
            bytes[offset + i] = (bytes[offset + i] & ~m) | (b & m)
        }
        return true
    }

    // MARK: device-side helpers (bypass the mask)

    func get16(_ o: Int) -> UInt16 { UInt16(bytes[o]) | UInt16(bytes[o + 1]) << 8 }
    mutating func set8(_ o: Int, _ v: UInt8) { bytes[o] = v }
    mutating func set16(_ o: Int, _ v: UInt16) {
        bytes[o] = UInt8(truncatingIfNeeded: v)
        bytes[o + 1] = UInt8(truncatingIfNeeded: v >> 8)
    }
    mutating func set32(_ o: Int, _ v: UInt32) {
        for i in 0..<4 { bytes[o + i] = UInt8(truncatingIfNeeded: v >> (8 * i)) }
    }
    mutating func setMask(_ o: Int, _ width: Int, _ m: UInt32) {
        for i in 0..<width { writable[o + i] = UInt8(truncatingIfNeeded: m >> (8 * i)) }
    }

    var command: UInt16 { get16(PCIReg.command) }
}

/// Little-endian byte builders for capability bodies.
func le16(_ v: UInt16) -> [UInt8] { [UInt8(truncatingIfNeeded: v), UInt8(truncatingIfNeeded: v >> 8)] }
func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
func le64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
