import Dispatch
import Glibc
import HuskTestSupport
import HypercallABI
import Hypercalls
import SimBackend
import XCTest

final class VirtioBlkTests: XCTestCase {
    var backend: SimBackend!
    var driver: VirtioBlkTestDriver!
    var blk: SimVirtioBlk { backend.simDevices[0] as! SimVirtioBlk }

    func make(_ spec: String = "virtio-blk:size=1M") throws {
        backend = try SimBackend(specs: [spec])
        driver = try VirtioBlkTestDriver(backend: backend)
    }

    override func tearDown() {
        driver?.close()
        backend?.shutdown()
        driver = nil
        backend = nil
    }

    func testIdentityConfigSpaceAndBARs() throws {
        try make()
        let d = driver.dev
        XCTAssertEqual(d.identity.vendor, 0x1af4)
        XCTAssertEqual(d.identity.device, 0x1042)
        XCTAssertEqual(d.identity.address, "sim:0")
        XCTAssertEqual(try d.configRead(offset: 0, width: 4), 0x1042_1af4)
        XCTAssertEqual(try d.configRead(offset: 8, width: 4), 0x0180_0001)  // class 018000, revision 1
        XCTAssertEqual(try d.configRead(offset: 0x2C, width: 4), 0x0002_1af4)
        XCTAssertNotEqual(try d.configRead(offset: 6, width: 2) & 0x10, 0)  // capability list
        XCTAssertEqual(try d.configRead(offset: 0x3D, width: 1), 1)  // INTA
        // BAR sizing: write all-ones, read back the size mask.
        try d.configWrite(offset: 0x20, width: 4, value: 0xFFFF_FFFF)
        XCTAssertEqual(try d.configRead(offset: 0x20, width: 4), 0xFFFF_C00C)  // 16 KiB, 64-bit, prefetchable
        try d.configWrite(offset: 0x24, width: 4, value: 0xFFFF_FFFF)
        XCTAssertEqual(try d.configRead(offset: 0x24, width: 4), 0xFFFF_FFFF)
        try d.configWrite(offset: 0x14, width: 4, value: 0xFFFF_FFFF)
        XCTAssertEqual(try d.configRead(offset: 0x14, width: 4), 0xFFFF_F000)  // 4 KiB
        try d.configWrite(offset: 0x10, width: 4, value: 0xFFFF_FFFF)
        XCTAssertEqual(try d.configRead(offset: 0x10, width: 4), 0)  // absent
        XCTAssertEqual(d.barInfo(4).size, 0x4000)
        XCTAssertEqual(d.barInfo(4).flags & HUSK_BAR_64BIT, HUSK_BAR_64BIT)
        XCTAssertEqual(d.barInfo(4).flags & HUSK_BAR_MAPPABLE, 0)
        XCTAssertEqual(d.barInfo(0).size, 0)
        XCTAssertThrowsError(try d.mapBAR(4)) { XCTAssertEqual($0 as? HypError, .notsup) }
        // Capabilities: MSI-X with 2 vectors and the four virtio structures.
        var ptr = try d.configRead(offset: 0x34, width: 1)
        var ids: [UInt32] = []
        while ptr != 0 && ids.count < 16 {
            ids.append(try d.configRead(offset: ptr, width: 1))
            if ids.last == 0x11 { XCTAssertEqual(try d.configRead(offset: ptr + 2, width: 2) & 0x7FF, 1) }
            ptr = try d.configRead(offset: ptr + 1, width: 1)
        }
        XCTAssertEqual(ids.filter { $0 == 0x09 }.count, 4)
        XCTAssertTrue(ids.contains(0x11))
        XCTAssertEqual(driver.notifyMultiplier, 4)
        XCTAssertEqual(driver.isr.offset, 0x1000)
        XCTAssertEqual(driver.devcfg.offset, 0x2000)
        XCTAssertEqual(driver.notify.offset, 0x3000)
        // Bad accesses are refused, never a crash.
        XCTAssertThrowsError(try d.configRead(offset: 255, width: 4))
        XCTAssertThrowsError(try d.configRead(offset: 1, width: 2))
        XCTAssertThrowsError(try d.barRead(bar: 4, offset: 0x4000, width: 4))
        XCTAssertThrowsError(try d.barRead(bar: 2, offset: 0, width: 4))
        XCTAssertThrowsError(try d.barWrite(bar: 4, offset: 0x3FFC, width: 8, value: 0))
    }

