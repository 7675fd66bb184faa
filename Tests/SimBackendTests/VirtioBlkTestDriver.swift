import Glibc
import HypercallABI
import Hypercalls
import SimBackend
import SimBackendC
import XCTest

/// A small virtio-blk driver on VirtioTestTransport: one request queue
/// with a header/status slot and a data buffer per request.
final class VirtioBlkTestDriver: VirtioTestTransport {
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
    var vq: VirtioTestRing?
    var buffers: DMAMapping?  // per slot: 32 bytes of header/status
    var data: DMAMapping?  // per slot: maxData bytes
    var freeDescs: [UInt16] = []
    var freeSlots: [Int] = []
    var pending: [UInt16: Pending] = [:]

    func close() {
        dev.close()
        vq?.free(backend)
        for m in [buffers, data].compactMap({ $0 }) { try? backend.dmaFree(m) }
        vq = nil
        buffers = nil
        data = nil
    }

    var capacitySectors: UInt64 { get throws { try read(devcfg, 0, 8) } }

    /// Queue 0 with `size` entries; vector for MSI-X (0xFFFF: none).
    func setupQueue(size: UInt16 = 16, vector: UInt16 = 1, configVector: UInt16 = 0) throws {
        try write(common, 0x10, 2, UInt64(configVector))
        let ring = try VirtioTestRing(self, index: 0, size: size, vector: vector)
        vq = ring
        let n = Int(ring.size)
        buffers = try backend.dmaAllocate(size: 32 * n, alignment: 4096, maxBusAddress: 0)
        data = try backend.dmaAllocate(size: VirtioBlkTestDriver.maxData * n, alignment: 4096, maxBusAddress: 0)
        freeDescs = (0..<ring.size).reversed().map { $0 }
        freeSlots = (0..<n).reversed().map { $0 }
        pending = [:]
    }

    /// Full bring-up with interrupts of `kinds`.
    func start(kinds: UInt32 = HUSK_IRQ_MSIX, queueSize: UInt16 = 16) throws {
        irq = try dev.enableInterrupts(kinds: kinds, want: 2)
        XCTAssertEqual(try negotiate() & 8, 8)
        try setupQueue(size: queueSize)
        try driverOK()
    }

    // MARK: ring memory

    func setDesc(_ i: UInt16, addr: UInt64, len: UInt32, flags: UInt16, next: UInt16) {
        vq!.setDesc(i, addr: addr, len: len, flags: flags, next: next)
    }

    func publish(_ head: UInt16) { vq!.publish(head) }

    func kick() throws { try write(notify, 0, 2, 0) }

    func setNoInterrupt(_ on: Bool) { vq!.setNoInterrupt(on) }

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
        for (id, len) in vq!.reapUsed() {
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

enum BlkType {
    static let read: UInt32 = 0, write: UInt32 = 1, flush: UInt32 = 4, getID: UInt32 = 8
}
