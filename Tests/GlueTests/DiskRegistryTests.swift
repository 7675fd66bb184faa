import Glibc
import GlueAPI
import HypercallABI
import Synchronization
import XCTest

/// A disk provided by the test: requests are held until the test completes
/// them, so the registry's waiting and refusals can be observed.
final class HeldDisk: @unchecked Sendable {
    // @unchecked: `held` behind its Mutex; the rest is set before use.
    let held = Mutex<[UInt]>([])  // request addresses
    let submitted = Recorder()
    var arg: UnsafeMutableRawPointer { Unmanaged.passUnretained(self).toOpaque() }
    static func from(_ p: UnsafeMutableRawPointer?) -> HeldDisk { Unmanaged<HeldDisk>.fromOpaque(p!).takeUnretainedValue() }

    static let submit: @convention(c) (UnsafeMutableRawPointer?, UnsafeMutablePointer<disk_req>?) -> Int32 = { priv, req in
        let d = HeldDisk.from(priv)
        d.submitted.append(Int(req!.pointee.op))
        d.held.withLock { $0.append(UInt(bitPattern: req!)) }
        return HUSK_OK
    }
    static let transfer: @convention(c) (UnsafeMutableRawPointer?, UInt32, UnsafeMutableRawPointer?, UInt64, UInt64) -> Int32 = {
        priv, op, _, _, _ in
        HeldDisk.from(priv).submitted.append(100 + Int(op))
        return HUSK_EIO
    }

    /// Complete every held request with `status`.
    func completeAll(_ status: Int32) {
        let reqs = held.withLock { h -> [UInt] in
            let r = h
            h = []
            return r
        }
        for a in reqs {
            let r = UnsafeMutablePointer<disk_req>(bitPattern: a)!
            r.pointee.status = status
            r.pointee.done?(r)
        }
    }

    func describe(name: String, blocks: UInt64 = 64, blockSize: UInt32 = 512, flags: UInt32 = 0, maxTransfer: UInt32 = 4096) -> disk {
        var d = disk()
        d.name = UnsafePointer(strdup(name))
        d.info = disk_info(block_count: blocks, block_size: blockSize, flags: flags, max_transfer: maxTransfer, queue_depth: 8)
        d.submit = HeldDisk.submit
        d.priv = arg
        return d
    }
}

final class DiskRegistryTests: XCTestCase {
    private static let done: disk_done_fn = { req in Recorder.from(req!.pointee.arg).append(Int(req!.pointee.status)) }

    func testRegistrationRules() throws {
        let p = HeldDisk()
        try GlueHarness.run {
            var ok = p.describe(name: "d0")
            XCTAssertEqual(glue_disk_register(&ok), HUSK_OK)
            var twin = p.describe(name: "d0")
            XCTAssertEqual(glue_disk_register(&twin), HUSK_EEXIST)
            for (name, bs, mt, blocks) in [
                ("", 512, 4096, 64), ("a b", 512, 4096, 64), (String(repeating: "x", count: 32), 512, 4096, 64),
                ("bs", 1000, 4000, 64), ("small", 256, 4096, 64), ("mt", 4096, 6144, 64), ("empty", 512, 4096, 0)
            ] {
                var d = p.describe(name: name, blocks: UInt64(blocks), blockSize: UInt32(bs), maxTransfer: UInt32(mt))
                XCTAssertEqual(glue_disk_register(&d), HUSK_EINVAL, "\(name) bs \(bs) mt \(mt) blocks \(blocks)")
            }
            var nosubmit = p.describe(name: "nosub")
            nosubmit.submit = nil
            XCTAssertEqual(glue_disk_register(&nosubmit), HUSK_EINVAL)
            XCTAssertNil(glue_disk_open("nope"))
            glue_disk_unregister(&ok)
            XCTAssertNil(glue_disk_open("d0"), "gone once unregistered")
        }
    }

    func testRefusalsNeverReachTheProvider() throws {
        let p = HeldDisk(), c = Recorder()
        try GlueHarness.run {
            var d = p.describe(name: "ro", flags: UInt32(DISK_F_READONLY))
            XCTAssertEqual(glue_disk_register(&d), HUSK_OK)
            defer { glue_disk_unregister(&d) }
            guard let ref = glue_disk_open("ro") else { return XCTFail("no disk") }
            defer { glue_disk_close(ref) }
            var info = disk_info()
            glue_disk_info(ref, &info)
            XCTAssertEqual(info.block_count, 64)
            let buf = UnsafeMutableRawPointer.allocate(byteCount: 8192, alignment: 4096)
            defer { buf.deallocate() }
            func submit(_ op: UInt32, _ off: UInt64, _ len: UInt64, data: UnsafeMutableRawPointer? = nil) -> Int32 {
                let r = UnsafeMutablePointer<disk_req>.allocate(capacity: 1)
                r.initialize(
                    to: disk_req(
                        op: op, status: 0, data: data ?? buf, offset: off, len: len, done: Self.done, arg: c.arg,
                        provider_private: (0, 0, 0, 0)))
                return glue_disk_submit(ref, r)  // refused ones are leaked on purpose: never handed out
            }
            XCTAssertEqual(submit(UInt32(DISK_OP_READ), 100, 512), HUSK_EINVAL, "unaligned offset")
            XCTAssertEqual(submit(UInt32(DISK_OP_READ), 0, 100), HUSK_EINVAL, "partial block")
            XCTAssertEqual(submit(UInt32(DISK_OP_READ), 0, 0), HUSK_EINVAL, "empty")
            XCTAssertEqual(submit(UInt32(DISK_OP_READ), 63 * 512, 1024), HUSK_EINVAL, "past the end")
            XCTAssertEqual(submit(UInt32(DISK_OP_READ), 0, 8192), HUSK_EINVAL, "above max_transfer")
            XCTAssertEqual(submit(9, 0, 512), HUSK_EINVAL, "unknown op")
            XCTAssertEqual(submit(UInt32(DISK_OP_WRITE), 0, 512), HUSK_EROFS, "read-only disk")
            XCTAssertEqual(p.submitted.values, [], "no refused request reached the provider")
            XCTAssertEqual(submit(UInt32(DISK_OP_READ), 63 * 512, 512), HUSK_OK, "the last block")
            p.completeAll(HUSK_OK)
            XCTAssertEqual(c.values, [0])
        }
    }