    func testFeatureNegotiation() throws {
        try make()
        let offered = try driver.deviceFeatures
        XCTAssertEqual(offered, 1 << 32 | 1 << 33 | 1 << 2 | 1 << 6 | 1 << 9)
        XCTAssertEqual(try driver.negotiate(offered & ~(1 << 32)) & 8, 0, "FEATURES_OK without VERSION_1")
        XCTAssertEqual(try driver.negotiate(offered | 1 << 28) & 8, 0, "FEATURES_OK with an unoffered feature")
        XCTAssertEqual(try driver.negotiate(1 << 32) & 8, 8)
        XCTAssertEqual(try driver.negotiate(offered) & 8, 8)
        XCTAssertEqual(try driver.capacitySectors, 2048)
        XCTAssertEqual(try driver.read(driver.devcfg, 0x14, 4), 512)  // blk_size
        XCTAssertEqual(try driver.read(driver.devcfg, 0x0C, 4), 254)  // seg_max
        XCTAssertEqual(try driver.read(driver.common, 0x12, 2), 1)  // num_queues
    }

    func testWriteReadRoundTripWithMSIX() throws {
        try make()
        try driver.start(kinds: HUSK_IRQ_MSIX | HUSK_IRQ_INTX)
        XCTAssertEqual(driver.irq?.kind, HUSK_IRQ_MSIX)
        XCTAssertEqual(driver.irq?.eventFDs.count, 2)
        // The MSI-X enable bit in config space follows enableInterrupts.
        var cap = try driver.dev.configRead(offset: 0x34, width: 1)
        while cap != 0, try driver.dev.configRead(offset: cap, width: 1) != 0x11 {
            cap = try driver.dev.configRead(offset: cap + 1, width: 1)
        }
        XCTAssertNotEqual(cap, 0)
        XCTAssertEqual(try driver.dev.configRead(offset: cap + 2, width: 2) & 0x8000, 0x8000)
        let data = testPattern(1, 4096)
        driver.submit(type: BlkType.write, sector: 8, write: data)
        try driver.kick()
        XCTAssertNotNil(waitEvent(driver.irq!.eventFDs[1]), "queue interrupt on vector 1")
        let w = driver.reap()
        XCTAssertEqual(w.map(\.status), [0])
        XCTAssertEqual(w.first?.len, 1)
        let r = try XCTUnwrap(try driver.run(type: BlkType.read, sector: 8, readLength: 4096))
        XCTAssertEqual(r.status, 0)
        XCTAssertEqual(r.len, 4097)
        XCTAssertEqual(r.data, data)
        XCTAssertNil(pendingEvent(driver.irq!.eventFDs[0]), "no config interrupt")
        XCTAssertEqual(blk.stats.requests, 2)
        XCTAssertGreaterThanOrEqual(blk.stats.interrupts, 2)
    }

    func testManyRequestsInFlightAndRingWrap() throws {
        try make()
        try driver.start(queueSize: 8)
        let total = 40  // 5x the queue size: the ring indices wrap several times
        var nextSector = 0, done: [VirtioBlkTestDriver.Completion] = []
        var written: [Int: [UInt8]] = [:]
        while done.count < total {
            var batch = 0
            while nextSector < total && driver.freeRequestCapacity > 0 {
                let p = testPattern(nextSector, 1024)
                written[nextSector] = p
                driver.submit(type: BlkType.write, sector: UInt64(nextSector * 2), write: p)
                nextSector += 1
                batch += 1
            }
            XCTAssertGreaterThan(batch + done.count, 0)
            if batch > 0 { try driver.kick() }
            let got = driver.wait(for: 1)
            XCTAssertFalse(got.isEmpty, "no progress")
            if got.isEmpty { break }
            done += got
        }
        XCTAssertEqual(done.count, total)
        XCTAssertTrue(done.allSatisfy { $0.status == 0 })
        // Several reads in flight at once, then check every pattern.
        var results: [UInt64: [UInt8]] = [:]
        var heads: [UInt16: UInt64] = [:]
        var sector = 0
        while results.count < total {
            while sector < total && driver.freeRequestCapacity > 0 {
                heads[driver.submit(type: BlkType.read, sector: UInt64(sector * 2), readLength: 1024)] = UInt64(sector)
                sector += 1
            }
            try driver.kick()
            let got = driver.wait(for: 1)
            if got.isEmpty {
                XCTFail("no progress")
                break
            }
            for c in got {
                results[heads[c.id]!] = c.data
                XCTAssertEqual(c.status, 0)
            }
        }
        for (s, p) in written { XCTAssertEqual(results[UInt64(s)], p, "sector \(s * 2)") }
        XCTAssertEqual(blk.stats.requests, 2 * total)
    }

