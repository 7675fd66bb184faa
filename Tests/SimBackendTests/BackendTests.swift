import Glibc
import HypercallABI
import Hypercalls
import SimBackend
import XCTest

final class BackendTests: XCTestCase {
    func testFeaturesDevicesAndOpen() throws {
        let b = try SimBackend(specs: ["virtio-blk:size=16M", "edu", "virtio-blk:size=64K,ro,cache=writethrough,blksize=4096"])
        defer { b.shutdown() }
        XCTAssertEqual(b.name, "sim")
        XCTAssertEqual(
            b.features,
            HUSK_FEAT_PCI | HUSK_FEAT_IRQ_INTX | HUSK_FEAT_IRQ_MSI | HUSK_FEAT_IRQ_MSIX
                | HUSK_FEAT_DMA | HUSK_FEAT_DMA_IOMMU)
        XCTAssertEqual(b.devices.map(\.address), ["sim:0", "sim:1", "sim:2"])
        XCTAssertEqual(b.devices.map(\.device), [0x1042, 0x11e8, 0x1042])
        XCTAssertEqual((b.simDevices[0] as? SimVirtioBlk)?.capacityBytes, 16 << 20)
        let d = try b.openDevice(index: 1)
        XCTAssertThrowsError(try b.openDevice(index: 1)) { XCTAssertEqual($0 as? HypError, .busy) }
        d.close()
        d.close()  // idempotent
        XCTAssertThrowsError(try d.configRead(offset: 0, width: 4)) { XCTAssertEqual($0 as? HypError, .badf) }
        let again = try b.openDevice(index: 1)
        XCTAssertEqual(try again.configRead(offset: 0, width: 2), 0x1234)
        XCTAssertNil(again.releaseRequestFD)
        XCTAssertThrowsError(try b.openDevice(index: 3)) { XCTAssertEqual($0 as? HypError, .noent) }
    }

    func testSpecErrors() {
        func inval(_ spec: String, mentions: String, file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertThrowsError(try SimBackend(specs: [spec]), file: file, line: line) { e in
                XCTAssertEqual(e as? HypError, .inval, file: file, line: line)
                XCTAssertTrue((e as? HypError)?.detail.contains(mentions) ?? false, "\(e)", file: file, line: line)
            }
        }
        inval("nvme", mentions: "virtio-blk, virtio-net, edu")
        inval("virtio-blk:size=1M,colour=red", mentions: "image, size, ro, cache, blksize")
        inval("virtio-blk:size=1M,cache=lazy", mentions: "volatile, writethrough")
        inval("virtio-blk:size=1M,blksize=1024", mentions: "512, 4096")
        inval("virtio-blk:size=lots", mentions: "16M")
        inval("virtio-blk", mentions: "exactly one of")
        inval("virtio-blk:size=1M,image=/x", mentions: "exactly one of")
        inval("virtio-blk:size=1000", mentions: "multiple")
        inval("edu:x=1", mentions: "no options")
        XCTAssertThrowsError(try SimBackend(specs: ["virtio-blk:image=/nonexistent/husk.img"])) {
            XCTAssertEqual($0 as? HypError, .noent)
        }
    }

    func testIOMMU() throws {
        let b = SimBackend(devices: [])
        defer { b.shutdown() }
        let a = try b.dmaAllocate(size: 100, alignment: 0, maxBusAddress: 0)
        XCTAssertNotEqual(a.bus, UInt64(UInt(bitPattern: a.cpu)), "IOVA differs from the CPU address")
        XCTAssertGreaterThanOrEqual(a.bus, 0x100000)
        XCTAssertEqual(a.size, 100)
        XCTAssertTrue(UnsafeRawBufferPointer(start: a.cpu, count: 100).allSatisfy { $0 == 0 }, "zeroed")
        let aligned = try b.dmaAllocate(size: 4096, alignment: 1 << 21, maxBusAddress: 0)
        XCTAssertEqual(aligned.bus % (1 << 21), 0)
        XCTAssertNotEqual(aligned.bus, a.bus)
        // maxBusAddress: the whole buffer lies below it.
        let limit: UInt64 = 0x400000
        var low: [DMAMapping] = []
        while let m = try? b.dmaAllocate(size: 0x80000, alignment: 0, maxBusAddress: limit) {
            XCTAssertLessThanOrEqual(m.bus + UInt64(m.size), limit)
            low.append(m)
            if low.count > 16 { break }
        }
        XCTAssertFalse(low.isEmpty)
        XCTAssertLessThan(low.count, 8)
        XCTAssertThrowsError(try b.dmaAllocate(size: 0x80000, alignment: 0, maxBusAddress: limit)) {
            XCTAssertEqual($0 as? HypError, .nomem)
        }
        XCTAssertThrowsError(try b.dmaAllocate(size: 0, alignment: 0, maxBusAddress: 0)) { XCTAssertEqual($0 as? HypError, .inval) }
        XCTAssertThrowsError(try b.dmaAllocate(size: 10, alignment: 3 << 12, maxBusAddress: 0)) { XCTAssertEqual($0 as? HypError, .inval) }
        // Freeing: unknown, forged and double frees are EBADF.
        var forged = a
        forged.bus += 4096
        XCTAssertThrowsError(try b.dmaFree(forged)) { XCTAssertEqual($0 as? HypError, .badf) }
        try b.dmaFree(a)
        XCTAssertThrowsError(try b.dmaFree(a)) { XCTAssertEqual($0 as? HypError, .badf) }
        for m in low { try b.dmaFree(m) }
        // Freed IOVA space is reused.
        let reused = try b.dmaAllocate(size: 0x80000, alignment: 0, maxBusAddress: limit)
        XCTAssertLessThan(reused.bus, limit)
        // Translation: exactly inside one mapping, nothing else.
        let iommu = b.iommu
        XCTAssertNoThrow(try iommu.load(UInt32.self, bus: reused.bus + 0x80000 - 4))
        XCTAssertThrowsError(try iommu.load(UInt32.self, bus: reused.bus + 0x80000 - 2))
        XCTAssertThrowsError(try iommu.load(UInt8.self, bus: 0))
        XCTAssertThrowsError(try iommu.load(UInt64.self, bus: .max - 3))
        try iommu.store(UInt32(0xAABBCCDD), bus: reused.bus + 8)
        XCTAssertEqual(reused.cpu.load(fromByteOffset: 8, as: UInt32.self), 0xAABBCCDD)
    }
}
