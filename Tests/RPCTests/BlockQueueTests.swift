import BlockClient
import DiskPattern
import Foundation
import Glibc
import Platform
import RPCClient
import RPCClientC
import RPCInterfaces
import RPCWire
import XCTest

/// The block queue (docs/block.md, "The block queue") against a real
/// `husk blk serve --image` process: many entries in flight on one queue,
/// completions out of order, the flush barrier, data checked against the
/// image file, and hostile queues that must cost the client its device
/// connection and nothing else.
final class BlockQueueTests: XCTestCase {
    private func queueOf(_ dev: BlockDevice, file: StaticString = #filePath, line: UInt = #line) throws -> BlockQueue {
        try XCTUnwrap(dev.queue, "the server offers the queue (features bit 2) and the client set it up", file: file, line: line)
    }

    /// Reap until `n` completions arrived, in arrival order.
    private func reapAll(_ q: BlockQueue, _ n: Int) throws -> [BlockQueue.Completion] {
        var got: [BlockQueue.Completion] = []
        while got.count < n { got += try q.wait() }
        return got
    }

    func testRoundTripOutOfOrderCompletionsAndFlushBarrier() throws {
        let dir = try rpcScratch(self)
        let image = TempImage(bytes: 16 << 20)
        let server = try BlockServerProcess(self, dir: dir, image: image.path)
        let dev = try BlockServerClient(socket: server.socket).open("disk0", writable: true, window: 8 << 20, queue: true)
        defer { dev.close() }
        XCTAssertNotEqual(dev.features & 4, 0, "queue feature")
        let q = try queueOf(dev)
        let r = q.region.base

        // 16 writes of 64 KiB from their own buffers, a flush, 8 more writes.
        for i in 0..<24 {
            let p = DiskPattern.bytes(64 << 10, at: UInt64(i) << 16, key: 0x51)
            p.withUnsafeBytes { (r + i * (64 << 10)).copyMemory(from: $0.baseAddress!, byteCount: p.count) }
        }
        for i in 0..<16 {
            XCTAssertTrue(try q.push(.write, offset: UInt64(i) << 16, length: 64 << 10, buffer: UInt64(i) << 16, tag: UInt64(i)))
        }
        XCTAssertTrue(try q.push(.flush, offset: 0, length: 0, buffer: 0, tag: 100))
        for i in 16..<24 {
            XCTAssertTrue(try q.push(.write, offset: UInt64(i) << 16, length: 64 << 10, buffer: UInt64(i) << 16, tag: UInt64(i)))
        }
        q.submit()
        let done = try reapAll(q, 25)
        XCTAssertEqual(Set(done.map(\.tag)), Set((0..<24).map { UInt64($0) } + [100]))
        XCTAssertTrue(done.allSatisfy { $0.status == 0 }, "\(done.filter { $0.status != 0 })")
        XCTAssertTrue(done.allSatisfy { $0.tag == 100 || $0.count == 64 << 10 })
        let flushAt = try XCTUnwrap(done.firstIndex { $0.tag == 100 })
        // The barrier: every earlier entry completed before the flush, every
        // later one after it.
        XCTAssertEqual(Set(done[..<flushAt].map(\.tag)), Set((0..<16).map { UInt64($0) }), "before the flush")
        XCTAssertEqual(Set(done[(flushAt + 1)...].map(\.tag)), Set((16..<24).map { UInt64($0) }), "after the flush")
        for i in 0..<16 {
            assertSameBytes(
                image.contents(offset: i << 16, count: 64 << 10), DiskPattern.bytes(64 << 10, at: UInt64(i) << 16, key: 0x51),
                "flushed write \(i) in the image")
        }

        // Out of order: a 4 MiB read ahead of a refused entry (misaligned:
        // its EINVAL completion is posted as soon as the server has looked
        // at it) and 30 single-block reads, which overtake the big read
        // (tried a few times: the disk's threads and the scheduler decide;
        // a refused entry a few microseconds behind a 4 MiB copy has not
        // lost in practice).
        var overtaken = false
        for _ in 0..<20 where !overtaken {
            XCTAssertTrue(try q.push(.read, offset: 0, length: 4 << 20, buffer: 0, tag: 0))
            XCTAssertTrue(try q.push(.read, offset: 100, length: 4096, buffer: UInt64(4 << 20), tag: 1))
            for i in 2..<32 {
                XCTAssertTrue(
                    try q.push(.read, offset: UInt64(i) * 4096, length: 4096, buffer: UInt64(4 << 20) + UInt64(i) * 4096, tag: UInt64(i)))
            }
            q.submit()
            let got = try reapAll(q, 32)
            XCTAssertEqual(Set(got.map(\.tag)), Set(0..<32))
            XCTAssertTrue(got.allSatisfy { $0.status == ($0.tag == 1 ? EINVAL : 0) }, "\(got.filter { $0.status != 0 })")
            overtaken = got.first?.tag != 0
        }
        XCTAssertTrue(overtaken, "no completion ever overtook the 4 MiB read")
        assertSameBytes(
            Array(UnsafeRawBufferPointer(start: r, count: 1 << 20)), DiskPattern.bytes(1 << 20, at: 0, key: 0x51), "read back")

        // Per-entry statuses: misaligned, past the end; the queue goes on.
        XCTAssertTrue(try q.push(.read, offset: 100, length: 512, buffer: 0, tag: 7))
        XCTAssertTrue(try q.push(.read, offset: 16 << 20, length: 512, buffer: 0, tag: 8))
        XCTAssertTrue(try q.push(.read, offset: 0, length: 0, buffer: 0, tag: 9))
        q.submit()
        let bad = try reapAll(q, 3)
        XCTAssertEqual(bad.map(\.status), [EINVAL, EINVAL, EINVAL])
        XCTAssertEqual(bad.map(\.count), [0, 0, 0])
        try dev.write(offset: 1 << 20, DiskPattern.bytes(4096, at: 1 << 20, key: 9))
        XCTAssertEqual(try dev.read(offset: 1 << 20, length: 4096), DiskPattern.bytes(4096, at: 1 << 20, key: 9))
    }