    func testSixteenBitIndexWrap() throws {
        // More than 65536 requests through a 4-entry queue: avail/used
        // indices wrap from 0xFFFF to 0 on both sides.
        try make()
        try driver.start(kinds: HUSK_IRQ_MSIX, queueSize: 4)
        driver.setNoInterrupt(true)  // poll: keeps the test fast
        var completed = 0
        var inFlight = 0
        // Bounded by time, not by rounds: on a loaded machine the device
        // thread may need many more polling rounds than on an idle one.
        let deadline = DispatchTime.now().uptimeNanoseconds + 120_000_000_000
        while completed < 66_000 && DispatchTime.now().uptimeNanoseconds < deadline {
            while driver.freeRequestCapacity > 0 && completed + inFlight < 66_000 {
                driver.submit(type: BlkType.getID, sector: 0, readLength: 20)
                inFlight += 1
            }
            try driver.kick()
            let got = driver.reap()
            if got.isEmpty { sched_yield() }
            XCTAssertTrue(got.allSatisfy { $0.status == 0 })
            completed += got.count
            inFlight -= got.count
        }
        XCTAssertEqual(completed, 66_000)
        XCTAssertEqual(blk.stats.deviceErrors, 0)
    }

    func testFlushAndPowerCutKeepExactlyFlushedWrites() throws {
        let image = TempImage(bytes: 1 << 20)
        try make("virtio-blk:image=\(image.path)")
        try driver.start()
        let a = testPattern(10, 512), b = testPattern(11, 512), c = testPattern(12, 512)
        XCTAssertEqual(try driver.run(type: BlkType.write, sector: 0, write: a)?.status, 0)
        XCTAssertEqual(try driver.run(type: BlkType.flush, sector: 0)?.status, 0)
        XCTAssertEqual(blk.stats.flushes, 1)
        XCTAssertEqual(image.contents(offset: 0, count: 512), a)
        XCTAssertEqual(try driver.run(type: BlkType.write, sector: 8, write: b)?.status, 0)
        XCTAssertEqual(try driver.run(type: BlkType.write, sector: 0, write: c)?.status, 0)
        // The cache serves reads; the file does not have the writes yet.
        XCTAssertEqual(try driver.run(type: BlkType.read, sector: 8, readLength: 512)?.data, b)
        XCTAssertEqual(try driver.run(type: BlkType.read, sector: 0, readLength: 512)?.data, c)
        XCTAssertEqual(image.contents(offset: 8 * 512, count: 512), [UInt8](repeating: 0, count: 512))
        XCTAssertEqual(blk.unflushedSectors, 2)

        blk.powerCut()
        XCTAssertEqual(try driver.status, 0, "a power cut resets the device")
        XCTAssertEqual(try driver.read(driver.common, 0x1C, 2), 0, "queue disabled")
        XCTAssertEqual(image.contents(offset: 0, count: 512), a)
        XCTAssertEqual(image.contents(offset: 8 * 512, count: 512), [UInt8](repeating: 0, count: 512))
        // The driver starts over and sees exactly the flushed state.
        driver.close()
        driver = try VirtioBlkTestDriver(backend: backend)
        try driver.start()
        XCTAssertEqual(try driver.run(type: BlkType.read, sector: 0, readLength: 512)?.data, a)
        XCTAssertEqual(try driver.run(type: BlkType.read, sector: 8, readLength: 512)?.data, [UInt8](repeating: 0, count: 512))
        // Flushing now writes the new data through.
        XCTAssertEqual(try driver.run(type: BlkType.write, sector: 8, write: b)?.status, 0)
        XCTAssertEqual(try driver.run(type: BlkType.flush, sector: 0)?.status, 0)
        XCTAssertEqual(image.contents(offset: 8 * 512, count: 512), b)
    }

