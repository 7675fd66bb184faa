import BlockServer
import Glibc
import Glue
import GlueAPI
import HypercallABI
import Hypercalls
import Platform
import RPCClient
import RPCClientC
import RPCInterfaces
import RPCServer
import RPCSys
import RPCTransport
import RPCWire

/// The block-queue cases of the fuzz target (docs/fuzzing.md, docs/block.md
/// "The block queue"): an in-process block server over a RAM disk, a device
/// opened and its queue set up over a socketpair like a client would, then
/// the input is played as a hostile client's writes into the queue memfd.
///
/// Input: the byte `Q` (0x51; other inputs skip these cases), then
/// operations, each one byte `op` then its arguments; a short one ends it.
///
///     0  u16 offset, u8 n, n bytes   write the bytes into the queue memfd at offset (mod its size)
///     1  u32 value                   store it as the submission tail and wake the server
///     2  u8 op, u8 blocks, u8 at, u8 buf   a submission of `op` (raw byte) over `blocks`
///                                    512-byte blocks at block `at`, buffer at 512 × `buf`, published
///     3  32 bytes                    a submission of these raw bytes, published
///     4  u32 value                   store it as the completion head
///     5                              wait 200 µs
///     6                              reap the completions there are
///     other                          stop
///
/// Invariants: every completion reaped (while the client did not clobber the
/// completion ring) carries a tag that was submitted and a status of the
/// queue's set (0, EINVAL, EROFS, EACCES, ENODEV, EIO); after the input the
/// client closes the device connection and the server closes it within the
/// timeout (the queue drains; no unbounded spin or wait); no crash.
public enum BlockQueueFuzz {
    public static let marker: UInt8 = 0x51
    public static let entries: UInt32 = 8
    static let diskName = "fuzzq0"
    static let regionSize = 64 << 10

    static let server: RPCServer = {
        var config = RPCServer.Configuration(name: "fuzz-blkq")
        config.minWorkers = 2
        config.maxWorkers = 8
        config.log = { _, _ in }
        return RPCServer(configuration: config, handlers: [BlkDispatcher(BlockService(exports: [diskName]))])
    }()

    /// glue_disk_register and glue_disk_unregister need a bound hypercall
    /// table: the posix backend's, active only around those two calls (so
    /// that tests in the same process can start their own hosts), and kept
    /// so that the table the glue points at stays allocated. Nothing on the
    /// block server's path in between calls a hypercall.
    static let hypercalls = HypercallHost(backend: PosixBackend())
    private static let registered = Locked(false)

    private static func withHost(_ body: () -> Void) {
        hypercalls.activate()
        Glue.bind(UnsafePointer(hypercalls.table))
        body()
        hypercalls.shutdown()
    }

    /// 1 MiB of RAM as a glue disk; requests complete inline.
    nonisolated(unsafe) static let ramDisk: UnsafeMutablePointer<disk> = {
        let bytes = UnsafeMutableRawPointer.allocate(byteCount: 1 << 20, alignment: 4096)
        bytes.initializeMemory(as: UInt8.self, repeating: 0, count: 1 << 20)
        let d = UnsafeMutablePointer<disk>.allocate(capacity: 1)
        d.initialize(to: disk())
        d.pointee.name = UnsafePointer(strdup(diskName))
        d.pointee.info = disk_info(
            block_count: 2048, block_size: 512, flags: UInt32(DISK_F_FLUSH), max_transfer: 16 << 10, queue_depth: 16)
        d.pointee.priv = bytes
        d.pointee.submit = { priv, req in
            let r = req!
            r.pointee.status = ramTransfer(priv!, r.pointee.op, r.pointee.data, r.pointee.offset, r.pointee.len)
            r.pointee.done(r)
            return HUSK_OK
        }
        return d
    }()

    /// Register the RAM disk (once, until `withdrawRamDisk`).
    static func ensureRamDisk() {
        registered.withLock { done in
            guard !done else { return }
            withHost { _ = glue_disk_register(ramDisk) }
            done = true
        }
    }

