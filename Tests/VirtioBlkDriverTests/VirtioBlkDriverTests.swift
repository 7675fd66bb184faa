import Foundation
import Glue
import GlueAPI
import HuskHost
import HuskTestSupport
import HypercallABI
import Hypercalls
import XCTest

@testable import SimBackend

/// The virtio_blk component end to end: loaded into a ComponentHost on the
/// sim backend, its disks driven through the Swift consumer API (Glue.Disk),
/// the simulated device's test controls used for faults and power loss.
final class VirtioBlkDriverTests: XCTestCase {

    // MARK: data path

    func testGeometryAndRoundTripAcrossMaxTransfer() throws {
        let rig = try VblkRig(["virtio-blk:size=16M"])
        defer { rig.shutdown() }
        let d = try rig.disk()
        XCTAssertEqual(d.blockSize, 512)
        XCTAssertEqual(d.blockCount, 16 * 2048)
        XCTAssertTrue(d.hasFlush)
        XCTAssertFalse(d.isReadOnly)
        XCTAssertEqual(d.maxTransfer, 128 * 1024)
        XCTAssertEqual(d.queueDepth, 64)
        let mt = Int(d.maxTransfer)

        // Write 2.5 max_transfers + 3 blocks at an odd block offset, in
        // pieces that cross max_transfer boundaries of the disk...
        let base: UInt64 = 7 * 512
        let total = 2 * mt + mt / 2 + 3 * 512
        let data = testPattern(1, total)
        var pos = 0
        for piece in [mt, 512, mt - 512, 3 * 512, mt / 2] where pos < total {
            let n = min(piece, total - pos)
            XCTAssertEqual(d.write(Array(data[pos..<pos + n]), at: base + UInt64(pos)), HUSK_OK, "write at \(pos)")
            pos += n
        }
        XCTAssertEqual(pos, total)
        // ... and read it back chunked differently, also across the boundaries.
        var back: [UInt8] = []
        for piece in [3 * 512, mt, mt, mt] where back.count < total {
            let n = min(piece, total - back.count)
            let (r, bytes) = d.read(n, at: base + UInt64(back.count))
            XCTAssertEqual(r, HUSK_OK)
            back += bytes
        }
        XCTAssertEqual(back, data, "data differs after the round trip")
        XCTAssertEqual(d.flush(), HUSK_OK)

        // The glue refuses what the driver advertised it cannot take.
        var big = [UInt8](repeating: 0, count: mt + 512)
        big.withUnsafeMutableBytes { b in
            XCTAssertEqual(d.submit(.read, data: b.baseAddress, offset: 0, length: UInt64(mt + 512)) { _ in }, HUSK_EINVAL)
            XCTAssertEqual(d.submit(.read, data: b.baseAddress, offset: 100, length: 512) { _ in }, HUSK_EINVAL)
        }
        // The last block and past the end.
        XCTAssertEqual(d.write(testPattern(9, 512), at: d.sizeBytes - 512), HUSK_OK)
        XCTAssertEqual(d.read(512, at: d.sizeBytes - 512).1, testPattern(9, 512))
        XCTAssertEqual(d.read(1024, at: d.sizeBytes - 512).0, HUSK_EINVAL)
    }

    func testManyRequestsInFlight() throws {
        let rig = try VblkRig(["virtio-blk:size=16M"])
        defer { rig.shutdown() }
        let d = try rig.disk()
        let depth = Int(d.queueDepth)
        let count = 256, size = 8192
        let buf = UnsafeMutableRawPointer.allocate(byteCount: count * size, alignment: 4096)
        defer { buf.deallocate() }
        let data = testPattern(5, count * size)
        data.withUnsafeBytes { buf.copyMemory(from: $0.baseAddress!, byteCount: count * size) }

        // Submit everything as fast as possible; EAGAIN means "retry after a completion".
        let tally = Tally()
        var eagain = 0
        let deadline = Date().addingTimeInterval(30)
        for i in 0..<count {
            while true {
                tally.started()
                let r = d.submit(.write, data: buf + i * size, offset: UInt64(i * size), length: UInt64(size)) { tally.finish($0) }
                if r == HUSK_OK { break }
                tally.refused()
                XCTAssertEqual(r, HUSK_EAGAIN)
                eagain += 1
                XCTAssertLessThan(Date(), deadline, "stuck on EAGAIN")
                if Date() >= deadline { return }
                tally.waitOne(seconds: 0.01)
            }
        }
        while tally.completed < count && Date() < deadline { tally.waitOne(seconds: 1) }
        let statuses = tally.all
        XCTAssertEqual(statuses.count, count)
        XCTAssertEqual(Set(statuses), [HUSK_OK])
        XCTAssertGreaterThan(eagain, 0, "256 fast submissions should have filled the \(depth)-slot queue")
        XCTAssertGreaterThanOrEqual(tally.peak, depth / 2, "requests were not in flight together")

        // Read back with 64 reads in flight at once.
        let rbuf = UnsafeMutableRawPointer.allocate(byteCount: count * size, alignment: 4096)
        defer { rbuf.deallocate() }
        let reads = Tally()
        var i = 0
        while i < count && Date() < deadline {
            let r = d.submit(.read, data: rbuf + i * size, offset: UInt64(i * size), length: UInt64(size)) { reads.finish($0) }
            if r == HUSK_OK {
                i += 1
            } else {
                XCTAssertEqual(r, HUSK_EAGAIN)
                reads.waitOne(seconds: 0.01)
            }
        }
        while reads.completed < count && Date() < deadline { reads.waitOne(seconds: 1) }
        XCTAssertEqual(reads.completed, count)
        XCTAssertEqual(Set(reads.all), [HUSK_OK])
        XCTAssertEqual(memcmp(buf, rbuf, count * size), 0, "read-back differs")
    }