    func testWritethroughWritesReachTheFile() throws {
        let image = TempImage(bytes: 64 * 1024)
        try make("virtio-blk:image=\(image.path),cache=writethrough")
        try driver.start()
        let a = testPattern(3, 1024)
        XCTAssertEqual(try driver.run(type: BlkType.write, sector: 4, write: a)?.status, 0)
        XCTAssertEqual(image.contents(offset: 4 * 512, count: 1024), a)
        blk.powerCut()
        XCTAssertEqual(image.contents(offset: 4 * 512, count: 1024), a)
    }

    func testReadOnlyDeviceRefusesWrites() throws {
        let image = TempImage(bytes: 64 * 1024, fill: 0xAB)
        try make("virtio-blk:image=\(image.path),ro")
        XCTAssertNotEqual(try driver.deviceFeatures & (1 << 5), 0, "VIRTIO_BLK_F_RO offered")
        try driver.start()
        XCTAssertEqual(try driver.run(type: BlkType.write, sector: 0, write: testPattern(1, 512))?.status, 1)
        let r = try driver.run(type: BlkType.read, sector: 0, readLength: 512)
        XCTAssertEqual(r?.status, 0)
        XCTAssertEqual(r?.data, [UInt8](repeating: 0xAB, count: 512))
        XCTAssertEqual(try driver.run(type: BlkType.flush, sector: 0)?.status, 0)
    }

    func testInjectedErrorsUnsupportedAndOutOfRange() throws {
        try make()
        try driver.start()
        blk.injectIOErrors(count: 2)
        XCTAssertEqual(try driver.run(type: BlkType.write, sector: 0, write: testPattern(1, 512))?.status, 1)
        XCTAssertEqual(try driver.run(type: BlkType.read, sector: 0, readLength: 512)?.status, 1)
        XCTAssertEqual(try driver.run(type: BlkType.read, sector: 0, readLength: 512)?.status, 0)
        XCTAssertEqual(try driver.run(type: 99, sector: 0)?.status, 2, "unsupported type")
        XCTAssertEqual(try driver.run(type: 11, sector: 0)?.status, 2, "DISCARD was not offered")
        XCTAssertEqual(try driver.run(type: BlkType.read, sector: 2048, readLength: 512)?.status, 1, "past the end")
        XCTAssertEqual(try driver.run(type: BlkType.read, sector: 2047, readLength: 1024)?.status, 1, "straddles the end")
        XCTAssertEqual(try driver.run(type: BlkType.read, sector: .max, readLength: 512)?.status, 1, "overflowing sector")
        XCTAssertEqual(try driver.run(type: BlkType.read, sector: 2047, readLength: 512)?.status, 0)
        let id = try XCTUnwrap(try driver.run(type: BlkType.getID, sector: 0, readLength: 20))
        XCTAssertEqual(id.status, 0)
        XCTAssertEqual(id.len, 21)
        XCTAssertTrue(String(decoding: id.data.prefix { $0 != 0 }, as: UTF8.self).hasPrefix("husk-sim-blk"))
        XCTAssertEqual(blk.stats.deviceErrors, 0)
    }

    func testBlockSize4096RefusesUnalignedRequests() throws {
        try make("virtio-blk:size=64K,blksize=4096")
        try driver.start()
        XCTAssertEqual(try driver.read(driver.devcfg, 0x14, 4), 4096)
        XCTAssertEqual(try driver.run(type: BlkType.write, sector: 1, write: testPattern(1, 4096))?.status, 1)
        XCTAssertEqual(try driver.run(type: BlkType.write, sector: 8, write: testPattern(1, 512))?.status, 1)
        XCTAssertEqual(try driver.run(type: BlkType.write, sector: 8, write: testPattern(1, 4096))?.status, 0)
    }