    /// Withdraw the RAM disk from the glue's registry (a test process's
    /// other suites list every registered disk).
    public static func withdrawRamDisk() {
        registered.withLock { done in
            guard done else { return }
            withHost { glue_disk_unregister(ramDisk) }
            done = false
        }
    }

    private static func ramTransfer(
        _ base: UnsafeMutableRawPointer, _ op: UInt32, _ data: UnsafeMutableRawPointer?, _ offset: UInt64, _ len: UInt64
    ) -> Int32 {
        switch op {
        case DISK_OP_READ: data!.copyMemory(from: base + Int(offset), byteCount: Int(len))
        case DISK_OP_WRITE: (base + Int(offset)).copyMemory(from: data!, byteCount: Int(len))
        default: break
        }
        return HUSK_OK
    }

    public static let seeds: [(name: String, bytes: [UInt8])] = [
        ("blkq-valid-rw-flush", [2, 2, 4, 0, 0, 5, 2, 1, 8, 0, 0, 2, 3, 0, 0, 0, 5, 6]),
        ("blkq-out-of-order", [2, 1, 32, 0, 0, 2, 1, 1, 40, 64, 2, 1, 1, 41, 65, 5, 6]),
        ("blkq-bad-op", [2, 9, 1, 0, 0, 5]),
        ("blkq-bad-buffer", [2, 1, 8, 0, 127, 5]),
        ("blkq-tail-beyond", [1, 0x40, 0x42, 0x0F, 0, 5]),
        ("blkq-head-beyond", [4, 0, 0, 0, 0x80, 2, 1, 1, 0, 0, 5]),
        ("blkq-raw-entry", [3] + [UInt8](repeating: 0xAB, count: 32) + [5]),
        ("blkq-misaligned-and-past-end", [2, 1, 1, 255, 0, 2, 2, 0, 0, 0, 5, 6]),
        ("blkq-half-written", [0, 0x00, 0x10, 8, 1, 0, 0, 0, 0, 2, 0, 0, 5, 2, 1, 1, 0, 0, 5, 6])
    ]

    public static func runInput(_ data: UnsafeRawBufferPointer, timeout: Double = 10) -> [String] {
        guard data.first == marker else { return [] }
        return run(UnsafeRawBufferPointer(rebasing: data[1...]), timeout: timeout)
    }

    /// Broken invariants of one input (empty when all is well).
    public static func run(_ data: UnsafeRawBufferPointer, timeout: Double = 10) -> [String] {
        ensureRamDisk()
        var sv: [Int32] = [-1, -1]
        guard husk_rpc_socketpair(&sv) == 0 else { return [] }
        let before = server.connectionCount
        guard server.adopt(OwnedDescriptor(sv[1]), identity: RPCFuzzServer.identity, note: " (block queue fuzz)") else {
            close(sv[0])
            return []
        }
        var violations: [String] = []
        do throws(RPCError) {
            let top = try RPCClient.adopt(fd: sv[0], require: [(Blk.interfaceID, 2)], ring: false)
            defer { top.close() }
            let fd = try BlkClient(top).open(name: diskName, mode: 2).device
            let device = try RPCClient.adopt(fd: fd, require: [(Blk.interfaceID, 2)], parent: top)
            let region = try device.registerSharedMemory(size: regionSize)
            let memory = try SharedMemory.create(size: Int(husk_blkq_size(entries)))
            let q = UnsafeMutablePointer<husk_blkq>.allocate(capacity: 1)
            defer { q.deallocate() }
            guard husk_blkq_init(q, memory.base, memory.size, entries, 0) == 0 else { return ["queue init"] }
            _ = try BlkClient(device).queueSetup(queue: memory.fd, entries: entries, region: region.ref())
            violations = play(data, q: q, memory: memory)
            device.close()
        } catch {
            return ["setup: \(error)"]
        }
        let end = monotonicNanos() + UInt64(timeout * 1e9)
        while server.connectionCount > before && monotonicNanos() < end { usleep(500) }
        if server.connectionCount > before {
            violations.append("block queue connections not closed within \(timeout) s after the client left")
        }
        return violations
    }

