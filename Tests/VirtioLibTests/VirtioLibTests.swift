import ComponentVirtio
import Foundation
import HuskHost
import HuskTestSupport
import HypercallABI
import Hypercalls
import VirtioTestHooks
import XCTest

@testable import SimBackend

/// The virtio library (husk/virtio.h) by itself: the C test driver in
/// Tests/VirtioTestHooks runs one scenario per call against the sim's
/// virtio-blk device, inside a component on a real ComponentHost (the
/// glue, the hypercall table, the sim backend; no mocks).
final class VirtioLibTests: XCTestCase {

    // MARK: transport

    func testCapabilityWalkFindsTheModernLayout() throws {
        let (r, _) = try run(VTEST_MAP, devices: [try SimVirtioBlk(memoryBytes: 16 << 20)]) { $0.device_min = 0x18 }
        XCTAssertEqual(r.attached, 1)
        XCTAssertEqual(r.status, HUSK_OK)
        // The sim's BAR4 layout (docs/sim-backend.md), like QEMU's.
        let expected: [(Int, UInt32, UInt32)] = [(1, 0x0000, 0x38), (2, 0x3000, 4), (3, 0x1000, 1), (4, 0x2000, 0x24)]
        for (type, offset, length) in expected {
            let c = cap(r, type)
            XCTAssertTrue(c.found, "cfg_type \(type)")
            XCTAssertEqual(c.bar, 4, "cfg_type \(type)")
            XCTAssertEqual(c.offset, offset, "cfg_type \(type)")
            XCTAssertEqual(c.length, length, "cfg_type \(type)")
        }
        XCTAssertEqual(r.notify_mult, 4)
        XCTAssertEqual(r.notify_len, 4)
        XCTAssertEqual(r.device_len, 0x24)
        XCTAssertEqual(r.capacity, (16 << 20) / 512, "capacity through virtio_config_read")
    }

    func testMapRefusesWhatIsNotModernVirtio() throws {
        let (edu, _) = try run(VTEST_MAP, devices: [SimEdu()])
        XCTAssertEqual(edu.attached, 1)
        XCTAssertEqual(edu.status, HUSK_ENODEV)
        XCTAssertFalse((1...4).contains { cap(edu, $0).found }, "edu has no virtio capabilities")
        // A device configuration shorter than the driver needs.
        let (short, _) = try run(VTEST_MAP, devices: [try SimVirtioBlk(memoryBytes: 1 << 20)]) { $0.device_min = 0x100 }
        XCTAssertEqual(short.status, HUSK_ENODEV)
    }

    /// The walk keeps the first capability of a type, survives a looping
    /// list, and a device without a common configuration is refused.
    func testCapabilityWalkIsBoundedAndKeepsTheFirst() throws {
        let blk = try SimVirtioBlk(memoryBytes: 1 << 20)
        blk.function.lock.withLock {
            // A second common configuration capability, pointing elsewhere.
            blk.function.config.addCapability(
                id: PCIReg.capVendor, body: [16, Virtio.capCommon, 4, 0, 0, 0] + le32(0x3800) + le32(0x38))
            // The last capability's next pointer back to the first: a loop.
            let caps = capabilityOffsets(blk.function.config)
            blk.function.config.set8(caps.last! + 1, UInt8(caps.first!))
        }
        let (r, _) = try run(VTEST_MAP, devices: [blk])
        XCTAssertEqual(r.status, HUSK_OK, "a looping list still ends the walk")
        XCTAssertEqual(cap(r, 1).offset, 0, "the first common capability is the one used")
        XCTAssertTrue((1...4).allSatisfy { cap(r, $0).found })

        let broken = try SimVirtioBlk(memoryBytes: 1 << 20)
        broken.function.lock.withLock {
            // cfg_type of every common capability to 7 (reserved): none left.
            for off in capabilityOffsets(broken.function.config)
            where broken.function.config.bytes[off] == PCIReg.capVendor && broken.function.config.bytes[off + 3] == Virtio.capCommon {
                broken.function.config.set8(off + 3, 7)
            }
        }
        let (b, _) = try run(VTEST_MAP, devices: [broken])
        XCTAssertEqual(b.status, HUSK_ENODEV)
        XCTAssertFalse(cap(b, 1).found)
    }

