import Glibc
import HuskTestSupport
import HypercallABI
import Hypercalls
import SimBackend
import XCTest

final class EduTests: XCTestCase {
    var backend: SimBackend!
    var dev: (any HostDevice)!
    var edu: SimEdu { backend.simDevices[0] as! SimEdu }

    override func setUpWithError() throws {
        backend = try SimBackend(specs: ["edu"])
        dev = try backend.openDevice(index: 0)
        try dev.setBusMaster()
    }

    override func tearDown() {
        dev?.close()
        backend?.shutdown()
        dev = nil
        backend = nil
    }

    func r32(_ off: UInt64) throws -> UInt64 { try dev.barRead(bar: 0, offset: off, width: 4) }
    func w32(_ off: UInt64, _ v: UInt64) throws { try dev.barWrite(bar: 0, offset: off, width: 4, value: v) }
    func r64(_ off: UInt64) throws -> UInt64 { try dev.barRead(bar: 0, offset: off, width: 8) }
    func w64(_ off: UInt64, _ v: UInt64) throws { try dev.barWrite(bar: 0, offset: off, width: 8, value: v) }

    func waitDMAIdle() throws -> Bool { try waitUntil(5) { try self.r64(0x98) & 1 == 0 } }

    func testIdentityAndLiveness() throws {
        XCTAssertEqual(dev.identity.vendor, 0x1234)
        XCTAssertEqual(dev.identity.device, 0x11e8)
        XCTAssertEqual(dev.identity.classCode, 0x00ff00)
        XCTAssertEqual(try dev.configRead(offset: 0, width: 4), 0x11e8_1234)
        XCTAssertEqual(dev.barInfo(0), BARInfo(size: 1 << 20, flags: HUSK_BAR_MMIO))
        XCTAssertEqual(try r32(0x00), 0x0100_00ed)
        try w32(0x04, 0x1234_5678)
        XCTAssertEqual(try r32(0x04), 0xEDCB_A987)
        // Registers below 0x80 only answer 4-byte accesses.
        XCTAssertEqual(try dev.barRead(bar: 0, offset: 0x00, width: 8), .max)
        XCTAssertEqual(try dev.barRead(bar: 0, offset: 0x00, width: 2), 0xFFFF)
        XCTAssertThrowsError(try dev.barRead(bar: 0, offset: 1 << 20, width: 4))
        XCTAssertThrowsError(try dev.mapBAR(0))
        // The MSI capability exists (one vector, 64-bit).
        let cap = try dev.configRead(offset: 0x34, width: 1)
        XCTAssertEqual(try dev.configRead(offset: cap, width: 1), 0x05)
    }

    func testFactorialWithMSIInterrupt() throws {
        let irq = try dev.enableInterrupts(kinds: HUSK_IRQ_MSI | HUSK_IRQ_INTX, want: 4)
        XCTAssertEqual(irq.kind, HUSK_IRQ_MSI)
        XCTAssertEqual(irq.eventFDs.count, 1)
        try w32(0x20, 0x80)
        try w32(0x08, 10)
        XCTAssertNotNil(waitEvent(irq.eventFDs[0]))
        XCTAssertEqual(try r32(0x20) & 1, 0, "computation finished")
        XCTAssertEqual(try r32(0x08), 3_628_800)
        XCTAssertEqual(try r32(0x24), 1)
        try w32(0x64, 1)
        XCTAssertEqual(try r32(0x24), 0)
        // Without the interrupt bit: no interrupt, result still computed.
        try w32(0x20, 0)
        try w32(0x08, 5)
        XCTAssertTrue(try waitUntil(5) { try self.r32(0x20) & 1 == 0 })
        XCTAssertEqual(try r32(0x08), 120)
        XCTAssertNil(waitEvent(irq.eventFDs[0], ms: 20))
        XCTAssertEqual(edu.stats.factorials, 2)
    }

    func testRaiseAndAcknowledgeWithINTx() throws {
        let irq = try dev.enableInterrupts(kinds: HUSK_IRQ_INTX, want: 1)
        XCTAssertEqual(irq.kind, HUSK_IRQ_INTX)
        let fd = irq.eventFDs[0]
        try w32(0x60, 0x4)
        XCTAssertEqual(waitEvent(fd), 1)
        XCTAssertEqual(try r32(0x24), 0x4)
        // Still asserted: unmasking fires again.
        try dev.acknowledgeInterrupt(vector: 0)
        XCTAssertEqual(waitEvent(fd, ms: 1000), 1)
        // Acknowledge in the device, then unmask: quiet.
        try w32(0x64, 0x4)
        XCTAssertEqual(try r32(0x24), 0)
        try dev.acknowledgeInterrupt(vector: 0)
        XCTAssertNil(waitEvent(fd, ms: 20))
        // INTx disable in the command register holds it back.
        let cmd = try dev.configRead(offset: 4, width: 2)
        try dev.configWrite(offset: 4, width: 2, value: cmd | 0x400)
        try w32(0x60, 0x1)
        XCTAssertNil(waitEvent(fd, ms: 20))
        XCTAssertNotEqual(try dev.configRead(offset: 6, width: 2) & 0x8, 0, "status shows the pending line")
        try dev.configWrite(offset: 4, width: 2, value: cmd)
        XCTAssertEqual(waitEvent(fd, ms: 1000), 1)
        XCTAssertGreaterThanOrEqual(edu.stats.interrupts, 2)
    }