    /// queue_size=4: one request at a time, so > 70,000 requests take the
    /// 16-bit avail/used indices around 65536 at least once.
    func testQueueIndicesWrapAround() throws {
        let rig = try VblkRig(["virtio-blk:size=1M"], params: ["queue_size": "4"])
        defer { rig.shutdown() }
        let d = try rig.disk()
        XCTAssertEqual(d.queueDepth, 1, "4 descriptors hold one 3-descriptor request")
        let deadline = Date().addingTimeInterval(240)
        let tally = Tally()
        var buf = [UInt8](repeating: 0, count: 512)
        var done = 0, failures = 0
        buf.withUnsafeMutableBytes { b in
            // Keep the one slot busy: resubmit as soon as a completion arrives.
            while done < 70_500 && Date() < deadline {
                let op: Glue.Disk.Operation = done % 2 == 0 ? .write : .read
                let r = d.submit(op, data: b.baseAddress, offset: UInt64(done % 2048) * 512, length: 512) { tally.finish($0) }
                if r == HUSK_EAGAIN {
                    tally.waitOne(seconds: 0.01)
                    continue
                }
                XCTAssertEqual(r, HUSK_OK)
                guard tally.waitOne(seconds: 10) else {
                    XCTFail("request \(done) never completed")
                    return
                }
                done += 1
            }
        }
        failures = tally.all.filter { $0 != HUSK_OK }.count
        XCTAssertGreaterThan(done, 70_000, "only \(done) requests before the deadline")
        XCTAssertEqual(failures, 0)
        XCTAssertGreaterThan(rig.device().stats.requests, 65_536)
        XCTAssertEqual(rig.device().stats.deviceErrors, 0, rig.device().lastDeviceError ?? "")
        // Data still right after the wrap.
        XCTAssertEqual(d.write(testPattern(3, 700), at: 512), HUSK_EINVAL, "not a whole number of blocks")
        XCTAssertEqual(d.write(testPattern(3, 2048), at: 4096), HUSK_OK)
        XCTAssertEqual(d.read(2048, at: 4096).1, testPattern(3, 2048))
    }

    // MARK: interrupts

    private func exercise(_ rig: VblkRig, requests: Int = 40) throws {
        let d = try rig.disk()
        for i in 0..<requests {
            let p = testPattern(i, 4096)
            XCTAssertEqual(d.write(p, at: UInt64(i) * 4096), HUSK_OK)
            XCTAssertEqual(d.read(4096, at: UInt64(i) * 4096).1, p)
        }
        XCTAssertEqual(d.flush(), HUSK_OK)
    }

    func testMSIXDelivery() throws {
        let rig = try VblkRig(["virtio-blk:size=1M"])
        defer { rig.shutdown() }
        XCTAssertEqual(rig.interruptMode(), UInt32(HUSK_IRQ_MSIX))
        try exercise(rig)
        XCTAssertGreaterThan(rig.device().stats.interrupts, 0)
    }

    /// The sim's virtio-blk always has MSI-X; `intx=1` makes the driver take
    /// the INTx path (ISR read, then pci_intr_ack) anyway.
    func testINTxDelivery() throws {
        let rig = try VblkRig(["virtio-blk:size=1M"], params: ["intx": "1"])
        defer { rig.shutdown() }
        XCTAssertEqual(rig.interruptMode(), UInt32(HUSK_IRQ_INTX))
        try exercise(rig)
        XCTAssertGreaterThan(rig.device().stats.interrupts, 0)
    }

    func testPollingMode() throws {
        let rig = try VblkRig(["virtio-blk:size=1M"], params: ["poll": "1"])
        defer { rig.shutdown() }
        XCTAssertEqual(rig.interruptMode(), 0, "no interrupts allocated when polling")
        try exercise(rig)
        XCTAssertEqual(rig.device().stats.interrupts, 0, "VIRTQ_AVAIL_F_NO_INTERRUPT is set when polling")
    }