    func testNegotiationAcceptsRequiredAndOfferedOptionalBits() throws {
        let flush: UInt64 = 1 << 9
        let unknown: UInt64 = 1 << 40
        let (r, _) = try run(VTEST_NEGOTIATE, devices: [try SimVirtioBlk(memoryBytes: 1 << 20)]) {
            $0.required = vf(VIRTIO_F_VERSION_1)
            $0.optional = vf(VIRTIO_F_ACCESS_PLATFORM) | flush | unknown
        }
        XCTAssertEqual(r.status, HUSK_OK)
        XCTAssertEqual(r.features, vf(VIRTIO_F_VERSION_1) | vf(VIRTIO_F_ACCESS_PLATFORM) | flush)
        XCTAssertEqual(r.dev_features & unknown, 0)
        XCTAssertNotEqual(r.device_status & UInt8(VIRTIO_STATUS_FEATURES_OK), 0)
        XCTAssertEqual(r.device_status & UInt8(VIRTIO_STATUS_FAILED), 0)
    }

    func testNegotiationRefusesAMissingRequiredBit() throws {
        let (r, _) = try run(VTEST_NEGOTIATE, devices: [try SimVirtioBlk(memoryBytes: 1 << 20)]) {
            $0.required = vf(VIRTIO_F_VERSION_1) | vf(VIRTIO_F_RING_PACKED)
        }
        XCTAssertEqual(r.status, HUSK_ENODEV)
        XCTAssertEqual(r.features, 0, "nothing accepted")
        XCTAssertNotEqual(r.device_status & UInt8(VIRTIO_STATUS_FAILED), 0, "FAILED set")
        XCTAssertEqual(r.device_status & UInt8(VIRTIO_STATUS_FEATURES_OK), 0)
    }

    /// The sim keeps FEATURES_OK only with VERSION_1 accepted: a driver that
    /// does not require it is refused by the device, and the helper notices.
    func testNegotiationNoticesTheDeviceRefusingFeaturesOK() throws {
        let (r, _) = try run(VTEST_NEGOTIATE, devices: [try SimVirtioBlk(memoryBytes: 1 << 20)]) {
            $0.required = 0
            $0.optional = 1 << 9
        }
        XCTAssertEqual(r.status, HUSK_ENODEV)
        XCTAssertEqual(r.features, 1 << 9)
        XCTAssertNotEqual(r.device_status & UInt8(VIRTIO_STATUS_FAILED), 0)
    }

    // MARK: queues

    func testQueueSizeChoice() throws {
        // (max_size, requested) -> size; the sim offers 256.
        for (maxSize, requested, size) in [(64, 0, 64), (256, 6, 4), (1024, 0, 256), (256, 16, 16), (4, 256, 4)] {
            let (r, blk) = try run(VTEST_QUEUE, devices: [try SimVirtioBlk(memoryBytes: 1 << 20)]) {
                $0.max_size = UInt16(maxSize)
                $0.requested = UInt16(requested)
                $0.requests = 100
            }
            XCTAssertEqual(r.status, HUSK_OK, "max \(maxSize) requested \(requested)")
            XCTAssertEqual(r.size, UInt16(size), "max \(maxSize) requested \(requested)")
            XCTAssertEqual(r.completed, 100)
            XCTAssertEqual(r.bad_completions, 0)
            XCTAssertEqual(r.num_free, UInt16(size), "every descriptor back on the free list")
            XCTAssertEqual(blk[0].stats.flushes, 100, "each request served once (max \(maxSize) requested \(requested))")
        }
    }

    /// More than 65536 requests through an 8-descriptor queue: the
    /// free-running 16-bit indices wrap, ring slots keep following them.
    func testIndicesWrapWithManyRequests() throws {
        let count: UInt32 = 70_000
        let (r, blk) = try run(VTEST_QUEUE, devices: [try SimVirtioBlk(memoryBytes: 1 << 20)]) {
            $0.max_size = 8
            $0.requests = count
        }
        XCTAssertEqual(r.status, HUSK_OK)
        XCTAssertEqual(r.size, 8)
        XCTAssertEqual(r.completed, UInt64(count))
        XCTAssertEqual(r.bad_completions, 0)
        XCTAssertEqual(r.avail_idx, UInt16(truncatingIfNeeded: count), "published chains, modulo 65536")
        XCTAssertEqual(r.last_used, UInt16(truncatingIfNeeded: count))
        XCTAssertEqual(r.num_free, 8)
        XCTAssertEqual(blk[0].stats.requests, Int(count))
        XCTAssertEqual(blk[0].stats.deviceErrors, 0, blk[0].lastDeviceError ?? "")
    }

