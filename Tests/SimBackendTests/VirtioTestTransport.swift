import Glibc
import HypercallABI
import Hypercalls
import SimBackend
import SimBackendC
import XCTest

/// The driver side of the virtio modern PCI transport, written the way a
/// real driver is: it finds the structures through the PCI capability list,
/// negotiates features and sets up split virtqueues in DMA memory, talking
/// to the device only through HostDevice/HostBackend. The block and network
/// test drivers build on it.
class VirtioTestTransport {
    struct Region {
        var bar = 0
        var offset: UInt64 = 0
        var length: UInt32 = 0
    }

    let backend: SimBackend
    let dev: any HostDevice
    var common = Region(), isr = Region(), devcfg = Region(), notify = Region()
    var notifyMultiplier: UInt32 = 0
    var irq: InterruptSet?

    init(backend: SimBackend, index: Int = 0) throws {
        self.backend = backend
        dev = try backend.openDevice(index: index)
        try findCapabilities()
        try dev.setBusMaster()
    }

    // MARK: discovery

    func findCapabilities() throws {
        var ptr = try dev.configRead(offset: 0x34, width: 1) & 0xFC
        var guardCount = 0
        while ptr != 0 && guardCount < 48 {
            let id = try dev.configRead(offset: ptr, width: 1)
            if id == 0x09 {
                let type = try dev.configRead(offset: ptr + 3, width: 1)
                let r = Region(
                    bar: Int(try dev.configRead(offset: ptr + 4, width: 1)),
                    offset: UInt64(try dev.configRead(offset: ptr + 8, width: 4)),
                    length: try dev.configRead(offset: ptr + 12, width: 4))
                switch type {
                case 1: common = r
                case 2:
                    notify = r
                    notifyMultiplier = try dev.configRead(offset: ptr + 16, width: 4)
                case 3: isr = r
                case 4: devcfg = r
                default: break
                }
            }
            ptr = try dev.configRead(offset: ptr + 1, width: 1) & 0xFC
            guardCount += 1
        }
        XCTAssertEqual(common.bar, 4)
        XCTAssertGreaterThan(common.length, 0)
    }

    // MARK: register helpers

    func read(_ r: Region, _ off: UInt64, _ w: UInt32) throws -> UInt64 { try dev.barRead(bar: r.bar, offset: r.offset + off, width: w) }
    func write(_ r: Region, _ off: UInt64, _ w: UInt32, _ v: UInt64) throws {
        try dev.barWrite(bar: r.bar, offset: r.offset + off, width: w, value: v)
    }
    var status: UInt8 { get throws { UInt8(try read(common, 0x14, 1)) } }
    func setStatus(_ s: UInt8) throws { try write(common, 0x14, 1, UInt64(s)) }
    func readISR() throws -> UInt8 { UInt8(try read(isr, 0, 1)) }

    var deviceFeatures: UInt64 {
        get throws {
            try write(common, 0x00, 4, 0)
            let lo = try read(common, 0x04, 4)
            try write(common, 0x00, 4, 1)
            let hi = try read(common, 0x04, 4)
            return lo | hi << 32
        }
    }

    /// Reset, ACKNOWLEDGE, DRIVER, write features, FEATURES_OK; returns the
    /// status read back (FEATURES_OK is missing if the device refused).
    @discardableResult
    func negotiate(_ features: UInt64? = nil) throws -> UInt8 {
        try setStatus(0)
        XCTAssertEqual(try status, 0)
        try setStatus(1)
        try setStatus(1 | 2)
        let want = try features ?? deviceFeatures
        try write(common, 0x08, 4, 0)
        try write(common, 0x0C, 4, want & 0xFFFF_FFFF)
        try write(common, 0x08, 4, 1)
        try write(common, 0x0C, 4, want >> 32)
        try setStatus(1 | 2 | 8)
        return try status
    }

    func driverOK() throws { try setStatus(1 | 2 | 8 | 4) }

    /// Notify queue `index` at its queue_notify_off times the multiplier.
    func kick(queue index: UInt16) throws {
        try write(common, 0x16, 2, UInt64(index))
        let off = try read(common, 0x1E, 2)
        try write(notify, off * UInt64(notifyMultiplier), 2, UInt64(index))
    }
}

