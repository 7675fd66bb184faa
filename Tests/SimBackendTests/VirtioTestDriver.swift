import Glibc
import HypercallABI
import Hypercalls
import SimBackend
import SimBackendC
import XCTest

/// A small virtio-blk driver written the way a real one is: it finds the
/// transport structures through the PCI capability list, negotiates
/// features, sets up one split virtqueue in DMA memory and talks to the
/// device only through HostDevice/HostBackend.
final class VirtioBlkTestDriver {
    struct Region {
        var bar = 0
        var offset: UInt64 = 0
        var length: UInt32 = 0
    }
    struct Completion {
        var id: UInt16
        var len: UInt32
        var status: UInt8
        var data: [UInt8]
        var type: UInt32
    }
    struct Pending {
        var descs: [UInt16]
        var slot: Int
        var type: UInt32
        var dataLen: Int
        var hasStatus: Bool
    }

    static let maxData = 8192
    let backend: SimBackend
    let dev: any HostDevice
    var common = Region(), isr = Region(), devcfg = Region(), notify = Region()
    var notifyMultiplier: UInt32 = 0
    var queueSize: UInt16 = 0
    var ring: DMAMapping?  // desc table + avail + used
    var buffers: DMAMapping?  // per slot: 32 bytes of header/status
    var data: DMAMapping?  // per slot: maxData bytes
    var availIdx: UInt16 = 0
    var lastUsed: UInt16 = 0
    var freeDescs: [UInt16] = []
    var freeSlots: [Int] = []
    var pending: [UInt16: Pending] = [:]
    var irq: InterruptSet?

    init(backend: SimBackend, index: Int = 0) throws {
        self.backend = backend
        dev = try backend.openDevice(index: index)
        try findCapabilities()
        try dev.setBusMaster()
    }