    /// A reset between batches: the queue comes back with the size chosen
    /// first (a second `requested` is ignored), and the status said why.
    func testResetKeepsTheQueueSize() throws {
        let (r, blk) = try run(VTEST_QUEUE, devices: [try SimVirtioBlk(memoryBytes: 1 << 20)]) {
            $0.max_size = 64
            $0.requested = 16
            $0.requests = 3000
            $0.resets = 2
        }
        XCTAssertEqual(r.status, HUSK_OK)
        XCTAssertEqual(r.size, 16)
        XCTAssertEqual(r.size_after_reset, 16)
        XCTAssertEqual(r.completed, 3000)
        XCTAssertEqual(health(r), "the device lost DRIVER_OK (reset or power loss)")
        XCTAssertEqual(r.avail_idx, 1000, "indices start again at 0 after each reset")
        XCTAssertEqual(blk[0].stats.requests, 3000)
    }

    // MARK: interrupts

    /// Every mode delivers queue work and configuration changes (the sim's
    /// DEVICE_NEEDS_RESET raises one) to the driver's functions; polling
    /// asks the device for no interrupts at all.
    func testInterruptModes() throws {
        struct Mode {
            let name: String, mode: UInt32, extraQueues: UInt32
            let kind: UInt32, queueVector: UInt16, configVector: UInt16
        }
        let none = UInt16(VIRTIO_MSI_NO_VECTOR)
        let modes = [
            Mode(
                name: "MSI-X per queue", mode: VIRTIO_INTR_ANY, extraQueues: 0, kind: UInt32(HUSK_IRQ_MSIX), queueVector: 1, configVector: 0
            ),
            Mode(name: "MSI-X shared", mode: VIRTIO_INTR_ANY, extraQueues: 1, kind: UInt32(HUSK_IRQ_MSIX), queueVector: 0, configVector: 0),
            Mode(name: "INTx", mode: VIRTIO_INTR_INTX, extraQueues: 0, kind: UInt32(HUSK_IRQ_INTX), queueVector: none, configVector: none),
            Mode(name: "polling", mode: VIRTIO_INTR_POLL, extraQueues: 0, kind: 0, queueVector: none, configVector: none)
        ]
        for m in modes {
            let (r, blk) = try run(
                VTEST_QUEUE, devices: [try SimVirtioBlk(memoryBytes: 1 << 20)],
                {
                    $0.intr_mode = m.mode
                    $0.extra_queues = m.extraQueues
                    $0.max_size = 16
                    $0.requests = 500
                    $0.wait_config_ms = 5000
                },
                configChange: { blk in blk.lock.withLock { blk.deviceErrorLocked("test: forced DEVICE_NEEDS_RESET") } })
            XCTAssertEqual(r.status, HUSK_OK, m.name)
            XCTAssertEqual(r.completed, 500, m.name)
            XCTAssertEqual(r.intr_kind, m.kind, m.name)
            XCTAssertEqual(r.queue_vector, m.queueVector, m.name)
            XCTAssertEqual(r.config_vector, m.configVector, m.name)
            XCTAssertEqual(health(r), "DEVICE_NEEDS_RESET", m.name)
            if m.mode == VIRTIO_INTR_POLL {
                XCTAssertTrue(r.polling)
                XCTAssertTrue(r.no_interrupt, "VIRTQ_AVAIL_F_NO_INTERRUPT")
                XCTAssertEqual(r.interrupts, 0)
                XCTAssertEqual(r.queue_calls + r.config_calls, 0)
                XCTAssertEqual(r.needs_reset_calls, 0)
                XCTAssertEqual(blk[0].stats.interrupts, 1, "only the configuration change, which nothing receives")
            } else {
                XCTAssertFalse(r.polling, m.name)
                XCTAssertGreaterThan(r.queue_calls, 0, m.name)
                XCTAssertGreaterThanOrEqual(r.needs_reset_calls, 1, m.name)
                XCTAssertGreaterThan(r.interrupts, 0, m.name)
            }
            if m.extraQueues > 0 {
                XCTAssertEqual(r.intr_count, 2, "the sim has 2 vectors, 3 were wanted")
                XCTAssertEqual(r.extra_setup, HUSK_ENODEV, "queue 1 does not exist on the sim")
            }
        }
    }

    // MARK: used ring checks