    func testDMAOutsideMappingNeedsResetAndConfigInterrupt() throws {
        try make()
        try driver.start()
        let fds = driver.irq!.eventFDs
        // Header at an IOVA nobody mapped.
        driver.submitRaw([(addr: 0x1000, len: 16, flags: 0), (addr: driver.buffers!.bus + 16, len: 1, flags: Virtq.write)])
        try driver.kick()
        XCTAssertNotNil(waitEvent(fds[0]), "config-change interrupt on msix_config")
        XCTAssertEqual(try driver.status & 0x40, 0x40, "DEVICE_NEEDS_RESET")
        XCTAssertEqual(try driver.readISR() & 2, 2)
        XCTAssertEqual(blk.stats.deviceErrors, 1)
        XCTAssertEqual(backend.iommu.faults, 1)
        // The device stays stopped: a good request is not served.
        driver.submit(type: BlkType.read, sector: 0, readLength: 512)
        try driver.kick()
        usleep(20_000)
        XCTAssertTrue(driver.reap().isEmpty)
        // Reset brings it back.
        try driver.setStatus(0)
        XCTAssertEqual(try driver.status, 0)
        XCTAssertEqual(try driver.negotiate() & 8, 8)
        try driver.setupQueue()
        try driver.driverOK()
        XCTAssertEqual(try driver.run(type: BlkType.read, sector: 0, readLength: 512)?.status, 0)
    }

    func testMalformedChainsAreDeviceErrors() throws {
        try make()
        try driver.start()
        // A descriptor that chains to itself.
        let d = driver.freeDescs.removeLast()
        driver.setDesc(d, addr: driver.buffers!.bus, len: 16, flags: Virtq.next, next: d)
        driver.publish(d)
        try driver.kick()
        XCTAssertTrue(waitUntil(5) { ((try? self.driver.status) ?? 0) & 0x40 == 0x40 })
        XCTAssertTrue(try driver.status & 0x40 != 0)
        XCTAssertNotNil(blk.lastDeviceError)
        // Reset; then an INDIRECT descriptor (never offered).
        try driver.setStatus(0)
        XCTAssertEqual(try driver.negotiate() & 8, 8)
        try driver.setupQueue()
        try driver.driverOK()
        driver.submitRaw([(addr: driver.buffers!.bus, len: 16, flags: Virtq.indirect)])
        try driver.kick()
        XCTAssertTrue(waitUntil(5) { ((try? self.driver.status) ?? 0) & 0x40 == 0x40 })
        // Missing status byte.
        try driver.setStatus(0)
        XCTAssertEqual(try driver.negotiate() & 8, 8)
        try driver.setupQueue()
        try driver.driverOK()
        driver.submitRaw([(addr: driver.buffers!.bus, len: 16, flags: 0)])
        try driver.kick()
        XCTAssertTrue(waitUntil(5) { ((try? self.driver.status) ?? 0) & 0x40 == 0x40 })
        XCTAssertEqual(blk.stats.deviceErrors, 3)
    }

    func testDMAWithoutBusMasterIsRefused() throws {
        try make()
        try driver.start()
        let cmd = try driver.dev.configRead(offset: 4, width: 2)
        try driver.dev.configWrite(offset: 4, width: 2, value: cmd & ~4)
        driver.submit(type: BlkType.read, sector: 0, readLength: 512)
        try driver.kick()
        XCTAssertTrue(waitUntil(5) { ((try? self.driver.status) ?? 0) & 0x40 == 0x40 })
        XCTAssertTrue(driver.reap().isEmpty)
    }