    func testDMARoundTrip() throws {
        let irq = try dev.enableInterrupts(kinds: HUSK_IRQ_MSI, want: 1)
        let buf = try backend.dmaAllocate(size: 4096, alignment: 4096, maxBusAddress: 1 << 28)
        defer { try? backend.dmaFree(buf) }
        XCTAssertLessThan(buf.bus + 4096, 1 << 28)
        let data = testPattern(7, 100)
        data.withUnsafeBytes { buf.cpu.copyMemory(from: $0.baseAddress!, byteCount: 100) }
        // RAM -> EDU, with 8-byte register accesses.
        try w64(0x80, buf.bus)
        try w64(0x88, 0x40000)
        try w64(0x90, 100)
        try w64(0x98, 1)
        XCTAssertTrue(try waitDMAIdle())
        XCTAssertEqual(Array(edu.deviceBuffer.prefix(100)), data)
        // EDU -> RAM at buf+200 with an interrupt, using 4-byte halves.
        try w32(0x80, 0x40000)
        try w32(0x84, 0)
        try w32(0x88, (buf.bus + 200) & 0xFFFF_FFFF)
        try w32(0x8C, (buf.bus + 200) >> 32)
        try w32(0x90, 100)
        try w32(0x94, 0)
        try w32(0x98, 1 | 2 | 4)
        XCTAssertNotNil(waitEvent(irq.eventFDs[0]))
        XCTAssertEqual(try r32(0x24) & 0x100, 0x100)
        XCTAssertEqual(try r64(0x98) & 1, 0)
        XCTAssertEqual(Array(UnsafeRawBufferPointer(start: buf.cpu + 200, count: 100)), data)
        XCTAssertEqual(edu.stats.dmaTransfers, 2)
        XCTAssertEqual(edu.stats.deviceErrors, 0)
    }

    func testDMAAboveMaskOutsideMappingOrWithoutBusMasterIsRefused() throws {
        // An IOVA at 2^28: beyond edu's 28-bit DMA mask.
        let high = try backend.dmaAllocate(size: 4096, alignment: 1 << 28, maxBusAddress: 0)
        defer { try? backend.dmaFree(high) }
        XCTAssertGreaterThanOrEqual(high.bus, 1 << 28)
        memset(high.cpu, 0x5A, 4096)
        try w64(0x80, high.bus)
        try w64(0x88, 0x40000)
        try w64(0x90, 64)
        try w64(0x98, 1)
        XCTAssertTrue(try waitDMAIdle())
        XCTAssertEqual(edu.stats.deviceErrors, 1)
        XCTAssertEqual(edu.deviceBuffer.prefix(64).allSatisfy { $0 == 0 }, true)
        // Below the mask but not mapped.
        try w64(0x80, 0x2000)
        try w64(0x98, 1)
        XCTAssertTrue(try waitDMAIdle())
        XCTAssertEqual(edu.stats.deviceErrors, 2)
        XCTAssertEqual(backend.iommu.faults, 1)
        // Outside the device's 4 KiB buffer.
        let low = try backend.dmaAllocate(size: 8192, alignment: 0, maxBusAddress: 1 << 28)
        defer { try? backend.dmaFree(low) }
        try w64(0x80, low.bus)
        try w64(0x88, 0x40000 + 4000)
        try w64(0x90, 200)
        try w64(0x98, 1)
        XCTAssertTrue(try waitDMAIdle())
        XCTAssertEqual(edu.stats.deviceErrors, 3)
        // Bus mastering off.
        let cmd = try dev.configRead(offset: 4, width: 2)
        try dev.configWrite(offset: 4, width: 2, value: cmd & ~4)
        try w64(0x88, 0x40000)
        try w64(0x90, 16)
        try w64(0x98, 1)
        XCTAssertTrue(try waitDMAIdle())
        XCTAssertEqual(edu.stats.deviceErrors, 4)
        XCTAssertEqual(edu.stats.dmaTransfers, 0)
    }
}