    // MARK: devices, names, parameters

    func testTwoDevicesAndNames() throws {
        do {
            let rig = try VblkRig(["virtio-blk:size=1M", "virtio-blk:size=2M"])
            defer { rig.shutdown() }
            XCTAssertEqual(Glue.diskNames(), ["vblk0", "vblk1"])
            XCTAssertEqual(try rig.disk("vblk1").sizeBytes, 2 << 20)
        }
        do {
            let rig = try VblkRig(["virtio-blk:size=1M", "virtio-blk:size=1M"], params: ["name": "data"])
            defer { rig.shutdown() }
            XCTAssertEqual(Glue.diskNames(), ["data", "data1"])
        }
        XCTAssertEqual(Glue.diskNames(), [], "shutdown unregisters the disks")
    }

    func testBadParametersRefuseTheComponent() throws {
        let backend = try SimBackend(specs: ["virtio-blk:size=1M"])
        let host = ComponentHost(backend: backend)
        host.load([VblkRig.component], parameters: ["virtio_blk": ["queue_size": "5", "poll": "yes"]])
        XCTAssertEqual(host.refused.count, 1)
        XCTAssertTrue(host.refused.first?.reason.contains("EINVAL") ?? false, "\(host.refused)")
        host.shutdown()
    }

    // MARK: device kinds

    func testReadOnlyDevice() throws {
        let rig = try VblkRig(["virtio-blk:size=1M,ro"])
        defer { rig.shutdown() }
        let d = try rig.disk()
        XCTAssertTrue(d.isReadOnly)
        XCTAssertEqual(d.write(testPattern(1, 512), at: 0), HUSK_EROFS)
        XCTAssertEqual(d.read(512, at: 0).0, HUSK_OK)
        XCTAssertEqual(d.flush(), HUSK_OK)
    }

    func testInjectedIOErrors() throws {
        let rig = try VblkRig(["virtio-blk:size=1M"])
        defer { rig.shutdown() }
        let d = try rig.disk()
        XCTAssertEqual(d.write(testPattern(2, 1024), at: 0), HUSK_OK)
        rig.device().injectIOErrors(count: 2)
        XCTAssertEqual(d.write(testPattern(3, 1024), at: 0), HUSK_EIO)
        XCTAssertEqual(d.read(1024, at: 0).0, HUSK_EIO)
        let (r, back) = d.read(1024, at: 0)
        XCTAssertEqual(r, HUSK_OK)
        XCTAssertEqual(back, testPattern(2, 1024), "the failed write did nothing")
        XCTAssertEqual(rig.device().stats.deviceErrors, 0)
    }

    /// blk_size 4096: the disk has 4 KiB blocks, the request's sector field
    /// stays in 512-byte units (the sim refuses requests not aligned to
    /// blk_size, and the file shows where the data landed).
    func testBlockSize4096UsesSectorUnits() throws {
        let image = TempImage(bytes: 1 << 20)
        let rig = try VblkRig(["virtio-blk:image=\(image.path),blksize=4096,cache=writethrough"])
        defer { rig.shutdown() }
        let d = try rig.disk()
        XCTAssertEqual(d.blockSize, 4096)
        XCTAssertEqual(d.blockCount, 256)
        let p = testPattern(4, 3 * 4096)
        XCTAssertEqual(d.write(p, at: 5 * 4096), HUSK_OK)
        XCTAssertEqual(image.contents(offset: 5 * 4096, count: 3 * 4096), p, "data must land at byte 5*4096 (sector 40)")
        XCTAssertEqual(d.read(3 * 4096, at: 5 * 4096).1, p)
        XCTAssertEqual(d.read(512, at: 0).0, HUSK_EINVAL, "less than a block")
        XCTAssertEqual(rig.device().stats.deviceErrors, 0)
    }

    // MARK: reset, power loss

    /// Unload and load the component (a new host on the same image file):
    /// flushed data persists, the driver brings the device up again.
    func testReloadKeepsFlushedData() throws {
        let image = TempImage(bytes: 4 << 20)
        let p = testPattern(6, 300 * 1024)
        do {
            let rig = try VblkRig(["virtio-blk:image=\(image.path)"])
            let d = try rig.disk()
            for off in stride(from: 0, to: p.count, by: 128 * 1024) {
                let n = min(128 * 1024, p.count - off)
                XCTAssertEqual(d.write(Array(p[off..<off + n]), at: UInt64(off) + 4096), HUSK_OK)
            }
            XCTAssertEqual(d.flush(), HUSK_OK)
            rig.shutdown()
            XCTAssertFalse(d.isAlive, "the disk is withdrawn at detach")
            XCTAssertEqual(d.read(512, at: 0).0, HUSK_ENODEV)
        }
        let rig = try VblkRig(["virtio-blk:image=\(image.path)"])
        defer { rig.shutdown() }
        let d = try rig.disk()
        var back: [UInt8] = []
        while back.count < p.count {
            let n = min(128 * 1024, p.count - back.count)
            let (r, b) = d.read(n, at: UInt64(back.count) + 4096)
            XCTAssertEqual(r, HUSK_OK)
            back += b
        }
        XCTAssertEqual(back, p)
    }

