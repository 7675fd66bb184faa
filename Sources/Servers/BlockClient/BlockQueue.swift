import Glibc
import Platform
import RPCClient
import RPCClientC
import RPCInterfaces
import RPCWire

/// The client side of a device's block queue (docs/block.md, "The block
/// queue"): submission and completion rings in a memfd this client created,
/// data buffers in `region` (shared memory registered on the device's
/// connection). Push entries, `submit` them, and reap completions, which
/// arrive in any order and are matched by tag. One thread at a time.
public final class BlockQueue: @unchecked Sendable {
    // @unchecked: one caller at a time by contract (like BlockDevice).
    public let entries: UInt32
    /// Where entries' `buffer` offsets point (offset 0 = the region's start).
    public let region: SharedMemory
    let rpc: RPCClient
    private let memory: SharedMemory
    private let q: UnsafeMutablePointer<husk_blkq>
    /// Entries submitted whose completion has not been reaped.
    public private(set) var outstanding = 0

    public enum Op: UInt8, Sendable {
        case read = 1, write = 2, flush = 3
    }

    public struct Completion: Sendable, Equatable {
        public let tag: UInt64
        /// 0 or an errno value (docs/block.md).
        public let status: Int32
        public let count: UInt32
    }

    /// HUSK_BLK_QUEUE=0 in the environment: devices do not set up a queue
    /// (their calls go one RPC each, the path before the queue existed).
    public static let enabledByDefault: Bool = getenv("HUSK_BLK_QUEUE").map { String(cString: $0) != "0" } ?? true

    /// Set up a queue of `entries` entries on the device connection `rpc`
    /// with data buffers in `region` (registered on that connection).
    init(rpc: RPCClient, blk: BlkClient, region: SharedMemory, entries: UInt32) throws(RPCError) {
        guard husk_blkq_entries_valid(entries) != 0 else { throw RPCError(RPCStatus.inval, "entries \(entries)") }
        self.rpc = rpc
        self.entries = entries
        self.region = region
        memory = try SharedMemory.create(size: Int(husk_blkq_size(entries)))
        q = UnsafeMutablePointer<husk_blkq>.allocate(capacity: 1)
        q.initialize(to: husk_blkq())
        guard husk_blkq_init(q, memory.base, memory.size, entries, 0) == 0 else {
            q.deallocate()
            throw RPCError(RPCStatus.inval, "queue layout")
        }
        do { _ = try blk.queueSetup(queue: memory.fd, entries: entries, region: region.ref()) } catch {
            q.deallocate()
            throw error
        }
    }

    deinit { q.deallocate() }

    /// Free submission entries right now.
    public var space: Int { max(0, Int(husk_blkq_free(q))) }

    /// Write one entry into the submission ring without publishing it
    /// (`submit` does). False when the ring is full.
    public func push(_ op: Op, offset: UInt64, length: UInt32, buffer: UInt64, tag: UInt64) throws(RPCError) -> Bool {
        var e = husk_blkq_sqe(op: op.rawValue, flags: 0, reserved: 0, length: length, offset: offset, buffer: buffer, tag: tag)
        switch husk_blkq_push(q, &e) {
        case 0:
            outstanding += 1
            return true
        case EAGAIN: return false
        default: throw RPCError(RPCStatus.connreset, "block queue: the server's submission head is garbage")
        }
    }

    /// Publish the pushed entries and wake the server if it sleeps.
    public func submit() { husk_blkq_publish(q) }

    /// Completions available now (none: empty), at most `max`.
    public func reap(max: Int = Int.max) throws(RPCError) -> [Completion] {
        var out: [Completion] = []
        var c = husk_blkq_cqe()
        var why: UnsafePointer<CChar>? = nil
        while out.count < max {
            let r = husk_blkq_take(q, &c, &why)
            if r == EAGAIN { break }
            if r != 0 {
                throw RPCError(RPCStatus.connreset, "block queue: \(why.map { String(cString: $0) } ?? "bad completion ring")")
            }
            outstanding -= 1
            out.append(Completion(tag: c.tag, status: c.status, count: c.count))
        }
        return out
    }

    /// Wait until at least one completion is there (spin, then the futex:
    /// the call rings' waiting), and return those available. ECONNRESET
    /// when the device connection died (a violation closes it).
    public func wait(max: Int = Int.max) throws(RPCError) -> [Completion] {
        let rx = withUnsafeMutablePointer(to: &q.pointee.rx) { $0 }
        while true {
            let got = try reap(max: max)
            if !got.isEmpty { return got }
            if outstanding <= 0 { throw RPCError(RPCStatus.inval, "block queue: nothing outstanding to wait for") }
            if husk_ring_spin(rx) != 0 { continue }
            if husk_ring_prepare_sleep(rx, UInt32(HUSK_RING_SLEEP_FUTEX)) == 0 {
                let r = husk_ring_futex_sleep(rx, 100)
                husk_ring_end_sleep(rx)
                if r == ETIMEDOUT && !rpc.isConnected {
                    throw RPCError(RPCStatus.connreset, "block queue: the device connection closed")
                }
            }
        }
    }

    /// Run entries to completion one window at a time: the synchronous
    /// helper behind BlockDevice's read, write and flush.
    func run(_ op: Op, offset: UInt64, length: Int) throws(RPCError) {
        guard try push(op, offset: offset, length: UInt32(length), buffer: 0, tag: 1) else {
            throw RPCError(RPCStatus.again, "block queue full")
        }
        submit()
        let done = try wait()
        guard let c = done.first else { throw RPCError(RPCStatus.io) }
        if c.status != 0 { throw RPCError(c.status, "block queue \(op) at \(offset)") }
    }
}