    func testQD32DataIntegrityAgainstImage() throws {
        let dir = try rpcScratch(self)
        let size = 32 << 20
        let image = TempImage(bytes: size)
        let server = try BlockServerProcess(self, dir: dir, image: image.path)
        let dev = try BlockServerClient(socket: server.socket).open("disk0", writable: true, window: 32 * 4096, queue: true)
        defer { dev.close() }
        let q = try queueOf(dev)
        let blocks = UInt64(size / 4096)
        var rng = SystemRandomNumberGenerator()

        // Random 4 KiB writes, 32 in flight; slot i's buffer holds the
        // pattern of the block it writes. Later writes to a block win: track them.
        var expected: [UInt64: UInt64] = [:]  // block -> key
        var slotBlock = [UInt64](repeating: 0, count: 32)
        var submitted = 0
        var completed = 0
        func fill(_ slot: Int, key: UInt64) throws {
            var blk = UInt64.random(in: 0..<blocks, using: &rng)
            while slotBlock.enumerated().contains(where: { $0.offset != slot && $0.element == blk }) {
                blk = UInt64.random(in: 0..<blocks, using: &rng)
            }
            slotBlock[slot] = blk
            let p = DiskPattern.bytes(4096, at: blk * 4096, key: key)
            p.withUnsafeBytes { (q.region.base + slot * 4096).copyMemory(from: $0.baseAddress!, byteCount: 4096) }
            expected[blk] = key
            XCTAssertTrue(try q.push(.write, offset: blk * 4096, length: 4096, buffer: UInt64(slot) * 4096, tag: UInt64(slot)))
            submitted += 1
        }
        for s in 0..<32 { try fill(s, key: UInt64(s)) }
        q.submit()
        while completed < 1024 {
            for c in try q.wait() {
                XCTAssertEqual(c.status, 0)
                completed += 1
                if submitted < 1024 { try fill(Int(c.tag), key: UInt64(submitted)) }
            }
            q.submit()
        }
        try dev.flush()
        for (blk, key) in expected {
            assertSameBytes(
                image.contents(offset: Int(blk) * 4096, count: 4096), DiskPattern.bytes(4096, at: blk * 4096, key: key),
                "block \(blk) in the image")
        }

        // Random 4 KiB reads, 32 in flight, each checked against the image.
        let imageBytes = image.contents(offset: 0, count: size)
        var readBlock = [UInt64](repeating: 0, count: 32)
        var reads = 0
        var checked = 0
        func issue(_ slot: Int) throws {
            let blk = UInt64.random(in: 0..<blocks, using: &rng)
            readBlock[slot] = blk
            XCTAssertTrue(try q.push(.read, offset: blk * 4096, length: 4096, buffer: UInt64(slot) * 4096, tag: UInt64(slot)))
            reads += 1
        }
        for s in 0..<32 { try issue(s) }
        q.submit()
        XCTAssertEqual(q.outstanding, 32)
        while checked < 2048 {
            for c in try q.wait() {
                XCTAssertEqual(c.status, 0)
                let slot = Int(c.tag)
                let off = Int(readBlock[slot]) * 4096
                let got = Array(UnsafeRawBufferPointer(start: q.region.base + slot * 4096, count: 4096))
                if got != Array(imageBytes[off..<off + 4096]) { XCTFail("block \(readBlock[slot]) differs from the image") }
                checked += 1
                if reads < 2048 { try issue(slot) }
            }
            q.submit()
        }
    }