    /// DEVICE_NEEDS_RESET (the sim's device-error state, with a
    /// configuration interrupt): the driver resets the device, fails what was
    /// in flight, reinitialises the queue, and I/O works again.
    func testDeviceNeedsResetRecovers() throws {
        for params in [[:], ["intx": "1"], ["poll": "1"]] as [[String: String]] {
            let rig = try VblkRig(["virtio-blk:size=1M"], params: params)
            defer { rig.shutdown() }
            let d = try rig.disk()
            XCTAssertEqual(d.write(testPattern(7, 2048), at: 0), HUSK_OK)
            let blk = rig.device()
            blk.lock.withLock { blk.deviceErrorLocked("test: forced DEVICE_NEEDS_RESET") }
            let (r, back) = d.readEventually(2048, at: 0)
            XCTAssertEqual(r, HUSK_OK, "no recovery with \(params)")
            XCTAssertEqual(back, testPattern(7, 2048), "with \(params)")
            XCTAssertEqual(d.write(testPattern(8, 512), at: 4096), HUSK_OK)
            XCTAssertEqual(d.read(512, at: 4096).1, testPattern(8, 512))
            XCTAssertEqual(blk.stats.deviceErrors, 1)
        }
    }

    /// Write A, flush, write B (not flushed), power cut: the driver notices
    /// the device lost its state and reinitialises it; A is there, B is not,
    /// both through the running driver and after a reload.
    func testPowerCutKeepsOnlyFlushedWrites() throws {
        let image = TempImage(bytes: 1 << 20)
        let a = testPattern(10, 4096), b = testPattern(11, 4096), zero = [UInt8](repeating: 0, count: 4096)
        do {
            let rig = try VblkRig(["virtio-blk:image=\(image.path)"])
            defer { rig.shutdown() }
            let d = try rig.disk()
            XCTAssertEqual(d.write(a, at: 0), HUSK_OK)
            XCTAssertEqual(d.flush(), HUSK_OK)
            XCTAssertEqual(d.write(b, at: 64 * 1024), HUSK_OK)
            XCTAssertEqual(d.read(4096, at: 64 * 1024).1, b, "B sits in the volatile cache")
            XCTAssertGreaterThan(rig.device().unflushedSectors, 0)
            rig.device().powerCut()
            XCTAssertEqual(image.contents(offset: 0, count: 4096), a)
            XCTAssertEqual(image.contents(offset: 64 * 1024, count: 4096), zero)
            // The running driver recovers (its health check sees the reset).
            let (r, back) = d.readEventually(4096, at: 0)
            XCTAssertEqual(r, HUSK_OK)
            XCTAssertEqual(back, a)
            XCTAssertEqual(d.read(4096, at: 64 * 1024).1, zero, "B was lost with the power")
        }
        let rig = try VblkRig(["virtio-blk:image=\(image.path)"])
        defer { rig.shutdown() }
        let d = try rig.disk()
        XCTAssertEqual(d.read(4096, at: 0).1, a)
        XCTAssertEqual(d.read(4096, at: 64 * 1024).1, zero)
    }

    /// A power cut while requests are in flight: they complete (EIO or OK,
    /// never hang) and the disk comes back.
    func testPowerCutWithRequestsInFlight() throws {
        let rig = try VblkRig(["virtio-blk:size=4M"])
        defer { rig.shutdown() }
        let d = try rig.disk()
        let size = 64 * 1024, count = 64
        let buf = UnsafeMutableRawPointer.allocate(byteCount: size * count, alignment: 4096)
        defer { buf.deallocate() }
        let tally = Tally()
        var submitted = 0
        for i in 0..<count {
            if d.submit(.write, data: buf + i * size, offset: UInt64(i * size), length: UInt64(size), completion: { tally.finish($0) })
                == HUSK_OK
            {
                submitted += 1
            }
        }
        rig.device().powerCut()
        let deadline = Date().addingTimeInterval(15)
        while tally.completed < submitted && Date() < deadline { tally.waitOne(seconds: 1) }
        XCTAssertEqual(tally.completed, submitted, "requests in flight at the power cut must complete")
        XCTAssertTrue(Set(tally.all).isSubset(of: [HUSK_OK, HUSK_EIO]), "\(Set(tally.all))")
        XCTAssertEqual(d.readEventually(512, at: 0).0, HUSK_OK)
    }
}