    func testINTxWithISRAndAcknowledge() throws {
        try make()
        driver.irq = try driver.dev.enableInterrupts(kinds: HUSK_IRQ_INTX, want: 2)
        XCTAssertEqual(driver.irq, InterruptSet(kind: HUSK_IRQ_INTX, eventFDs: driver.irq!.eventFDs))
        XCTAssertEqual(driver.irq!.eventFDs.count, 1)
        let fd = driver.irq!.eventFDs[0]
        XCTAssertEqual(try driver.negotiate() & 8, 8)
        try driver.setupQueue(vector: 0xFFFF, configVector: 0xFFFF)
        try driver.driverOK()

        driver.submit(type: BlkType.write, sector: 0, write: testPattern(1, 512))
        try driver.kick()
        XCTAssertEqual(waitEvent(fd), 1, "INTx fired")
        XCTAssertNotEqual(try driver.dev.configRead(offset: 6, width: 2) & 0x8, 0, "PCI status: interrupt pending")
        XCTAssertEqual(driver.reap().count, 1)
        // A second completion while masked: no new event.
        driver.submit(type: BlkType.write, sector: 1, write: testPattern(2, 512))
        try driver.kick()
        XCTAssertTrue(waitUntil(5) { self.driver.reap().count == 1 })
        XCTAssertNil(pendingEvent(fd), "masked until acknowledged")
        // Unmask with the line still asserted (ISR not read): fires again.
        try driver.dev.acknowledgeInterrupt(vector: 0)
        XCTAssertEqual(waitEvent(fd, ms: 1000), 1, "re-fired on unmask")
        // Reading ISR clears it and drops the line; unmask: quiet.
        XCTAssertEqual(try driver.readISR(), 1)
        XCTAssertEqual(try driver.readISR(), 0, "read clears")
        XCTAssertEqual(try driver.dev.configRead(offset: 6, width: 2) & 0x8, 0)
        try driver.dev.acknowledgeInterrupt(vector: 0)
        XCTAssertNil(waitEvent(fd, ms: 20))
        // Next completion fires again.
        driver.submit(type: BlkType.flush, sector: 0)
        try driver.kick()
        XCTAssertEqual(waitEvent(fd), 1)
        XCTAssertEqual(try driver.readISR(), 1)
        try driver.dev.acknowledgeInterrupt(vector: 0)
        XCTAssertThrowsError(try driver.dev.acknowledgeInterrupt(vector: 1))
        XCTAssertThrowsError(try driver.dev.enableInterrupts(kinds: HUSK_IRQ_INTX, want: 1)) {
            XCTAssertEqual($0 as? HypError, .busy)
        }
        driver.dev.disableInterrupts()
        XCTAssertThrowsError(try driver.dev.enableInterrupts(kinds: HUSK_IRQ_MSI, want: 1)) {
            XCTAssertEqual($0 as? HypError, .nodev)
        }
    }

    func testNoInterruptFlagIsRespected() throws {
        try make()
        try driver.start()
        driver.setNoInterrupt(true)
        driver.submit(type: BlkType.write, sector: 0, write: testPattern(1, 512))
        try driver.kick()
        XCTAssertTrue(waitUntil(5) { self.driver.reap().count == 1 })
        XCTAssertNil(waitEvent(driver.irq!.eventFDs[1], ms: 20))
        driver.setNoInterrupt(false)
        driver.submit(type: BlkType.write, sector: 0, write: testPattern(1, 512))
        try driver.kick()
        XCTAssertNotNil(waitEvent(driver.irq!.eventFDs[1]))
    }

    func testResetClearsState() throws {
        try make()
        try driver.start()
        XCTAssertEqual(try driver.run(type: BlkType.write, sector: 0, write: testPattern(1, 512))?.status, 0)
        try driver.setStatus(0)
        XCTAssertEqual(try driver.status, 0)
        XCTAssertEqual(try driver.read(driver.common, 0x1C, 2), 0, "queue_enable")
        XCTAssertEqual(try driver.read(driver.common, 0x18, 2), 256, "queue_size back to max")
        XCTAssertEqual(try driver.read(driver.common, 0x1A, 2), 0xFFFF, "queue_msix_vector")
        XCTAssertEqual(try driver.read(driver.common, 0x10, 2), 0xFFFF, "msix_config")
        XCTAssertEqual(try driver.read(driver.common, 0x20, 8), 0, "queue_desc")
        try driver.write(driver.common, 0x08, 4, 1)
        XCTAssertEqual(try driver.read(driver.common, 0x0C, 4), 0, "driver features")
        XCTAssertEqual(try driver.readISR(), 0)
        // Bad queue sizes are ignored, a smaller power of two is taken.
        try driver.write(driver.common, 0x18, 2, 100)
        XCTAssertEqual(try driver.read(driver.common, 0x18, 2), 256)
        try driver.write(driver.common, 0x18, 2, 512)
        XCTAssertEqual(try driver.read(driver.common, 0x18, 2), 256)
        try driver.write(driver.common, 0x18, 2, 64)
        XCTAssertEqual(try driver.read(driver.common, 0x18, 2), 64)
        // Data written before the reset is still on the (in-memory) disk:
        // a device reset is not a power cut... but it was never flushed, and
        // the cache survives a reset.
        try driver.negotiate()
        try driver.setupQueue()
        try driver.driverOK()
        XCTAssertEqual(try driver.run(type: BlkType.read, sector: 0, readLength: 512)?.data, testPattern(1, 512))
        // FLR through HostDevice does the same.
        try driver.dev.reset()
        XCTAssertEqual(try driver.status, 0)
    }
}