/// One split virtqueue in DMA memory (desc table, avail ring, used ring at
/// the next 4 KiB boundary), programmed into the device's common config.
final class VirtioTestRing {
    let index: UInt16
    let size: UInt16
    let memory: DMAMapping
    var availIdx: UInt16 = 0
    var lastUsed: UInt16 = 0

    /// Select queue `index`, shrink it to `size`, give it `vector` (0xFFFF:
    /// none) and its rings, and enable it.
    init(_ t: VirtioTestTransport, index: UInt16, size: UInt16, vector: UInt16) throws {
        self.index = index
        try t.write(t.common, 0x16, 2, UInt64(index))
        XCTAssertEqual(try t.read(t.common, 0x18, 2), 256)
        try t.write(t.common, 0x18, 2, UInt64(size))
        self.size = UInt16(try t.read(t.common, 0x18, 2))
        let n = Int(self.size)
        let usedOff = VirtioTestRing.usedOffset(n)
        let r = try t.backend.dmaAllocate(size: usedOff + 6 + 8 * n, alignment: 4096, maxBusAddress: 0)
        memory = r
        try t.write(t.common, 0x1A, 2, UInt64(vector))
        try t.write(t.common, 0x20, 4, r.bus & 0xFFFF_FFFF)
        try t.write(t.common, 0x24, 4, r.bus >> 32)  // two halves
        try t.write(t.common, 0x28, 8, r.bus + UInt64(16 * n))  // one 64-bit access
        try t.write(t.common, 0x30, 8, r.bus + UInt64(usedOff))
        try t.write(t.common, 0x1C, 2, 1)
    }

    static func usedOffset(_ n: Int) -> Int { (16 * n + 6 + 2 * n + 4095) / 4096 * 4096 }

    func free(_ backend: SimBackend) { try? backend.dmaFree(memory) }

    var descBase: UnsafeMutableRawPointer { memory.cpu }
    var availBase: UnsafeMutableRawPointer { memory.cpu + 16 * Int(size) }
    var usedBase: UnsafeMutableRawPointer { memory.cpu + VirtioTestRing.usedOffset(Int(size)) }

    func setDesc(_ i: UInt16, addr: UInt64, len: UInt32, flags: UInt16, next: UInt16) {
        let p = descBase + 16 * Int(i)
        p.storeBytes(of: addr.littleEndian, as: UInt64.self)
        p.storeBytes(of: len.littleEndian, toByteOffset: 8, as: UInt32.self)
        p.storeBytes(of: flags.littleEndian, toByteOffset: 12, as: UInt16.self)
        p.storeBytes(of: next.littleEndian, toByteOffset: 14, as: UInt16.self)
    }

    /// Put a chain head in the available ring and publish it (release).
    func publish(_ head: UInt16) {
        (availBase + 4 + 2 * Int(availIdx & (size - 1))).storeBytes(of: head.littleEndian, as: UInt16.self)
        availIdx &+= 1
        husk_sim_store_release_u16(availBase + 2, availIdx.littleEndian)
    }

    func setNoInterrupt(_ on: Bool) {
        availBase.storeBytes(of: UInt16(on ? 1 : 0), as: UInt16.self)
        husk_sim_fence()
    }

    /// used->idx as the device last published it (acquire).
    var usedIndex: UInt16 { UInt16(littleEndian: husk_sim_load_acquire_u16(usedBase + 2)) }

    /// Every used element the device published since the last call.
    func reapUsed() -> [(id: UInt16, len: UInt32)] {
        var out: [(id: UInt16, len: UInt32)] = []
        let usedIdx = usedIndex
        while lastUsed != usedIdx {
            let e = usedBase + 4 + 8 * Int(lastUsed & (size - 1))
            let id = UInt16(truncatingIfNeeded: UInt32(littleEndian: e.load(as: UInt32.self)))
            let len = UInt32(littleEndian: e.load(fromByteOffset: 4, as: UInt32.self))
            lastUsed &+= 1
            out.append((id, len))
        }
        return out
    }
}

enum Virtq {
    static let next: UInt16 = 1, write: UInt16 = 2, indirect: UInt16 = 4
}
