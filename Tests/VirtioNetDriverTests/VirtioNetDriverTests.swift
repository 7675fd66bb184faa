import Foundation
import Glue
import GlueAPI
import HuskHost
import HuskTestSupport
import HypercallABI
import Hypercalls
import XCTest

@testable import SimBackend

/// The virtio_net component end to end: two sim NICs wired back to back
/// (`virtio-net:link=NAME`), both driven by the driver and registered as
/// vnet0 and vnet1; the tests are the consumers of those interfaces in the
/// glue's NIC registry, and use the sim's test controls for the link,
/// device errors and counters.
final class VirtioNetDriverTests: XCTestCase {

    private func pair(_ params: [String: String] = [:], link: String = VnetRig.link(#function)) throws -> (VnetRig, Port, Port) {
        let rig = try VnetRig(["virtio-net:link=\(link)", "virtio-net:link=\(link)"], params: params)
        XCTAssertEqual(Glue.netifNames().sorted(), ["vnet0", "vnet1"])
        return (rig, try Port("vnet0"), try Port("vnet1"))
    }

    /// n frames each way, interleaved, of varied lengths up to the largest
    /// (1514 bytes, MTU 1500): every one arrives once, in order, unchanged.
    /// At most `window` frames each way are in flight: the sim drops what
    /// finds no receive buffer, as a NIC does.
    private func exchange(
        _ a: Port, _ b: Port, count n: Int, window: Int = 16, file: StaticString = #filePath, line: UInt = #line
    ) {
        let lengths = [60, 64, 128, 1514, 14, 1000, 1500]
        let a0 = a.frames.count, b0 = b.frames.count
        var toB: [[UInt8]] = [], toA: [[UInt8]] = []
        for i in 0..<n {
            let fb = etherFrame(to: b.mac, from: a.mac, seq: i, len: lengths[i % lengths.count])
            let fa = etherFrame(to: a.mac, from: b.mac, seq: 1_000_000 + i, len: lengths[(i + 3) % lengths.count])
            XCTAssertEqual(a.send(fb), HUSK_OK, "send \(i) a->b", file: file, line: line)
            XCTAssertEqual(b.send(fa), HUSK_OK, "send \(i) b->a", file: file, line: line)
            toB.append(fb)
            toA.append(fa)
            if i % window == window - 1 {
                b.waitFrames(b0 + i + 1)
                a.waitFrames(a0 + i + 1)
            }
        }
        XCTAssertTrue(b.waitFrames(b0 + n), "vnet1 got \(b.frames.count - b0) of \(n)", file: file, line: line)
        XCTAssertTrue(a.waitFrames(a0 + n), "vnet0 got \(a.frames.count - a0) of \(n)", file: file, line: line)
        let gotB = Array(b.frames.dropFirst(b0)), gotA = Array(a.frames.dropFirst(a0))
        XCTAssertTrue(gotB == toB, "a->b frames differ: sequences \(gotB.map(sequence))", file: file, line: line)
        XCTAssertTrue(gotA == toA, "b->a frames differ: sequences \(gotA.map(sequence))", file: file, line: line)
    }

    // MARK: data path

    func testFramesBothWaysBetweenTwoNICs() throws {
        let (rig, a, b) = try pair()
        defer { rig.shutdown() }
        defer {
            a.close()
            b.close()
        }
        XCTAssertEqual(a.mac, rig.nic(0).mac, "the MAC from the device config")
        XCTAssertEqual(b.mac, rig.nic(1).mac)
        XCTAssertEqual(a.info.mtu, 1500)
        XCTAssertEqual(a.info.link, NETIF_LINK_UP)
        exchange(a, b, count: 200)
        let s0 = rig.nic(0).stats, s1 = rig.nic(1).stats
        XCTAssertEqual(s0.txFrames, 200)
        XCTAssertEqual(s1.rxFrames, 200)
        XCTAssertEqual(s1.txFrames, 200)
        XCTAssertEqual(s0.rxFrames, 200)
        XCTAssertEqual(s0.txErrors + s1.txErrors + s0.rxNoBuffers + s1.rxNoBuffers, 0)
        XCTAssertEqual(s0.deviceErrors + s1.deviceErrors, 0, rig.nic(0).lastDeviceError ?? rig.nic(1).lastDeviceError ?? "")
        XCTAssertEqual(rig.nic(0).function.interruptMode, UInt32(HUSK_IRQ_MSIX))
    }

    /// Interrupts: MSI-X (config, receive, transmit), INTx (`intx=1`), and
    /// polling (`poll=1`: the device raises nothing for the queues).
    func testInterruptModes() throws {
        for (params, mode) in [([:], HUSK_IRQ_MSIX), (["intx": "1"], HUSK_IRQ_INTX), (["poll": "1"], 0)] as [([String: String], UInt32)] {
            let (rig, a, b) = try pair(params, link: VnetRig.link("modes\(mode)"))
            exchange(a, b, count: 64)
            XCTAssertEqual(rig.nic(0).function.interruptMode, mode, "\(params)")
            if mode == 0 {
                XCTAssertEqual(rig.nic(0).stats.interrupts + rig.nic(1).stats.interrupts, 0, "NO_INTERRUPT when polling")
            } else {
                XCTAssertGreaterThan(rig.nic(1).stats.interrupts, 0, "\(params)")
            }
            a.close()
            b.close()
            rig.shutdown()
        }
    }

    /// queue_size=4: four descriptors per queue, so > 65536 frames through
    /// one pair of queues take the 16-bit ring indices around at least once,
    /// on the transmit side of one NIC and the receive side of the other.
    func testRingIndicesWrap() throws {
        let (rig, a, b) = try pair(["queue_size": "4"])
        defer { rig.shutdown() }
        defer {
            a.close()
            b.close()
        }
        let count = 66_000
        let deadline = Date().addingTimeInterval(240)
        var sent = 0
        while sent < count && Date() < deadline {
            // Two in flight at a time: the receiver has four buffers.
            let burst = min(2, count - sent)
            for i in 0..<burst { XCTAssertEqual(a.send(etherFrame(to: b.mac, from: a.mac, seq: sent + i)), HUSK_OK) }
            sent += burst
            guard b.waitFrames(sent, seconds: 10) else {
                XCTFail("frame \(sent) never arrived (\(rig.nic(1).stats))")
                return
            }
        }
        XCTAssertEqual(sent, count, "only \(sent) frames before the deadline")
        let got = b.frames
        XCTAssertEqual(got.count, count)
        XCTAssertEqual(got.indices.filter { sequence(got[$0]) != $0 }.count, 0, "frames out of order or changed")
        XCTAssertEqual(rig.nic(1).stats.rxNoBuffers, 0)
        XCTAssertEqual(rig.nic(0).stats.deviceErrors + rig.nic(1).stats.deviceErrors, 0)
        exchange(a, b, count: 20, window: 2)  // still fine both ways
    }

    /// The consumer holds every frame: the receive ring runs dry and the
    /// device drops what has no buffer; frames given back are posted again
    /// and traffic resumes, the held frames unchanged meanwhile.
    func testRefillUnderPressure() throws {
        let (rig, a, b) = try pair(["queue_size": "16"])
        defer { rig.shutdown() }
        defer {
            a.close()
            b.close()
        }
        b.hold = true
        var sent: [[UInt8]] = []
        for i in 0..<40 {
            let f = etherFrame(to: b.mac, from: a.mac, seq: i, len: 200)
            XCTAssertEqual(a.send(f), HUSK_OK)
            sent.append(f)
        }
        XCTAssertTrue(b.waitFrames(16))
        XCTAssertTrue(waitUntil { rig.nic(0).stats.txFrames == 40 })
        XCTAssertEqual(b.frames.count, 16, "16 buffers, all lent")
        XCTAssertEqual(b.heldCount, 16)
        XCTAssertEqual(rig.nic(1).stats.rxNoBuffers, 24, "the rest found no buffer")
        XCTAssertTrue(b.frames == Array(sent.prefix(16)), "the first 16 frames, unchanged while held")
        b.hold = false
        b.returnAll()
        exchange(a, b, count: 50)
        XCTAssertEqual(rig.nic(1).stats.rxNoBuffers, 24, "no drops once the buffers are back")
    }

    /// MRG_RXBUF with small receive buffers (rx_buffer_size=256): the device
    /// spreads each long frame over several buffers; the driver gathers them.
    func testMergeableReceiveBuffers() throws {
        let (rig, a, b) = try pair(["rx_buffer_size": "256", "queue_size": "64"])
        defer { rig.shutdown() }
        defer {
            a.close()
            b.close()
        }
        exchange(a, b, count: 60)
        XCTAssertEqual(rig.nic(0).stats.rxNoBuffers + rig.nic(1).stats.rxNoBuffers, 0)
        XCTAssertEqual(rig.nic(0).stats.deviceErrors + rig.nic(1).stats.deviceErrors, 0)
    }

    // MARK: link

    /// The link status (VIRTIO_NET_F_STATUS) reaches the consumer: pulled,
    /// frames sent meanwhile are dropped by the device; plugged back, traffic
    /// flows. In polling mode the health check notices without an interrupt.
    func testLinkChangesReachTheConsumer() throws {
        for params in [[:], ["poll": "1"]] as [[String: String]] {
            let (rig, a, b) = try pair(params, link: VnetRig.link("link\(params.count)"))
            rig.nic(1).setLink(up: false)
            XCTAssertTrue(b.waitLinks([NETIF_LINK_DOWN]), "\(params): \(b.linkChanges)")
            XCTAssertEqual(b.info.link, NETIF_LINK_DOWN)
            XCTAssertEqual(a.info.link, NETIF_LINK_UP, "the other end's own status did not change")
            XCTAssertEqual(b.send(etherFrame(to: a.mac, from: b.mac, seq: 1)), HUSK_OK, "transmit still accepts")
            XCTAssertTrue(waitUntil { rig.nic(1).stats.txLinkDown == 1 })
            rig.nic(1).setLink(up: true)
            XCTAssertTrue(b.waitLinks([NETIF_LINK_DOWN, NETIF_LINK_UP]), "\(params): \(b.linkChanges)")
            exchange(a, b, count: 20)
            a.close()
            b.close()
            rig.shutdown()
        }
    }

    // MARK: device errors and reset

    /// DEVICE_NEEDS_RESET: the driver resets the device, reports the link
    /// down and up again, posts its buffers again, and frames flow, in every
    /// interrupt mode. Frames lent across the reset come back without harm.
    func testDeviceNeedsResetRecovers() throws {
        for params in [[:], ["intx": "1"], ["poll": "1"]] as [[String: String]] {
            let (rig, a, b) = try pair(params, link: VnetRig.link("reset\(params.keys.first ?? "msix")"))
            exchange(a, b, count: 20)
            b.hold = true
            XCTAssertEqual(a.send(etherFrame(to: b.mac, from: a.mac, seq: 7)), HUSK_OK)
            XCTAssertTrue(b.waitFrames(21))
            XCTAssertEqual(b.heldCount, 1)
            rig.nic(1).injectDeviceError("test: forced DEVICE_NEEDS_RESET")
            XCTAssertTrue(b.waitLinks([NETIF_LINK_DOWN, NETIF_LINK_UP]), "\(params): \(b.linkChanges)")
            b.hold = false
            b.returnAll()  // lent before the reset, returned after it
            exchange(a, b, count: 40)
            XCTAssertEqual(rig.nic(1).stats.deviceErrors, 1, "\(params)")
            a.close()
            b.close()
            rig.shutdown()
        }
    }

    /// A device reset behind the driver's back (status 0, as a power loss
    /// or FLR would leave it): the health check sees DRIVER_OK gone and the
    /// reset path brings the NIC back.
    func testResetBehindTheDriversBack() throws {
        let (rig, a, b) = try pair()
        defer { rig.shutdown() }
        defer {
            a.close()
            b.close()
        }
        exchange(a, b, count: 10)
        XCTAssertNoThrow(try rig.nic(0).reset())
        XCTAssertTrue(a.waitLinks([NETIF_LINK_DOWN, NETIF_LINK_UP]), "\(a.linkChanges)")
        exchange(a, b, count: 30)
    }

    // MARK: names, parameters, lifetime

    func testNamesAndParameters() throws {
        let link = VnetRig.link()
        let rig = try VnetRig(["virtio-net:link=\(link)", "virtio-net:link=\(link)"], params: ["name": "lan7"])
        XCTAssertEqual(Glue.netifNames().sorted(), ["lan7", "lan8"])
        rig.shutdown()
        XCTAssertEqual(Glue.netifNames(), [], "interfaces withdrawn at unload")

        for bad in [["queue_size": "6"], ["poll": "yes"], ["name": "has space"], ["rx_buffer_size": "32"]] {
            let host = ComponentHost(backend: try SimBackend(specs: ["virtio-net:link=\(VnetRig.link("bad"))"]))
            host.load([VnetRig.component], parameters: ["virtio_net": bad])
            XCTAssertEqual(host.refused.count, 1, "\(bad) accepted")
            host.shutdown()
        }
    }

    /// Unloading while the consumer holds frames: closing the consumer gives
    /// them back, and the driver detaches (glue_netif_unregister waits for
    /// them) without hanging.
    func testUnloadAfterTheConsumerClosesWithFramesHeld() throws {
        let (rig, a, b) = try pair()
        b.hold = true
        for i in 0..<5 { XCTAssertEqual(a.send(etherFrame(to: b.mac, from: a.mac, seq: i)), HUSK_OK) }
        XCTAssertTrue(b.waitFrames(5))
        a.close()
        b.closeHoldingFrames()
        rig.shutdown()
        XCTAssertEqual(Glue.netifNames(), [])
    }

    private func waitUntil(seconds: Double = 10, _ cond: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while !cond() {
            if Date() >= deadline { return false }
            usleep(1000)
        }
        return true
    }
}
