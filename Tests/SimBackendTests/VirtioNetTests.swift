import Dispatch
import Glibc
import HuskTestSupport
import HypercallABI
import Hypercalls
import SimBackend
import XCTest

/// The sim virtio-net device at register level: two NICs wired back to back
/// (`virtio-net:link=NAME`), each driven by VirtioNetTestDriver.
final class VirtioNetTests: XCTestCase {
    typealias Feature = VirtioNetTestDriver.Feature
    var backend: SimBackend!
    var a: VirtioNetTestDriver!
    var b: VirtioNetTestDriver!
    var nicA: SimVirtioNet { backend.simDevices[0] as! SimVirtioNet }
    var nicB: SimVirtioNet { backend.simDevices[1] as! SimVirtioNet }
    static let macA: [UInt8] = [0x52, 0x54, 0x00, 0x0A, 0x00, 0x01]
    static let macB: [UInt8] = [0x52, 0x54, 0x00, 0x0B, 0x00, 0x02]

    /// A link name no other test uses (links are process-wide).
    static func uniqueLink(_ tag: String = "t") -> String {
        "\(tag)\(getpid())-\(DispatchTime.now().uptimeNanoseconds % 1_000_000_007)"
    }

    /// NICs A and B on one link, both opened; `extraA`/`extraB` are more options (",mtu=9000").
    func makePair(_ extraA: String = "", _ extraB: String = "") throws {
        let link = VirtioNetTests.uniqueLink()
        backend = try SimBackend(specs: [
            "virtio-net:link=\(link),mac=52:54:00:0a:00:01\(extraA)", "virtio-net:link=\(link),mac=52:54:00:0b:00:02\(extraB)"
        ])
        a = try VirtioNetTestDriver(backend: backend, index: 0)
        b = try VirtioNetTestDriver(backend: backend, index: 1)
    }

    override func tearDown() {
        a?.close()
        b?.close()
        backend?.shutdown()
        a = nil
        b = nil
        backend = nil
    }

    func frame(_ length: Int, seed: Int, from src: [UInt8] = macA, to dst: [UInt8] = macB) -> [UInt8] {
        ethernetFrame(to: dst, from: src, length: length, seed: seed)
    }

    // MARK: identity, features, config

    func testIdentityCapabilitiesAndDeviceConfig() throws {
        try makePair("", ",mtu=9000")
        let d = a.dev
        XCTAssertEqual(d.identity.vendor, 0x1af4)
        XCTAssertEqual(d.identity.device, 0x1041)
        XCTAssertEqual(try d.configRead(offset: 0, width: 4), 0x1041_1af4)
        XCTAssertEqual(try d.configRead(offset: 8, width: 4), 0x0200_0001)  // class 020000 (Ethernet), revision 1
        XCTAssertEqual(try d.configRead(offset: 0x2C, width: 4), 0x0001_1af4)
        XCTAssertEqual(d.barInfo(4).size, 0x4000)
        XCTAssertEqual(d.barInfo(1).size, 0x1000)
        // MSI-X with 3 vectors (config, receive, transmit) and four virtio structures.
        var ptr = try d.configRead(offset: 0x34, width: 1)
        var ids: [UInt32] = []
        while ptr != 0 && ids.count < 16 {
            ids.append(try d.configRead(offset: ptr, width: 1))
            if ids.last == 0x11 { XCTAssertEqual(try d.configRead(offset: ptr + 2, width: 2) & 0x7FF, 2) }
            ptr = try d.configRead(offset: ptr + 1, width: 1)
        }
        XCTAssertEqual(ids.filter { $0 == 0x09 }.count, 4)
        XCTAssertTrue(ids.contains(0x11))
        XCTAssertEqual(a.notify.length, 8, "two queues times notify_off_multiplier 4")
        XCTAssertEqual(a.devcfg.length, 12)
        XCTAssertEqual(try a.read(a.common, 0x12, 2), 2, "num_queues: receiveq1, transmitq1")
        for q: UInt64 in [0, 1] {
            try a.write(a.common, 0x16, 2, q)
            XCTAssertEqual(try a.read(a.common, 0x18, 2), 256)
            XCTAssertEqual(try a.read(a.common, 0x1E, 2), q, "queue_notify_off")
        }
        try a.write(a.common, 0x16, 2, 2)
        XCTAssertEqual(try a.read(a.common, 0x18, 2), 0, "no control queue")
        // Features: only what is implemented; MTU only when configured.
        let base = Feature.version1 | Feature.accessPlatform | Feature.mac | Feature.status | Feature.mrgRxbuf
        XCTAssertEqual(try a.deviceFeatures, base)
        XCTAssertEqual(try b.deviceFeatures, base | Feature.mtu)
        // Device config: mac, status LINK_UP, max_virtqueue_pairs 1, mtu.
        XCTAssertEqual(try a.mac, VirtioNetTests.macA)
        XCTAssertEqual(try b.mac, VirtioNetTests.macB)
        XCTAssertEqual(try a.linkStatus, 1)
        XCTAssertEqual(try a.read(a.devcfg, 8, 2), 1)
        XCTAssertEqual(try a.read(a.devcfg, 10, 2), 1500)
        XCTAssertEqual(try b.read(b.devcfg, 10, 2), 9000)
        XCTAssertEqual(try a.read(a.devcfg, 0, 4), 0x0A00_5452, "one 4-byte read of the MAC's first bytes")
        XCTAssertEqual(nicA.mediumLabel, nicB.mediumLabel)
        XCTAssertTrue(nicA.mediumLabel?.hasPrefix("link ") ?? false)
    }

