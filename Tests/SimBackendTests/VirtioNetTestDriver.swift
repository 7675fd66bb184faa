import Glibc
import HuskTestSupport
import HypercallABI
import Hypercalls
import SimBackend
import SimBackendC
import XCTest

/// A small virtio-net driver on VirtioTestTransport: receiveq1 with one
/// single-descriptor buffer per descriptor, transmitq1 with a header and
/// frame per chain (one descriptor, or two with `splitHeader`). MSI-X
/// vectors: 0 configuration, 1 receive, 2 transmit.
final class VirtioNetTestDriver: VirtioTestTransport {
    enum Feature {
        static let mtu: UInt64 = 1 << 3, mac: UInt64 = 1 << 5, mrgRxbuf: UInt64 = 1 << 15, status: UInt64 = 1 << 16
        static let version1: UInt64 = 1 << 32, accessPlatform: UInt64 = 1 << 33
    }
    static let hdrBytes = 12
    static let txSlotBytes = 65_600

    /// A frame as the driver received it.
    struct Received {
        var header: [UInt8]  // the 12-byte virtio_net_hdr
        var frame: [UInt8]
        /// Used elements the frame took, and their lengths.
        var lengths: [UInt32]
        var numBuffers: UInt16 { UInt16(header[10]) | UInt16(header[11]) << 8 }
    }

    var rx: VirtioTestRing!
    var tx: VirtioTestRing!
    var rxBuffers: DMAMapping?
    var txBuffers: DMAMapping?
    var rxBufferBytes = 0
    var freeRX: [UInt16] = []
    var freeTX: [UInt16] = []
    var txChains: [UInt16: [UInt16]] = [:]
    /// Merged frames in reassembly: used elements taken so far.
    private var partial: Received?
    private var partialWanted = 0
    var mergeable = false

    func close() {
        dev.close()
        rx?.free(backend)
        tx?.free(backend)
        for m in [rxBuffers, txBuffers].compactMap({ $0 }) { try? backend.dmaFree(m) }
        rx = nil
        tx = nil
        rxBuffers = nil
        txBuffers = nil
    }

    /// The features a real driver of this device takes.
    static let usualFeatures = Feature.version1 | Feature.accessPlatform | Feature.mac | Feature.status

    var mac: [UInt8] { get throws { try (0..<6).map { UInt8(try read(devcfg, UInt64($0), 1)) } } }
    var linkStatus: UInt16 { get throws { UInt16(try read(devcfg, 6, 2)) } }
    var configGeneration: UInt8 { get throws { UInt8(try read(common, 0x15, 1)) } }

    /// Queues with `rxSize`/`txSize` entries and `rxBufferBytes` per receive
    /// buffer (none posted yet). Vectors 1 and 2, config vector 0.
    func setupQueues(rxSize: UInt16 = 16, txSize: UInt16 = 16, rxBufferBytes: Int = 1530, vectors: Bool = true) throws {
        try write(common, 0x10, 2, vectors ? 0 : 0xFFFF)
        rx = try VirtioTestRing(self, index: 0, size: rxSize, vector: vectors ? 1 : 0xFFFF)
        tx = try VirtioTestRing(self, index: 1, size: txSize, vector: vectors ? 2 : 0xFFFF)
        self.rxBufferBytes = rxBufferBytes
        rxBuffers = try backend.dmaAllocate(size: rxBufferBytes * Int(rx.size), alignment: 4096, maxBusAddress: 0)
        txBuffers = try backend.dmaAllocate(size: VirtioNetTestDriver.txSlotBytes * Int(tx.size), alignment: 4096, maxBusAddress: 0)
        freeRX = (0..<rx.size).reversed().map { $0 }
        freeTX = (0..<tx.size).reversed().map { $0 }
        txChains = [:]
        partial = nil
    }

    /// Full bring-up: interrupts, features (those given, or the usual ones
    /// plus MRG_RXBUF when `mergeable`), queues, DRIVER_OK.
    func start(
        features: UInt64? = nil, mergeable: Bool = false, kinds: UInt32 = HUSK_IRQ_MSIX,
        rxSize: UInt16 = 16, txSize: UInt16 = 16, rxBufferBytes: Int = 1530
    ) throws {
        if irq == nil { irq = try dev.enableInterrupts(kinds: kinds, want: 3) }
        let want = features ?? (VirtioNetTestDriver.usualFeatures | (mergeable ? Feature.mrgRxbuf : 0))
        self.mergeable = want & Feature.mrgRxbuf != 0
        XCTAssertEqual(try negotiate(want) & 8, 8, "FEATURES_OK")
        try setupQueues(rxSize: rxSize, txSize: txSize, rxBufferBytes: rxBufferBytes)
        try driverOK()
    }

    // MARK: receive

    /// Post `count` receive buffers (all free ones by default) and kick.
    func postRX(_ count: Int? = nil) throws {
        let n = min(count ?? freeRX.count, freeRX.count)
        for _ in 0..<n {
            let d = freeRX.removeLast()
            rx.setDesc(d, addr: rxBuffers!.bus + UInt64(rxBufferBytes * Int(d)), len: UInt32(rxBufferBytes), flags: Virtq.write, next: 0)
            rx.publish(d)
        }
        try kick(queue: 0)
    }

    private func bytes(ofBuffer d: UInt16, count: Int) -> [UInt8] {
        Array(UnsafeRawBufferPointer(start: rxBuffers!.cpu + rxBufferBytes * Int(d), count: count))
    }