    private static func play(_ data: UnsafeRawBufferPointer, q: UnsafeMutablePointer<husk_blkq>, memory: SharedMemory) -> [String] {
        var violations: [String] = []
        var i = 0
        var nextTag: UInt64 = 1
        var submitted: Set<UInt64> = []
        // Writes over the completion ring or its indices make what we reap
        // ours, not the server's: then completions are not checked.
        var clobbered = false
        let size = memory.size
        let cqStart = Int(HUSK_BLKQ_CONTROL_SIZE) + Int(entries * HUSK_BLKQ_SQE_SIZE)
        let allowed: Set<Int32> = [0, EINVAL, EROFS, EACCES, ENODEV, EIO]
        func byte() -> UInt8? {
            guard i < data.count else { return nil }
            defer { i += 1 }
            return data[i]
        }
        func bytes(_ n: Int) -> [UInt8]? {
            guard data.count - i >= n else { return nil }
            defer { i += n }
            return Array(UnsafeRawBufferPointer(rebasing: data[i..<i + n]))
        }
        func u32(_ b: [UInt8]) -> UInt32 { UInt32(b[0]) | UInt32(b[1]) << 8 | UInt32(b[2]) << 16 | UInt32(b[3]) << 24 }
        func push(_ e: husk_blkq_sqe) {
            var e = e
            // A full ring (the server stopped taking): skip, as a client that waits would.
            if husk_blkq_push(q, &e) == 0 {
                submitted.insert(e.tag)
                husk_blkq_publish(q)
            }
        }
        play: while let op = byte() {
            switch op {
            case 0:
                guard let o = bytes(2), let n = byte(), let b = bytes(Int(n)) else { break play }
                let offset = (Int(o[0]) | Int(o[1]) << 8) % size
                let count = min(b.count, size - offset)
                if count > 0 && ((offset < 324 && offset + count > 192) || offset + count > cqStart) { clobbered = true }
                b.withUnsafeBytes { (memory.base + offset).copyMemory(from: $0.baseAddress!, byteCount: count) }
            case 1:
                guard let v = bytes(4) else { break play }
                memory.base.storeBytes(of: u32(v).littleEndian, as: UInt32.self)
                _ = husk_ring_notify((memory.base + 128).assumingMemoryBound(to: UInt32.self))
            case 2:
                guard let a = bytes(4) else { break play }
                push(
                    husk_blkq_sqe(
                        op: a[0], flags: 0, reserved: 0, length: UInt32(a[1]) * 512, offset: UInt64(a[2]) * 512,
                        buffer: UInt64(a[3]) * 512, tag: nextTag))
                nextTag += 1
            case 3:
                guard let b = bytes(32) else { break play }
                var e = husk_blkq_sqe()
                withUnsafeMutableBytes(of: &e) { $0.copyBytes(from: b) }
                push(e)
            case 4:
                guard let v = bytes(4) else { break play }
                (memory.base + 256).storeBytes(of: u32(v).littleEndian, as: UInt32.self)
                clobbered = true
            case 5:
                usleep(200)
            case 6:
                var c = husk_blkq_cqe()
                var why: UnsafePointer<CChar>? = nil
                while husk_blkq_take(q, &c, &why) == 0 {
                    if clobbered { continue }
                    if !submitted.contains(c.tag) { violations.append("completion of tag \(c.tag), never submitted") }
                    if !allowed.contains(c.status) { violations.append("completion status \(c.status)") }
                }
            default:
                break play
            }
        }
        return violations
    }
}

/// The fuzz entry for the block queue: BlockQueueFuzz.run, trapping on any broken invariant.
public func fuzzOneBlockQueueSequence(_ data: UnsafeRawBufferPointer) {
    let v = BlockQueueFuzz.runInput(data)
    if !v.isEmpty { fatalError("block queue fuzz invariant broken: " + v.joined(separator: "; ")) }
}