    func close() {
        dev.close()
        for m in [ring, buffers, data].compactMap({ $0 }) { try? backend.dmaFree(m) }
        ring = nil
        buffers = nil
        data = nil
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
    var capacitySectors: UInt64 { get throws { try read(devcfg, 0, 8) } }

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

    /// Queue 0 with `size` entries; vector for MSI-X (0xFFFF: none).
    func setupQueue(size: UInt16 = 16, vector: UInt16 = 1, configVector: UInt16 = 0) throws {
        try write(common, 0x10, 2, UInt64(configVector))
        try write(common, 0x16, 2, 0)
        XCTAssertEqual(try read(common, 0x18, 2), 256)
        try write(common, 0x18, 2, UInt64(size))
        queueSize = UInt16(try read(common, 0x18, 2))
        let n = Int(queueSize)
        // desc at 0, avail at 16n, used at next 4 KiB boundary.
        let usedOff = (16 * n + 6 + 2 * n + 4095) / 4096 * 4096
        let r = try backend.dmaAllocate(size: usedOff + 6 + 8 * n, alignment: 4096, maxBusAddress: 0)
        ring = r
        buffers = try backend.dmaAllocate(size: 32 * n, alignment: 4096, maxBusAddress: 0)
        data = try backend.dmaAllocate(size: VirtioBlkTestDriver.maxData * n, alignment: 4096, maxBusAddress: 0)
        try write(common, 0x1A, 2, UInt64(vector))
        try write(common, 0x20, 4, r.bus & 0xFFFF_FFFF)
        try write(common, 0x24, 4, r.bus >> 32)  // two halves
        try write(common, 0x28, 8, r.bus + UInt64(16 * n))  // one 64-bit access
        try write(common, 0x30, 8, r.bus + UInt64(usedOff))
        try write(common, 0x1C, 2, 1)
        freeDescs = (0..<queueSize).reversed().map { $0 }
        freeSlots = (0..<n).reversed().map { $0 }
        availIdx = 0
        lastUsed = 0
        pending = [:]
    }

    func driverOK() throws { try setStatus(1 | 2 | 8 | 4) }

    /// Full bring-up with interrupts of `kinds`.
    func start(kinds: UInt32 = HUSK_IRQ_MSIX, queueSize: UInt16 = 16) throws {
        irq = try dev.enableInterrupts(kinds: kinds, want: 2)
        XCTAssertEqual(try negotiate() & 8, 8)
        try setupQueue(size: queueSize)
        try driverOK()
    }

    // MARK: ring memory

    var descBase: UnsafeMutableRawPointer { ring!.cpu }
    var availBase: UnsafeMutableRawPointer { ring!.cpu + 16 * Int(queueSize) }
    var usedBase: UnsafeMutableRawPointer { ring!.cpu + (16 * Int(queueSize) + 6 + 2 * Int(queueSize) + 4095) / 4096 * 4096 }

    func setDesc(_ i: UInt16, addr: UInt64, len: UInt32, flags: UInt16, next: UInt16) {
        let p = descBase + 16 * Int(i)
        p.storeBytes(of: addr.littleEndian, as: UInt64.self)
        p.storeBytes(of: len.littleEndian, toByteOffset: 8, as: UInt32.self)
        p.storeBytes(of: flags.littleEndian, toByteOffset: 12, as: UInt16.self)
        p.storeBytes(of: next.littleEndian, toByteOffset: 14, as: UInt16.self)
    }

    /// Put a chain head in the available ring and publish it (release).
    func publish(_ head: UInt16) {
        (availBase + 4 + 2 * Int(availIdx & (queueSize - 1))).storeBytes(of: head.littleEndian, as: UInt16.self)
        availIdx &+= 1
        husk_sim_store_release_u16(availBase + 2, availIdx.littleEndian)
    }

    func kick() throws { try write(notify, 0, 2, 0) }

    func setNoInterrupt(_ on: Bool) {
        availBase.storeBytes(of: UInt16(on ? 1 : 0), as: UInt16.self)
        husk_sim_fence()
    }

    var freeRequestCapacity: Int { min(freeDescs.count / 3, freeSlots.count) }

    /// Queue one request: header, optional data (readable for OUT, writable
    /// otherwise), status. Returns its head descriptor. Not kicked.
    @discardableResult
    func submit(type: UInt32, sector: UInt64, write payload: [UInt8]? = nil, readLength: Int = 0) -> UInt16 {
        let slot = freeSlots.removeLast()
        let hdr = buffers!.cpu + 32 * slot
        hdr.storeBytes(of: type.littleEndian, as: UInt32.self)
        hdr.storeBytes(of: UInt32(0), toByteOffset: 4, as: UInt32.self)
        hdr.storeBytes(of: sector.littleEndian, toByteOffset: 8, as: UInt64.self)
        hdr.storeBytes(of: UInt8(0xFF), toByteOffset: 16, as: UInt8.self)  // status sentinel
        let hdrBus = buffers!.bus + UInt64(32 * slot)
        let dataCPU = data!.cpu + VirtioBlkTestDriver.maxData * slot
        let dataBus = data!.bus + UInt64(VirtioBlkTestDriver.maxData * slot)
        let dataLen = payload?.count ?? readLength
        if let payload { payload.withUnsafeBytes { dataCPU.copyMemory(from: $0.baseAddress!, byteCount: payload.count) } }
        var chain: [(UInt64, UInt32, UInt16)] = [(hdrBus, 16, 0)]
        if dataLen > 0 { chain.append((dataBus, UInt32(dataLen), payload == nil ? Virtq.write : 0)) }
        chain.append((hdrBus + 16, 1, Virtq.write))
        let descs = chain.map { _ in freeDescs.removeLast() }
        for (i, c) in chain.enumerated() {
            let last = i == chain.count - 1
            setDesc(descs[i], addr: c.0, len: c.1, flags: c.2 | (last ? 0 : Virtq.next), next: last ? 0 : descs[i + 1])
        }
        pending[descs[0]] = Pending(descs: descs, slot: slot, type: type, dataLen: payload == nil ? dataLen : 0, hasStatus: true)
        publish(descs[0])
        return descs[0]
    }

    /// A raw chain (for malformed-request tests); no status bookkeeping.
    @discardableResult
    func submitRaw(_ chain: [(addr: UInt64, len: UInt32, flags: UInt16)]) -> UInt16 {
        let descs = chain.map { _ in freeDescs.removeLast() }
        for (i, c) in chain.enumerated() {
            let last = i == chain.count - 1
            setDesc(descs[i], addr: c.addr, len: c.len, flags: c.flags | (last ? 0 : Virtq.next), next: last ? 0 : descs[i + 1])
        }
        let slot = freeSlots.removeLast()
        pending[descs[0]] = Pending(descs: descs, slot: slot, type: 0xFFFF, dataLen: 0, hasStatus: false)
        publish(descs[0])
        return descs[0]
    }

    /// Reap everything in the used ring.
    func reap() -> [Completion] {
        var out: [Completion] = []
        let usedIdx = UInt16(littleEndian: husk_sim_load_acquire_u16(usedBase + 2))
        while lastUsed != usedIdx {
            let e = usedBase + 4 + 8 * Int(lastUsed & (queueSize - 1))
            let id = UInt16(truncatingIfNeeded: UInt32(littleEndian: e.load(as: UInt32.self)))
            let len = UInt32(littleEndian: e.load(fromByteOffset: 4, as: UInt32.self))
            lastUsed &+= 1
            guard let p = pending.removeValue(forKey: id) else {
                XCTFail("unknown used id \(id)")
                continue
            }
            let status = p.hasStatus ? (buffers!.cpu + 32 * p.slot + 16).load(as: UInt8.self) : 0xFF
            let d =
                p.dataLen > 0
                ? Array(UnsafeRawBufferPointer(start: data!.cpu + VirtioBlkTestDriver.maxData * p.slot, count: p.dataLen)) : []
            out.append(Completion(id: id, len: len, status: status, data: d, type: p.type))
            freeDescs.append(contentsOf: p.descs)
            freeSlots.append(p.slot)
        }
        return out
    }

    /// Wait (bounded) until `count` completions arrive, using the queue
    /// interrupt when one is set up, polling otherwise.
    func wait(for count: Int, ms: Int = 5000) -> [Completion] {
        var got: [Completion] = []
        let deadline = ms / 5
        var rounds = 0
        while got.count < count && rounds < deadline {
            got += reap()
            if got.count >= count { break }
            if let irq, irq.kind == HUSK_IRQ_MSIX, irq.eventFDs.count > 1 {
                _ = waitEvent(irq.eventFDs[1], ms: 5)
            } else {
                usleep(5000)
            }
            rounds += 1
        }
        return got
    }

    /// Submit one request, kick, and wait for it.
    func run(type: UInt32, sector: UInt64, write payload: [UInt8]? = nil, readLength: Int = 0) throws -> Completion? {
        submit(type: type, sector: sector, write: payload, readLength: readLength)
        try kick()
        return wait(for: 1).first
    }
}

enum Virtq {
    static let next: UInt16 = 1, write: UInt16 = 2, indirect: UInt16 = 4
}

enum BlkType {
    static let read: UInt32 = 0, write: UInt32 = 1, flush: UInt32 = 4, getID: UInt32 = 8
}