    func testNegotiationNeedsVersion1AndAccessPlatform() throws {
        try makePair()
        let offered = try a.deviceFeatures
        XCTAssertEqual(try a.negotiate(Feature.version1) & 8, 0, "FEATURES_OK without ACCESS_PLATFORM: the device DMAs through the IOMMU")
        XCTAssertEqual(try a.negotiate(Feature.accessPlatform) & 8, 0, "FEATURES_OK without VERSION_1")
        XCTAssertEqual(try a.negotiate(offered | 1 << 17) & 8, 0, "CTRL_VQ was not offered")
        XCTAssertEqual(try a.negotiate(offered | 1 << 0) & 8, 0, "CSUM was not offered")
        XCTAssertEqual(try a.negotiate(Feature.version1 | Feature.accessPlatform) & 8, 8)
        XCTAssertEqual(try a.negotiate(offered) & 8, 8)
        // Features are frozen after FEATURES_OK.
        try a.write(a.common, 0x08, 4, 0)
        try a.write(a.common, 0x0C, 4, 0)
        XCTAssertEqual(try a.read(a.common, 0x0C, 4), offered & 0xFFFF_FFFF)
    }

    // MARK: frames across the link

    func testFramesCrossTheLinkWithTheHeaderAddedAndStripped() throws {
        try makePair()
        try a.start()
        try b.start()
        try b.postRX()
        let lengths = [14, 60, 100, 1514, 1518]  // 1518: one VLAN tag beyond a 1500 MTU
        for (i, n) in lengths.enumerated() { XCTAssertTrue(try a.send(frame(n, seed: i), splitHeader: i % 2 == 1)) }
        XCTAssertNotNil(waitEvent(a.irq!.eventFDs[2]), "transmit interrupt on vector 2")
        XCTAssertTrue(a.waitTXDone())
        let got = b.waitFrames(lengths.count)
        assertFrames(got, lengths.enumerated().map { frame($0.element, seed: $0.offset) })
        for r in got {
            XCTAssertEqual(r.header, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0], "flags 0, GSO_NONE, num_buffers 1")
            XCTAssertEqual(r.lengths, [UInt32(12 + r.frame.count)], "used len: header and frame")
        }
        XCTAssertNotNil(pendingEvent(b.irq!.eventFDs[1]), "receive interrupt on vector 1")
        XCTAssertNil(pendingEvent(b.irq!.eventFDs[0]), "no config interrupt")
        var sa = nicA.stats, sb = nicB.stats
        XCTAssertEqual(sa.txFrames, lengths.count)
        XCTAssertEqual(sa.txBytes, lengths.reduce(0, +))
        XCTAssertEqual(sb.rxFrames, lengths.count)
        XCTAssertEqual(sb.rxBytes, lengths.reduce(0, +))
        XCTAssertEqual(sa.txErrors + sa.txNoPeer + sb.rxNoBuffers + sb.rxNotReady + sa.deviceErrors + sb.deviceErrors, 0)
        // And back the other way.
        try a.postRX()
        XCTAssertTrue(try b.send(frame(64, seed: 9, from: VirtioNetTests.macB, to: VirtioNetTests.macA)))
        assertFrames(a.waitFrames(1), [frame(64, seed: 9, from: VirtioNetTests.macB, to: VirtioNetTests.macA)])
        XCTAssertTrue(b.waitTXDone())
        sa = nicA.stats
        sb = nicB.stats
        XCTAssertEqual(sa.rxFrames, 1)
        XCTAssertEqual(sb.txFrames, 1)
    }

    func testTransmitUsedLengthIsZeroAndInterruptsCanBeSuppressed() throws {
        try makePair()
        try a.start()
        try b.start()
        try b.postRX()
        a.tx.setNoInterrupt(true)
        XCTAssertTrue(try a.send(frame(60, seed: 1)))
        XCTAssertEqual(b.waitFrames(1).count, 1)
        XCTAssertTrue(waitUntil(5) { self.a.tx.usedIndex == 1 })
        XCTAssertEqual(a.reapTX(), [0], "the device writes nothing into transmit buffers")
        XCTAssertNil(waitEvent(a.irq!.eventFDs[2], ms: 20), "VIRTQ_AVAIL_F_NO_INTERRUPT")
    }

    func testTwoBackendsInOneProcessShareALink() throws {
        let link = VirtioNetTests.uniqueLink("x")
        let one = try SimBackend(specs: ["virtio-net:link=\(link)"])
        defer { one.shutdown() }
        let two = try SimBackend(specs: ["virtio-net:link=\(link)"])
        defer { two.shutdown() }
        let d1 = try VirtioNetTestDriver(backend: one), d2 = try VirtioNetTestDriver(backend: two)
        defer {
            d1.close()
            d2.close()
        }
        try d1.start()
        try d2.start()
        try d2.postRX()
        let m1 = try d1.mac, m2 = try d2.mac
        XCTAssertNotEqual(m1, m2, "default MACs differ")
        XCTAssertEqual(Array(m1.prefix(3)), [0x52, 0x54, 0x00])
        let f = ethernetFrame(to: m2, from: m1, length: 200, seed: 4)
        XCTAssertTrue(try d1.send(f))
        assertFrames(d2.waitFrames(1), [f])
    }

    // MARK: drops

    func testReceiveBufferExhaustionDropsAndCounts() throws {
        try makePair()
        try a.start()
        try b.start()
        try b.postRX(2)
        for i in 0..<5 { XCTAssertTrue(try a.send(frame(60, seed: i), kick: false)) }
        try a.kick(queue: 1)
        XCTAssertTrue(a.waitTXDone(), "the sender is never held up by the receiver")
        assertFrames(b.waitFrames(2), [frame(60, seed: 0), frame(60, seed: 1)])
        XCTAssertEqual(nicA.stats.txFrames, 5)
        XCTAssertEqual(nicB.stats.rxFrames, 2)
        XCTAssertEqual(nicB.stats.rxNoBuffers, 3)
        // Buffers posted again: the next frame arrives.
        try b.postRX()
        XCTAssertTrue(try a.send(frame(60, seed: 7)))
        assertFrames(b.waitFrames(1), [frame(60, seed: 7)])
        XCTAssertEqual(nicB.stats.rxNoBuffers, 3)
    }

    func testFramesToADriverThatIsNotRunningAreDropped() throws {
        try makePair()
        try a.start()
        // B: features negotiated, queues set up, no DRIVER_OK yet.
        b.irq = try b.dev.enableInterrupts(kinds: HUSK_IRQ_MSIX, want: 3)
        XCTAssertEqual(try b.negotiate(VirtioNetTestDriver.usualFeatures) & 8, 8)
        try b.setupQueues()
        try b.postRX()
        XCTAssertTrue(try a.send(frame(60, seed: 1)))
        XCTAssertTrue(a.waitTXDone())
        XCTAssertEqual(nicB.stats.rxNotReady, 1)
        XCTAssertTrue(b.receive().isEmpty)
        try b.driverOK()
        XCTAssertTrue(try a.send(frame(60, seed: 2)))
        assertFrames(b.waitFrames(1), [frame(60, seed: 2)])
    }

    func testALoneNICTransmitsIntoNothing() throws {
        backend = try SimBackend(specs: ["virtio-net:link=\(VirtioNetTests.uniqueLink("lone"))"])
        a = try VirtioNetTestDriver(backend: backend)
        try a.start()
        for i in 0..<3 { XCTAssertTrue(try a.send(frame(60, seed: i))) }
        XCTAssertTrue(a.waitTXDone(), "completed as a real NIC with no cable completes")
        XCTAssertEqual(nicA.stats.txNoPeer, 3)
        XCTAssertEqual(nicA.stats.txFrames, 0)
    }

    func testBadTransmitHeadersAndLengthsAreDroppedNotFatal() throws {
        try makePair(",mtu=1400")
        try a.start()
        try b.start()
        try b.postRX()
        var csum = [UInt8](repeating: 0, count: 12)
        csum[0] = 1  // VIRTIO_NET_HDR_F_NEEDS_CSUM: CSUM was not offered
        var gso = [UInt8](repeating: 0, count: 12)
        gso[1] = 1  // VIRTIO_NET_HDR_GSO_TCPV4: not offered
        XCTAssertTrue(try a.send(frame(60, seed: 1), header: csum))
        XCTAssertTrue(try a.send(frame(60, seed: 2), header: gso))
        XCTAssertTrue(try a.send(Array(frame(60, seed: 3).prefix(13))), "shorter than an Ethernet header")
        XCTAssertTrue(try a.send(frame(1400 + 19, seed: 4)), "over MTU 1400 + 18")
        XCTAssertTrue(try a.send(frame(1400 + 18, seed: 5)))
        XCTAssertTrue(a.waitTXDone())
        XCTAssertEqual(b.waitFrames(1).map(\.frame.count), [1418])
        XCTAssertEqual(nicA.stats.txErrors, 4)
        XCTAssertEqual(nicA.stats.txFrames, 1)
        XCTAssertEqual(nicA.stats.deviceErrors, 0)
        // B (MTU 1500) sends A a frame longer than A's MTU allows: dropped on receive.
        try a.postRX()
        XCTAssertTrue(try b.send(frame(1500, seed: 6, from: VirtioNetTests.macB, to: VirtioNetTests.macA)))
        XCTAssertTrue(b.waitTXDone())
        XCTAssertEqual(nicA.stats.rxOversize, 1)
        XCTAssertTrue(a.receive().isEmpty)
    }

    // MARK: ring wrap

    func testSixteenBitIndexWrap() throws {
        // More than 65536 frames through 8-entry queues: the avail/used
        // indices of both rings wrap from 0xFFFF to 0, many times over.
        try makePair()
        try a.start(rxSize: 8, txSize: 8)
        try b.start(rxSize: 8, txSize: 8)
        a.tx.setNoInterrupt(true)
        b.rx.setNoInterrupt(true)
        let total = 66_000
        var sent = 0, received = 0
        // Bounded by time, not by rounds: on a loaded machine the device
        // thread may need many more polling rounds than on an idle one.
        let deadline = DispatchTime.now().uptimeNanoseconds + 120_000_000_000
        while received < total && DispatchTime.now().uptimeNanoseconds < deadline {
            try b.postRX()
            // Never more in flight than B has buffers, so nothing is dropped.
            var batch = 0
            while sent < total && sent - received < 8 {
                guard try a.send(frame(64, seed: sent), kick: false) else { break }
                sent += 1
                batch += 1
            }
            if batch > 0 { try a.kick(queue: 1) }
            let got = b.receive()
            for r in got {
                if r.frame != frame(64, seed: received) {
                    XCTFail("frame \(received) arrived out of order or damaged")
                    return
                }
                received += 1
            }
            _ = a.reapTX()
            if got.isEmpty { sched_yield() }
        }
        XCTAssertEqual(received, total)
        XCTAssertEqual(nicB.stats.rxNoBuffers, 0)
        XCTAssertEqual(nicA.stats.deviceErrors + nicB.stats.deviceErrors, 0)
        XCTAssertEqual(b.rx.lastUsed, UInt16(truncatingIfNeeded: total))
    }

    // MARK: MRG_RXBUF

    func testMergeableReceiveSpansSmallBuffers() throws {
        try makePair()
        try a.start()
        try b.start(mergeable: true, rxSize: 16, rxBufferBytes: 256)
        XCTAssertTrue(b.mergeable)
        try b.postRX()
        let big = frame(1514, seed: 3)
        XCTAssertTrue(try a.send(big))
        let r = try XCTUnwrap(b.waitFrames(1).first)
        assertFrames([r], [big])
        XCTAssertEqual(r.numBuffers, 6, "12 + 1514 bytes in 256-byte buffers")
        XCTAssertEqual(r.lengths, [256, 256, 256, 256, 256, 246])
        XCTAssertEqual(Array(r.header[0..<10]), [UInt8](repeating: 0, count: 10))
        // A small frame takes one buffer and says so.
        XCTAssertTrue(try a.send(frame(60, seed: 4)))
        let s = try XCTUnwrap(b.waitFrames(1).first)
        XCTAssertEqual(s.numBuffers, 1)
        XCTAssertEqual(s.lengths, [72])
        XCTAssertEqual(nicB.stats.rxFrames, 2)
    }

    func testMergeableReceiveWithTooFewBuffersTakesNone() throws {
        try makePair()
        try a.start()
        try b.start(mergeable: true, rxSize: 16, rxBufferBytes: 256)
        try b.postRX(3)  // 768 bytes: not enough for 12 + 1514
        XCTAssertTrue(try a.send(frame(1514, seed: 1)))
        XCTAssertTrue(a.waitTXDone())
        XCTAssertEqual(nicB.stats.rxNoBuffers, 1)
        XCTAssertEqual(b.rx.usedIndex, 0, "no buffer was consumed")
        // The three buffers are still there for a frame that fits.
        XCTAssertTrue(try a.send(frame(600, seed: 2)))
        let r = try XCTUnwrap(b.waitFrames(1).first)
        XCTAssertEqual(r.numBuffers, 3)
        assertFrames([r], [frame(600, seed: 2)])
    }

    func testWithoutMergeableABufferTooSmallDropsTheFrameAndStaysPosted() throws {
        try makePair()
        try a.start()
        try b.start(rxBufferBytes: 256)
        try b.postRX(1)
        XCTAssertTrue(try a.send(frame(1514, seed: 1)))
        XCTAssertTrue(a.waitTXDone())
        XCTAssertEqual(nicB.stats.rxBufferTooSmall, 1)
        XCTAssertEqual(b.rx.usedIndex, 0)
        XCTAssertTrue(try a.send(frame(244, seed: 2)))  // 12 + 244 = 256: fits exactly
        let r = try XCTUnwrap(b.waitFrames(1).first)
        assertFrames([r], [frame(244, seed: 2)])
        XCTAssertEqual(r.numBuffers, 1)
    }

    // MARK: reset, link, errors

    func testResetClearsQueuesAndTheDriverStartsOver() throws {
        try makePair()
        try a.start()
        try b.start()
        try b.postRX()
        XCTAssertTrue(try a.send(frame(60, seed: 1)))
        XCTAssertEqual(b.waitFrames(1).count, 1)
        try b.setStatus(0)
        XCTAssertEqual(try b.status, 0)
        for q: UInt64 in [0, 1] {
            try b.write(b.common, 0x16, 2, q)
            XCTAssertEqual(try b.read(b.common, 0x1C, 2), 0, "queue_enable")
            XCTAssertEqual(try b.read(b.common, 0x18, 2), 256, "queue_size back to max")
            XCTAssertEqual(try b.read(b.common, 0x1A, 2), 0xFFFF, "queue_msix_vector")
            XCTAssertEqual(try b.read(b.common, 0x20, 8), 0, "queue_desc")
        }
        XCTAssertEqual(try b.read(b.common, 0x10, 2), 0xFFFF, "msix_config")
        try b.write(b.common, 0x08, 4, 1)
        XCTAssertEqual(try b.read(b.common, 0x0C, 4), 0, "driver features")
        // Frames for a reset device are dropped, not queued.
        XCTAssertTrue(try a.send(frame(60, seed: 2)))
        XCTAssertTrue(a.waitTXDone())
        XCTAssertEqual(nicB.stats.rxNotReady, 1)
        // The driver starts over: indices from 0 again.
        try b.start()
        try b.postRX()
        XCTAssertTrue(try a.send(frame(60, seed: 3)))
        assertFrames(b.waitFrames(1), [frame(60, seed: 3)])
        XCTAssertEqual(b.rx.usedIndex, 1)
        // FLR through HostDevice does the same.
        try b.dev.reset()
        XCTAssertEqual(try b.status, 0)
    }

    func testLinkStatusChangeRaisesAConfigInterrupt() throws {
        try makePair()
        try a.start()
        try b.start()
        try b.postRX()
        try a.postRX()
        let gen = try a.configGeneration
        nicA.setLink(up: false)
        XCTAssertNotNil(waitEvent(a.irq!.eventFDs[0]), "config-change interrupt on msix_config")
        XCTAssertEqual(try a.linkStatus, 0)
        XCTAssertNotEqual(try a.configGeneration, gen)
        XCTAssertFalse(nicA.linkUp)
        // Down: nothing leaves A, nothing reaches it.
        XCTAssertTrue(try a.send(frame(60, seed: 1)))
        XCTAssertTrue(a.waitTXDone())
        XCTAssertTrue(try b.send(frame(60, seed: 2, from: VirtioNetTests.macB, to: VirtioNetTests.macA)))
        XCTAssertTrue(b.waitTXDone())
        XCTAssertEqual(nicA.stats.txLinkDown, 1)
        XCTAssertEqual(nicA.stats.rxNotReady, 1)
        XCTAssertTrue(b.receive().isEmpty)
        nicA.setLink(up: true)
        XCTAssertNotNil(waitEvent(a.irq!.eventFDs[0]))
        XCTAssertEqual(try a.linkStatus, 1)
        XCTAssertEqual(nicA.stats.linkChanges, 2)
        nicA.setLink(up: true)  // no change, no interrupt
        XCTAssertNil(waitEvent(a.irq!.eventFDs[0], ms: 20))
        XCTAssertTrue(try a.send(frame(60, seed: 3)))
        assertFrames(b.waitFrames(1), [frame(60, seed: 3)])
    }

    func testLinkDownOptionAndINTxConfigInterrupt() throws {
        try makePair(",down")
        XCTAssertFalse(nicA.linkUp)
        a.irq = try a.dev.enableInterrupts(kinds: HUSK_IRQ_INTX, want: 1)
        let fd = a.irq!.eventFDs[0]
        XCTAssertEqual(try a.negotiate(VirtioNetTestDriver.usualFeatures) & 8, 8)
        try a.setupQueues(vectors: false)
        XCTAssertEqual(try a.linkStatus, 0)
        nicA.setLink(up: true)
        XCTAssertNil(waitEvent(fd, ms: 20), "no config interrupt before DRIVER_OK")
        nicA.setLink(up: false)
        try a.driverOK()
        nicA.setLink(up: true)
        XCTAssertEqual(waitEvent(fd), 1, "INTx")
        XCTAssertEqual(try a.readISR(), 2, "ISR: configuration change")
        XCTAssertEqual(try a.linkStatus, 1)
        try a.dev.acknowledgeInterrupt(vector: 0)
        // Receive interrupts come as ISR bit 0 on INTx.
        try b.start()
        try a.postRX()
        XCTAssertTrue(try b.send(frame(60, seed: 1, from: VirtioNetTests.macB, to: VirtioNetTests.macA)))
        XCTAssertEqual(waitEvent(fd), 1)
        XCTAssertEqual(try a.readISR(), 1)
        XCTAssertEqual(a.receive().count, 1)
    }

    func testInjectedDeviceErrorNeedsResetAndRecovers() throws {
        try makePair()
        try a.start()
        try b.start()
        try b.postRX()
        nicA.injectDeviceError("test: internal failure")
        XCTAssertNotNil(waitEvent(a.irq!.eventFDs[0]), "config-change interrupt")
        XCTAssertEqual(try a.status & 0x40, 0x40, "DEVICE_NEEDS_RESET")
        XCTAssertEqual(nicA.lastDeviceError, "test: internal failure")
        // Stopped: a transmit is not served.
        XCTAssertTrue(try a.send(frame(60, seed: 1)))
        usleep(20_000)
        XCTAssertTrue(a.reapTX().isEmpty)
        XCTAssertEqual(nicA.stats.txFrames, 0)
        // The driver's reset path brings it back.
        try a.start()
        XCTAssertTrue(try a.send(frame(60, seed: 2)))
        assertFrames(b.waitFrames(1), [frame(60, seed: 2)])
        XCTAssertEqual(nicA.stats.deviceErrors, 1)
    }

    func testMalformedChainsAreDeviceErrors() throws {
        try makePair()
        try a.start()
        try b.start()
        func expectNeedsReset(_ d: VirtioNetTestDriver, _ what: String) {
            XCTAssertTrue(waitUntil(5) { ((try? d.status) ?? 0) & 0x40 == 0x40 }, what)
        }
        // A transmit buffer the device may write.
        try a.sendRaw([(addr: a.txBuffers!.bus, len: 72, flags: Virtq.write)])
        expectNeedsReset(a, "writable transmit buffer")
        // A transmit chain shorter than the header.
        try a.start()
        try a.sendRaw([(addr: a.txBuffers!.bus, len: 8, flags: 0)])
        expectNeedsReset(a, "short transmit chain")
        // A transmit buffer outside every DMA mapping.
        try a.start()
        try a.sendRaw([(addr: 0x1000, len: 72, flags: 0)])
        expectNeedsReset(a, "DMA fault")
        XCTAssertEqual(nicA.stats.deviceErrors, 3)
        // A receive buffer the device may not write, found when a frame arrives.
        try a.start()
        b.rx.setDesc(0, addr: b.rxBuffers!.bus, len: 1526, flags: 0, next: 0)
        b.rx.publish(0)
        XCTAssertTrue(try a.send(frame(60, seed: 1)))
        expectNeedsReset(b, "readable receive buffer")
        XCTAssertNotNil(nicB.lastDeviceError)
        // With MRG_RXBUF, a first buffer smaller than the header.
        try b.start(mergeable: true)
        b.rx.setDesc(0, addr: b.rxBuffers!.bus, len: 8, flags: Virtq.write, next: 0)
        b.rx.publish(0)
        XCTAssertTrue(try a.send(frame(60, seed: 2)))
        expectNeedsReset(b, "receive buffer smaller than the header")
        XCTAssertEqual(nicB.stats.deviceErrors, 2)
    }

    func testInjectedFramesReachTheDriver() throws {
        backend = try SimBackend(specs: ["virtio-net:link=\(VirtioNetTests.uniqueLink("inj"))"])
        a = try VirtioNetTestDriver(backend: backend)
        try a.start()
        try a.postRX()
        let f = frame(300, seed: 5, from: VirtioNetTests.macB, to: VirtioNetTests.macA)
        nicA.injectFrame(f)
        assertFrames(a.waitFrames(1), [f])
    }

    func testNICsWiredInCode() throws {
        let link = VirtioNetTests.uniqueLink("code")
        let one = try SimVirtioNet(mac: VirtioNetTests.macA), two = try SimVirtioNet(mac: VirtioNetTests.macB, mtu: 2000)
        try one.plug(intoLink: link)
        try two.plug(intoLink: link)
        XCTAssertThrowsError(try two.plug(intoLink: "other")) { XCTAssertEqual($0 as? HypError, .busy) }
        XCTAssertThrowsError(try SimVirtioNet(mac: [1, 2, 3, 4, 5, 6])) { XCTAssertEqual($0 as? HypError, .inval) }
        XCTAssertThrowsError(try SimVirtioNet(mtu: 40)) { XCTAssertEqual($0 as? HypError, .inval) }
        backend = SimBackend(devices: [one, two])
        a = try VirtioNetTestDriver(backend: backend, index: 0)
        b = try VirtioNetTestDriver(backend: backend, index: 1)
        try a.start()
        try b.start(features: VirtioNetTestDriver.usualFeatures | Feature.mtu)
        XCTAssertEqual(try b.read(b.devcfg, 10, 2), 2000)
        try b.postRX()
        XCTAssertTrue(try a.send(frame(1000, seed: 1)))
        assertFrames(b.waitFrames(1), [frame(1000, seed: 1)])
    }

    // MARK: specs

    func testSpecErrors() throws {
        func refused(_ spec: String, _ code: HypError = .inval, mentions: String, file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertThrowsError(try SimBackend(specs: [spec]), file: file, line: line) { e in
                XCTAssertEqual(e as? HypError, code, "\(e)", file: file, line: line)
                XCTAssertTrue((e as? HypError)?.detail.contains(mentions) ?? false, "\(e)", file: file, line: line)
            }
        }
        refused("virtio-net", mentions: "exactly one of link=NAME or tap=IFNAME")
        refused("virtio-net:link=a,tap=b", mentions: "exactly one of link=NAME or tap=IFNAME")
        refused("virtio-net:link=a,colour=red", mentions: "link, tap, mac, mtu, down")
        refused("virtio-net:link=a,link=b", mentions: "given twice")
        refused("virtio-net:link=", mentions: "needs a value")
        refused("virtio-net:link=a b", mentions: "letters, digits")
        refused("virtio-net:link=a,mac=52:54:00:12:34", mentions: "like 52:54:00:12:34:56")
        refused("virtio-net:link=a,mac=01:00:5e:00:00:01", mentions: "not a unicast")
        refused("virtio-net:link=a,mac=00:00:00:00:00:00", mentions: "not a unicast")
        refused("virtio-net:link=a,mac=52:54:00:12:34:+6", mentions: "like 52:54:00:12:34:56")
        refused("virtio-net:link=a,mtu=67", mentions: "68...65535")
        refused("virtio-net:link=a,mtu=big", mentions: "68...65535")
        refused("virtio-net:link=a,down=maybe", mentions: "down takes no value")
        refused("virtio-net:tap=nosuch-husk0", .noent, mentions: "nosuch-husk0")
        refused("virtio-net:tap=bad/name", mentions: "not an interface name")
        // A third NIC on one link, in the same backend or another one.
        let link = VirtioNetTests.uniqueLink("three")
        let two = try SimBackend(specs: ["virtio-net:link=\(link)", "virtio-net:link=\(link)"])
        XCTAssertThrowsError(try SimBackend(specs: ["virtio-net:link=\(link)"])) { e in
            XCTAssertEqual(e as? HypError, .busy)
            XCTAssertTrue((e as? HypError)?.detail.contains("link '\(link)' already joins two NICs") ?? false, "\(e)")
        }
        XCTAssertThrowsError(try SimBackend(specs: ["edu", "virtio-net:link=\(link)"])) { XCTAssertEqual($0 as? HypError, .busy) }
        // Once the backend is gone the link is free again.
        two.shutdown()
        let again = try SimBackend(specs: ["virtio-net:link=\(link)", "virtio-net:link=\(link),mtu=9000,down=off"])
        XCTAssertEqual((again.simDevices[1] as? SimVirtioNet)?.mtu, 9000)
        XCTAssertEqual((again.simDevices[1] as? SimVirtioNet)?.linkUp, true)
        again.shutdown()
    }
}