    // MARK: hostile queues

    /// A device connection with a region and a queue set up by hand.
    private struct RawQueue {
        let device: RPCClient
        let memory: SharedMemory
        let region: SharedMemory
        let q: UnsafeMutablePointer<husk_blkq>
    }

    private func rawQueue(_ socket: String, entries: UInt32 = 8) throws -> RawQueue {
        let client = try BlockServerClient(socket: socket)
        let fd = try BlkClient(client.rpc).open(name: "disk0", mode: 2).device
        let device = try RPCClient.adopt(fd: fd, require: [(Blk.interfaceID, 2)], parent: client.rpc)
        let region = try device.registerSharedMemory(size: 1 << 20)
        let memory = try SharedMemory.create(size: Int(husk_blkq_size(entries)))
        let q = UnsafeMutablePointer<husk_blkq>.allocate(capacity: 1)
        XCTAssertEqual(husk_blkq_init(q, memory.base, memory.size, entries, 0), 0)
        _ = try BlkClient(device).queueSetup(queue: memory.fd, entries: entries, region: region.ref())
        return RawQueue(device: device, memory: memory, region: region, q: q)
    }

    private func waitDisconnected(_ c: RPCClient, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        let end = Date().addingTimeInterval(10)
        while c.isConnected && Date() < end { usleep(10_000) }
        XCTAssertFalse(c.isConnected, "\(what): the device connection is still open", file: file, line: line)
    }