    /// The free list gives out every descriptor and no more; a used element
    /// naming a head twice, an id past the ring or a descriptor never
    /// published is refused (EIO) without touching the free list.
    func testUsedRingRefusesWhatWasNotInFlight() throws {
        let (r, _) = try run(VTEST_USED, devices: [try SimVirtioBlk(memoryBytes: 1 << 20)]) { $0.max_size = 8 }
        XCTAssertEqual(r.status, HUSK_OK)
        XCTAssertEqual(r.size, 8)
        XCTAssertEqual(r.alloc_all, HUSK_OK)
        XCTAssertEqual(r.alloc_one_more, HUSK_EAGAIN)
        XCTAssertEqual([r.forged.0, r.forged.1, r.forged.2], [HUSK_EIO, HUSK_EIO, HUSK_EIO])
        XCTAssertEqual(r.forged_head.1, 0xffff)
        XCTAssertEqual(r.after_forged, HUSK_EAGAIN, "nothing more published")
        XCTAssertEqual(r.num_free, 8, "the real chain came back once, the forged ones never")
        XCTAssertEqual(r.last_used, 4, "one real and three forged elements consumed")
    }

    // MARK: harness

    /// The scenario for the test component's init: a C function pointer
    /// cannot capture. Tests run one at a time.
    nonisolated(unsafe) static var pending: (args: vtest_args, result: UnsafeMutablePointer<vtest_result>)?

    /// Run one scenario on the given sim devices; `configChange` runs on
    /// another thread once the scenario waits for a configuration change.
    func run(
        _ kind: UInt32, devices: [any SimDevice], _ configure: (inout vtest_args) -> Void = { _ in },
        configChange: (@Sendable (SimVirtioBlk) -> Void)? = nil
    ) throws -> (vtest_result, [SimVirtioBlk]) {
        var args = vtest_args()
        args.kind = kind
        args.intr_mode = VIRTIO_INTR_ANY
        args.max_size = 256
        configure(&args)
        let backend = SimBackend(devices: devices)
        let result = UnsafeMutablePointer<vtest_result>.allocate(capacity: 1)
        defer { result.deallocate() }
        result.initialize(to: vtest_result())
        Self.pending = (args, result)
        defer { Self.pending = nil }
        let blks = devices.compactMap { $0 as? SimVirtioBlk }
        let trigger = Thread {
            guard let change = configChange, let blk = blks.first else { return }
            let end = Date().addingTimeInterval(60)
            while !vtest_waiting_for_config() && Date() < end { usleep(1000) }
            usleep(20_000)
            change(blk)
        }
        trigger.start()
        let host = ComponentHost(backend: backend)
        host.load([Self.descriptor])
        XCTAssertEqual(host.refused.map(\.reason), [], "the test component was refused")
        host.shutdown()
        return (result.pointee, blks)
    }

    static let descriptor: ComponentDescriptor = {
        let c = UnsafeMutablePointer<husk_component>.allocate(capacity: 1)
        c.initialize(to: husk_component())
        c.pointee.abi_major = UInt32(HUSK_ABI_MAJOR)
        c.pointee.abi_minor = 0
        c.pointee.name = UnsafePointer(strdup("virtiotest"))
        c.pointee.description = UnsafePointer(strdup("virtio library tests"))
        c.pointee.kind = UInt32(HUSK_KIND_DRIVER)
        c.pointee.`init` = { _, _ in
            guard let p = VirtioLibTests.pending else { return HUSK_EINVAL }
            var args = p.args
            return vtest_run(&args, p.result)
        }
        return ComponentDescriptor(raw: UnsafePointer(c), origin: "test")
    }()

    func cap(_ r: vtest_result, _ type: Int) -> virtio_pci_cap {
        withUnsafeBytes(of: r.caps) { $0.bindMemory(to: virtio_pci_cap.self)[type] }
    }

    func health(_ r: vtest_result) -> String {
        withUnsafeBytes(of: r.health) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    /// Feature bits are 1ull << n macros, which Swift imports as Int32 or
    /// UInt64 depending on the constant; one type here.
    func vf<T: BinaryInteger>(_ v: T) -> UInt64 { UInt64(v) }

    func capabilityOffsets(_ config: SimPCIConfig) -> [Int] {
        var offsets: [Int] = []
        var off = Int(config.bytes[PCIReg.capPointer])
        while off != 0 && !offsets.contains(off) {
            offsets.append(off)
            off = Int(config.bytes[off + 1])
        }
        return offsets
    }
}