    func testUnregisterWaitsForAcceptedRequestsThenSubmissionsFailENODEV() throws {
        let p = HeldDisk(), c = Recorder(), order = Recorder()
        try GlueHarness.run {
            var d = p.describe(name: "held")
            XCTAssertEqual(glue_disk_register(&d), HUSK_OK)
            guard let ref = glue_disk_open("held") else { return XCTFail("no disk") }
            let buf = UnsafeMutableRawPointer.allocate(byteCount: 512, alignment: 512)
            let req = UnsafeMutablePointer<disk_req>.allocate(capacity: 1)
            req.initialize(
                to: disk_req(
                    op: UInt32(DISK_OP_READ), status: 0, data: buf, offset: 0, len: 512, done: Self.done, arg: c.arg,
                    provider_private: (0, 0, 0, 0)))
            XCTAssertEqual(glue_disk_submit(ref, req), HUSK_OK)
            // Unregister on another thread (a kthread of the test component,
            // as a driver's detach would run): it must wait for the request.
            let job = Job {
                glue_disk_unregister(&d)
                order.set("unregistered")
            }
            var t = kthread_t()
            XCTAssertEqual(job.start(&t), HUSK_OK)
            _ = glue_sleep_ns(100_000_000)
            XCTAssertFalse(order.has("unregistered"), "unregister returned with a request in flight")
            XCTAssertEqual(glue_disk_submit(ref, req), HUSK_ENODEV, "withdrawn disks take nothing new")
            p.completeAll(HUSK_EIO)
            XCTAssertTrue(GlueHarness.waitUntil { order.has("unregistered") })
            _ = glue_kthread_join(t)
            XCTAssertEqual(c.values, [Int(HUSK_EIO)], "the consumer saw the provider's status")
            XCTAssertEqual(req.pointee.arg, c.arg, "done and arg handed back to the consumer")
            XCTAssertEqual(glue_disk_transfer(ref, UInt32(DISK_OP_READ), buf, 0, 512), HUSK_ENODEV)
            glue_disk_close(ref)
            buf.deallocate()
        }
    }

    func testTransferUsesTheProvidersSynchronousPathOrSubmitsAndWaits() throws {
        let sync = HeldDisk(), async = HeldDisk()
        try GlueHarness.run {
            var a = sync.describe(name: "sync")
            a.transfer = HeldDisk.transfer
            var b = async.describe(name: "async")
            XCTAssertEqual(glue_disk_register(&a), HUSK_OK)
            XCTAssertEqual(glue_disk_register(&b), HUSK_OK)
            let buf = UnsafeMutableRawPointer.allocate(byteCount: 512, alignment: 512)
            defer { buf.deallocate() }
            guard let ra = glue_disk_open("sync"), let rb = glue_disk_open("async") else { return XCTFail("no disk") }
            XCTAssertEqual(glue_disk_transfer(ra, UInt32(DISK_OP_WRITE), buf, 512, 512), HUSK_EIO)
            XCTAssertEqual(sync.submitted.values, [100 + Int(DISK_OP_WRITE)], "the provider's transfer ran, not submit")
            XCTAssertEqual(glue_disk_transfer(ra, UInt32(DISK_OP_WRITE), buf, 100, 512), HUSK_EINVAL, "checked first")
            // Without transfer: submitted, and the caller waits for done.
            // The provider completes from its own thread (a kthread here).
            let job = Job {
                _ = GlueHarness.waitUntil { async.held.withLock { !$0.isEmpty } }
                async.completeAll(HUSK_ENOTSUP)
            }
            var t = kthread_t()
            XCTAssertEqual(job.start(&t), HUSK_OK)
            XCTAssertEqual(glue_disk_transfer(rb, UInt32(DISK_OP_FLUSH), nil, 0, 0), HUSK_ENOTSUP)
            _ = glue_kthread_join(t)
            XCTAssertEqual(async.submitted.values, [Int(DISK_OP_FLUSH)])
            glue_disk_close(ra)
            glue_disk_close(rb)
            glue_disk_unregister(&a)
            glue_disk_unregister(&b)
        }
    }
}

/// A closure run on a glue kthread of the calling component.
final class Job: @unchecked Sendable {
    // @unchecked: the body is set once, before the thread starts.
    let body: () -> Void
    init(_ b: @escaping () -> Void) { body = b }
    func start(_ out: UnsafeMutablePointer<kthread_t>) -> Int32 {
        glue_kthread_create(
            "disk-test",
            { arg in
                Unmanaged<Job>.fromOpaque(arg!).takeRetainedValue().body()
            }, Unmanaged.passRetained(self).toOpaque(), out)
    }
}