    func testHostileQueuesAreDisconnectedAndTheServerGoesOn() throws {
        let dir = try rpcScratch(self)
        let image = TempImage(bytes: 4 << 20)
        let server = try BlockServerProcess(self, dir: dir, image: image.path)
        // A well-behaved client with its own queue, used throughout.
        let good = try BlockServerClient(socket: server.socket).open("disk0", writable: true, queue: true)
        defer { good.close() }
        XCTAssertNotNil(good.queue)
        let pattern = DiskPattern.bytes(64 << 10, at: 0, key: 0xF00D)
        try good.write(offset: 0, pattern)

        func push(_ raw: RawQueue, _ e: husk_blkq_sqe) {
            var e = e
            XCTAssertEqual(husk_blkq_push(raw.q, &e), 0)
            husk_blkq_publish(raw.q)
        }
        // Garbage op.
        var raw = try rawQueue(server.socket)
        push(raw, husk_blkq_sqe(op: 77, flags: 0, reserved: 0, length: 512, offset: 0, buffer: 0, tag: 1))
        waitDisconnected(raw.device, "unknown op")
        raw.q.deallocate()
        // Non-zero reserved bits.
        raw = try rawQueue(server.socket)
        push(raw, husk_blkq_sqe(op: 1, flags: 0xFF, reserved: 0, length: 512, offset: 0, buffer: 0, tag: 1))
        waitDisconnected(raw.device, "flags")
        raw.q.deallocate()
        // A buffer outside the region (and one whose end overflows).
        raw = try rawQueue(server.socket)
        push(raw, husk_blkq_sqe(op: 1, flags: 0, reserved: 0, length: 4096, offset: 0, buffer: (1 << 20) - 512, tag: 1))
        waitDisconnected(raw.device, "buffer past the region")
        raw.q.deallocate()
        raw = try rawQueue(server.socket)
        push(raw, husk_blkq_sqe(op: 2, flags: 0, reserved: 0, length: 4096, offset: 0, buffer: UInt64.max - 100, tag: 1))
        waitDisconnected(raw.device, "buffer offset overflowing")
        raw.q.deallocate()
        // A submission tail far beyond the ring.
        raw = try rawQueue(server.socket)
        raw.memory.base.storeBytes(of: UInt32(1_000_000), as: UInt32.self)
        _ = husk_ring_notify(raw.memory.base.advanced(by: 128).assumingMemoryBound(to: UInt32.self))
        waitDisconnected(raw.device, "garbage tail")
        raw.q.deallocate()
        // A completion head rewritten beyond the ring while entries wait.
        raw = try rawQueue(server.socket)
        (raw.memory.base + 256).storeBytes(of: UInt32(0x8000_0000), as: UInt32.self)
        push(raw, husk_blkq_sqe(op: 1, flags: 0, reserved: 0, length: 512, offset: 0, buffer: 0, tag: 1))
        waitDisconnected(raw.device, "garbage completion head")
        raw.q.deallocate()
        // An entry half-written and never published is an idle queue: the
        // connection stays, and a later clean entry completes.
        raw = try rawQueue(server.socket)
        raw.memory.base.advanced(by: 4096).storeBytes(of: UInt8(77), as: UInt8.self)
        usleep(200_000)
        XCTAssertTrue(raw.device.isConnected)
        push(raw, husk_blkq_sqe(op: 1, flags: 0, reserved: 0, length: 512, offset: 0, buffer: 0, tag: 5))
        var c = husk_blkq_cqe()
        var why: UnsafePointer<CChar>? = nil
        // The C client's wait (spin, then the futex).
        XCTAssertEqual(husk_blkq_wait(raw.q, -1, 10_000), 0)
        XCTAssertEqual(husk_blkq_take(raw.q, &c, &why), 0)
        XCTAssertEqual(c.tag, 5)
        XCTAssertEqual(c.status, 0)
        raw.device.close()
        raw.q.deallocate()

        // Setup refusals: the connection stays (EINVAL replies).
        let client = try BlockServerClient(socket: server.socket)
        let fd = try BlkClient(client.rpc).open(name: "disk0", mode: 1).device
        let device = try RPCClient.adopt(fd: fd, require: [(Blk.interfaceID, 2)], parent: client.rpc)
        defer { device.close() }
        let blk = BlkClient(device)
        let region = try device.registerSharedMemory(size: 1 << 20)
        // A memfd not sealed against shrinking (it could be truncated under the server).
        let unsealed = try SharedMemory.create(size: Int(husk_blkq_size(8)), seal: false)
        XCTAssertThrowsError(try blk.queueSetup(queue: unsealed.fd, entries: 8, region: region.ref())) {
            XCTAssertEqual(($0 as? RPCError)?.status, EINVAL)
        }
        // Sealed but too short for its entries.
        let short = try SharedMemory.create(size: 4096)
        XCTAssertThrowsError(try blk.queueSetup(queue: short.fd, entries: 8, region: region.ref())) {
            XCTAssertEqual(($0 as? RPCError)?.status, EINVAL)
        }
        let fine = try SharedMemory.create(size: Int(husk_blkq_size(8)))
        XCTAssertThrowsError(try blk.queueSetup(queue: fine.fd, entries: 6, region: region.ref())) {
            XCTAssertEqual(($0 as? RPCError)?.status, EINVAL)
        }
        XCTAssertThrowsError(try blk.queueSetup(queue: fine.fd, entries: 8, region: SharedMemoryRef(id: 99, offset: 0, length: 4096))) {
            XCTAssertEqual(($0 as? RPCError)?.status, EINVAL)
        }
        _ = try blk.queueSetup(queue: fine.fd, entries: 8, region: region.ref())
        XCTAssertThrowsError(try blk.queueSetup(queue: fine.fd, entries: 8, region: region.ref())) {
            XCTAssertEqual(($0 as? RPCError)?.status, EBUSY)
        }
        XCTAssertTrue(device.isConnected)

        // The good client was never disturbed; the server logged each reason.
        assertSameBytes(try good.read(offset: 0, length: pattern.count), pattern, "good client")
        let log = server.child.stderr
        for reason in ["unknown op 77", "flags 255", "outside the region", "submission tail beyond the ring", "completion head"] {
            XCTAssertTrue(log.contains(reason), "log names '\(reason)'")
        }
        XCTAssertEqual(server.stop(), 0, server.child.stderr)
    }

    /// A client that dies with entries in flight: the server drains them and
    /// goes on serving.
    func testClientDeathWithEntriesInFlight() throws {
        let dir = try rpcScratch(self)
        let image = TempImage(bytes: 16 << 20)
        let server = try BlockServerProcess(self, dir: dir, image: image.path)
        for _ in 0..<3 {
            let raw = try rawQueue(server.socket, entries: 64)
            for i in 0..<8 {
                var e = husk_blkq_sqe(
                    op: 1, flags: 0, reserved: 0, length: 128 << 10, offset: UInt64(i) << 17, buffer: UInt64(i) << 17, tag: UInt64(i))
                XCTAssertEqual(husk_blkq_push(raw.q, &e), 0)
            }
            husk_blkq_publish(raw.q)
            raw.device.close()
            raw.q.deallocate()
        }
        let dev = try BlockServerClient(socket: server.socket).open("disk0", writable: true, queue: true)
        try dev.write(offset: 0, DiskPattern.bytes(4096, at: 0, key: 3))
        XCTAssertEqual(try dev.read(offset: 0, length: 4096), DiskPattern.bytes(4096, at: 0, key: 3))
        dev.close()
        XCTAssertEqual(server.stop(), 0, server.child.stderr)
    }
}