    /// Every whole frame in the used ring; their buffers go back to the free
    /// list (not reposted).
    func receive() -> [Received] {
        var out: [Received] = []
        for (id, len) in rx.reapUsed() {
            freeRX.append(id)
            let data = bytes(ofBuffer: id, count: Int(len))
            if var p = partial {
                p.frame += data
                p.lengths.append(len)
                partialWanted -= 1
                partial = p
            } else {
                guard data.count >= VirtioNetTestDriver.hdrBytes else {
                    XCTFail("receive buffer \(id) used with \(len) bytes, less than a header")
                    continue
                }
                let r = Received(header: Array(data[0..<12]), frame: Array(data[12...]), lengths: [len])
                partial = r
                partialWanted = mergeable ? Int(r.numBuffers) - 1 : 0
            }
            if partialWanted <= 0, let p = partial {
                out.append(p)
                partial = nil
            }
        }
        return out
    }

    /// Wait (bounded) until `count` frames arrived.
    func waitFrames(_ count: Int, ms: Int = 5000) -> [Received] {
        var got: [Received] = []
        let deadline = monotonicMs() + ms
        while got.count < count && monotonicMs() < deadline {
            got += receive()
            if got.count >= count { break }
            if let irq, irq.kind == HUSK_IRQ_MSIX, irq.eventFDs.count > 1 {
                _ = waitEvent(irq.eventFDs[1], ms: 5)
            } else {
                usleep(2000)
            }
        }
        return got
    }

    // MARK: transmit

    /// Queue one frame behind a virtio_net_hdr (`header`, zeros by default)
    /// and publish it; kick unless `kick` is false. False if no descriptor
    /// is free (reap first).
    @discardableResult
    func send(_ frame: [UInt8], header: [UInt8]? = nil, splitHeader: Bool = false, kick doKick: Bool = true) throws -> Bool {
        let need = splitHeader ? 2 : 1
        guard freeTX.count >= need, frame.count + 12 <= VirtioNetTestDriver.txSlotBytes else { return false }
        let descs = (0..<need).map { _ in freeTX.removeLast() }
        let slot = Int(descs[0])
        let base = txBuffers!.cpu + VirtioNetTestDriver.txSlotBytes * slot
        let bus = txBuffers!.bus + UInt64(VirtioNetTestDriver.txSlotBytes * slot)
        let hdr = header ?? [UInt8](repeating: 0, count: 12)
        hdr.withUnsafeBytes { base.copyMemory(from: $0.baseAddress!, byteCount: hdr.count) }
        frame.withUnsafeBytes { if let p = $0.baseAddress { (base + hdr.count).copyMemory(from: p, byteCount: frame.count) } }
        if splitHeader {
            tx.setDesc(descs[0], addr: bus, len: UInt32(hdr.count), flags: Virtq.next, next: descs[1])
            tx.setDesc(descs[1], addr: bus + UInt64(hdr.count), len: UInt32(frame.count), flags: 0, next: 0)
        } else {
            tx.setDesc(descs[0], addr: bus, len: UInt32(hdr.count + frame.count), flags: 0, next: 0)
        }
        txChains[descs[0]] = descs
        tx.publish(descs[0])
        if doKick { try kick(queue: 1) }
        return true
    }

    /// Queue a raw transmit chain (for malformed-chain tests).
    func sendRaw(_ chain: [(addr: UInt64, len: UInt32, flags: UInt16)]) throws {
        let descs = chain.map { _ in freeTX.removeLast() }
        for (i, c) in chain.enumerated() {
            let last = i == chain.count - 1
            tx.setDesc(descs[i], addr: c.addr, len: c.len, flags: c.flags | (last ? 0 : Virtq.next), next: last ? 0 : descs[i + 1])
        }
        txChains[descs[0]] = descs
        tx.publish(descs[0])
        try kick(queue: 1)
    }

    /// Completed transmit chains: their used lengths; descriptors are free again.
    func reapTX() -> [UInt32] {
        tx.reapUsed().map { (id, len) in
            freeTX += txChains.removeValue(forKey: id) ?? []
            return len
        }
    }

    /// Wait (bounded) until every transmitted chain has completed.
    func waitTXDone(ms: Int = 5000) -> Bool {
        let deadline = monotonicMs() + ms
        while monotonicMs() < deadline {
            _ = reapTX()
            if txChains.isEmpty { return true }
            usleep(1000)
        }
        return false
    }
}

func monotonicMs() -> Int {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return ts.tv_sec * 1000 + ts.tv_nsec / 1_000_000
}

/// Compare received frames with the expected ones, reporting lengths and the
/// first difference rather than every byte.
func assertFrames(
    _ got: [VirtioNetTestDriver.Received], _ expected: [[UInt8]], _ message: String = "",
    file: StaticString = #filePath, line: UInt = #line
) {
    let frames = got.map(\.frame)
    guard frames != expected else { return }
    let first = zip(frames, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset
    XCTFail(
        "frames \(frames.map(\.count)) != expected \(expected.map(\.count)); first differing: \(first.map(String.init) ?? "none") \(message)",
        file: file, line: line)
}

/// An Ethernet frame of `length` bytes: destination, source, EtherType
/// 0x88B5 (local experimental), then `seed`'s test pattern.
func ethernetFrame(to dst: [UInt8], from src: [UInt8], length: Int, seed: Int) -> [UInt8] {
    dst + src + [0x88, 0xB5] + testPattern(seed, max(0, length - 14))
}
