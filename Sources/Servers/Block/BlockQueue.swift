import Glibc
import Glue
import HypercallABI
import Platform
import RPCClientC
import RPCServer
import RPCWire

/// The server side of one device's block queue (docs/block.md, "The block
/// queue"): a consumer thread takes submission entries from the client's
/// memfd (each copied once into private memory, then validated), submits
/// them to the glue disk asynchronously so that many are in flight, and
/// posts completions as they finish, in whatever order the disk completes
/// them. A flush is a barrier: it starts once every earlier entry has
/// completed, and later entries are taken only after it completed.
///
/// The client's memory is hostile: a violation (a garbage index, an unknown
/// op, a buffer outside the region) ends the queue and closes the device
/// connection with the reason logged. Stopping (close, the client's death,
/// a violation) waits for the entries in flight before the queue lets go of
/// the mappings, so the disk never writes into unmapped memory.
final class BlockQueue: @unchecked Sendable {
    // @unchecked: `q`'s consumer half is the consumer thread's; its
    // producer half (completions) is behind `cqLock`; the counters and flags
    // are behind `monitor`; everything else is immutable.
    let disk: Glue.Disk
    let writable: Bool
    let rights: Rights
    let memory: RPCSharedMapping
    let region: RPCSharedMapping
    let channel: RPCEventChannel
    let entries: UInt32
    private let q: UnsafeMutablePointer<husk_blkq>
    private let cqLock = Monitor()
    private let monitor = Monitor()
    private var inFlight = 0  // (monitor) entries taken and not yet completed
    private var stopped = false  // (monitor)
    private var violation: String?  // (monitor)
    private var finished = false  // (monitor) the consumer has drained and left
    private var loggedDenials: Set<String> = []  // (monitor)

    /// What the server's policy grants the client, checked per entry.
    struct Rights {
        var read: Bool
        var write: Bool
        var flush: Bool
    }

    init(
        disk: Glue.Disk, writable: Bool, rights: Rights, memory: RPCSharedMapping, region: RPCSharedMapping,
        entries: UInt32, channel: RPCEventChannel
    ) throws(RPCError) {
        self.disk = disk
        self.writable = writable
        self.rights = rights
        self.memory = memory
        self.region = region
        self.entries = entries
        self.channel = channel
        q = UnsafeMutablePointer<husk_blkq>.allocate(capacity: 1)
        q.initialize(to: husk_blkq())
        let r = husk_blkq_init(q, memory.base, memory.count, entries, 1)
        guard r == 0 else {
            q.deallocate()
            throw RPCError(RPCStatus.inval, "queue memfd of \(memory.count) bytes too small for \(entries) entries")
        }
    }

    deinit { q.deallocate() }

    func start() throws(RPCError) {
        do {
            try HostThread.spawn(name: "blk-queue", detached: true, blockSignals: true) { [self] in run() }
        } catch {
            throw RPCError(RPCStatus.nomem, "\(error)")
        }
    }

    /// Close or death of the client: stop taking entries; those in flight
    /// complete (their completions still land in the ring) before the
    /// consumer thread lets go of the mappings.
    func stop() {
        monitor.withLock { stopped = true }
        husk_ring_stop(&q.pointee.rx)
    }

    /// For tests and shutdown: wait (up to `seconds`) until the consumer left.
    func waitFinished(seconds: Double) -> Bool {
        let deadline = monotonicNanos() &+ UInt64(seconds * 1e9)
        return monitor.withLock {
            while !finished {
                if monotonicNanos() > deadline { return false }
                _ = monitor.wait(timeoutNanos: 10_000_000)
            }
            return true
        }
    }

    // MARK: consumer

    private func run() {
        var sqe = husk_blkq_sqe()
        while true {
            if monitor.withLock({ stopped || violation != nil }) { break }
            // Every entry taken gets a completion slot: entries in flight
            // plus completions not yet reaped never exceed the ring.
            let free = cqLock.withLock { husk_blkq_free(q) }
            if free < 0 {
                fail("completion head beyond the ring (tail - head > entries)")
                break
            }
            if Int(free) - monitor.withLock({ inFlight }) <= 0 {
                // The client is not reaping: look again shortly (bounded
                // polling, 1 ms) while entries wait, else sleep as idle.
                if husk_ring_pending(&q.pointee.rx) != 0 {
                    usleep(1000)
                } else {
                    sleepUntilSubmission()
                }
                continue
            }
            var why: UnsafePointer<CChar>? = nil
            let r = husk_blkq_take(q, &sqe, &why)
            if r == EAGAIN {
                sleepUntilSubmission()
                continue
            }
            if r != 0 {
                fail(why.map { String(cString: $0) } ?? "bad submission ring")
                break
            }
            if let bad = handle(sqe) {
                fail(bad)
                break
            }
        }
        // Drain: the disk may still be writing into the region.
        let reason: String? = monitor.withLock {
            while inFlight > 0 { _ = monitor.wait() }
            return violation
        }
        if let reason { channel.disconnect(reason: "blk queue on '\(disk.name)': \(reason)") }
        monitor.withLock {
            finished = true
            monitor.broadcast()
        }
    }

    /// Spin briefly, then sleep on the futex (at most 100 ms a slice, as the
    /// call rings do); a stop wakes it.
    private func sleepUntilSubmission() {
        let rx = withUnsafeMutablePointer(to: &q.pointee.rx) { $0 }
        if husk_ring_spin(rx) != 0 { return }
        if husk_ring_prepare_sleep(rx, UInt32(HUSK_RING_SLEEP_FUTEX)) == 0 {
            _ = husk_ring_futex_sleep(rx, 100)
            husk_ring_end_sleep(rx)
        }
    }

    private func fail(_ why: String) {
        monitor.withLock { if violation == nil { violation = why } }
        husk_ring_stop(&q.pointee.rx)
    }

    /// One copied entry: nil, or the violation that ends the queue.
    private func handle(_ e: husk_blkq_sqe) -> String? {
        guard e.flags == 0, e.reserved == 0 else {
            return "entry \(e.tag): flags \(e.flags) reserved \(e.reserved) (must be 0)"
        }
        switch UInt32(e.op) {
        case HUSK_BLKQ_OP_READ, HUSK_BLKQ_OP_WRITE:
            let isRead = UInt32(e.op) == HUSK_BLKQ_OP_READ
            let len = UInt64(e.length)
            let (end, overflow) = e.buffer.addingReportingOverflow(len)
            guard !overflow, end <= UInt64(region.count) else {
                return "entry \(e.tag): buffer [\(e.buffer), +\(len)) outside the region of \(region.count) bytes"
            }
            monitor.withLock { inFlight += 1 }
            if let status = refusal(isRead: isRead, offset: e.offset, length: len) {
                complete(e.tag, status, 0)
                return nil
            }
            let buffer = region.base + Int(e.buffer)
            // Alone (nothing else in flight or waiting) on a provider with a
            // synchronous transfer: run it on this thread, as the calls do
            // (DiskIO), without the hand-off to the provider's threads and
            // back. Otherwise everything goes to the disk at once.
            if DiskIO.usesSynchronousPath(disk) && monitor.withLock({ inFlight == 1 }) && husk_ring_pending(&q.pointee.rx) == 0 {
                let s = DiskIO.synchronousTransfer(
                    disk, isRead ? .read : .write, buffer: buffer, offset: e.offset, length: len, cancelled: { false })
                complete(e.tag, s, s == HUSK_OK ? len : 0)
                return nil
            }
            startTransfer(isRead ? .read : .write, tag: e.tag, buffer: buffer, offset: e.offset, length: len)
            return nil
        case HUSK_BLKQ_OP_FLUSH:
            // Barrier: every entry taken before it completes first.
            monitor.withLock {
                inFlight += 1
                while inFlight > 1 { _ = monitor.wait() }
            }
            if !rights.flush { denied("flush") }
            let status = rights.flush ? DiskIO.flush(disk) : HUSK_EACCES
            complete(e.tag, status, 0)
            return nil
        default:
            return "entry \(e.tag): unknown op \(e.op)"
        }
    }

    /// Log a denied entry the way the runtime logs a denied call, once per
    /// operation and queue (a client may submit thousands).
    private func denied(_ op: String) {
        let first = monitor.withLock { loggedDenials.insert(op).inserted }
        if first { channel.log(.warning) { "blk.\(op) denied to \($0) (EACCES, block queue entries)" } }
    }

    /// The per-entry status when the entry is refused before it starts.
    private func refusal(isRead: Bool, offset: UInt64, length: UInt64) -> Int32? {
        if isRead ? !rights.read : !rights.write {
            denied(isRead ? "read" : "write")
            return HUSK_EACCES
        }
        if !isRead && !writable { return HUSK_EROFS }
        let bs = UInt64(disk.blockSize)
        guard length > 0, offset % bs == 0, length % bs == 0, offset <= disk.sizeBytes, length <= disk.sizeBytes - offset else {
            return HUSK_EINVAL
        }
        if !disk.isAlive { return HUSK_ENODEV }
        return nil
    }

    /// The entry in pieces of the disk's max_transfer, all in flight at
    /// once; the completion goes out when the last piece finished.
    private func startTransfer(_ op: Glue.Disk.Operation, tag: UInt64, buffer: UnsafeMutableRawPointer, offset: UInt64, length: UInt64) {
        let piece = DiskIO.pieceSize(disk)
        let entry = EntryState(tag: tag, length: length)
        var done: UInt64 = 0
        while done < length {
            let n = min(piece, length - done)
            entry.add()
            var r: Int32
            repeat {
                r = disk.submit(op, data: buffer + Int(done), offset: offset + done, length: n) { [self] status in
                    if let (s, c) = entry.finish(status) { complete(tag, s, c) }
                }
                // The provider's queue is full (ours or other clients'):
                // its completions free it.
                if r == HUSK_EAGAIN { sched_yield() }
            } while r == HUSK_EAGAIN
            if r != HUSK_OK {
                _ = entry.finish(r)  // never the last: the submitter still holds one
                break
            }
            done += n
        }
        if let (s, c) = entry.finish(nil) { complete(tag, s, c) }
    }

    /// Post one completion (from a disk completion thread or the consumer).
    private func complete(_ tag: UInt64, _ status: Int32, _ count: UInt64) {
        var c = husk_blkq_cqe(tag: tag, status: status, count: UInt32(truncatingIfNeeded: count))
        let r = cqLock.withLock { () -> Int32 in
            let r = husk_blkq_push(q, &c)
            if r == 0 { husk_blkq_publish(q) }
            return r
        }
        // A slot was reserved when the entry was taken: no room now means
        // the client moved its head backwards.
        if r != 0 { fail("completion ring has no room for a reserved completion (head rewritten)") }
        monitor.withLock {
            inFlight -= 1
            monitor.broadcast()
        }
    }
}

/// One entry's pieces in flight: the submitter holds one count until it
/// has submitted every piece.
final class EntryState: @unchecked Sendable {
    // @unchecked: guarded by `lock`.
    let tag: UInt64
    let length: UInt64
    private let lock = Monitor()
    private var pending = 1
    private var status: Int32 = HUSK_OK

    init(tag: UInt64, length: UInt64) {
        self.tag = tag
        self.length = length
    }

    func add() { lock.withLock { pending += 1 } }

    /// One piece finished with `s` (nil: the submitter's own count). The
    /// entry's (status, count) when it was the last.
    func finish(_ s: Int32?) -> (Int32, UInt64)? {
        lock.withLock {
            if let s, s != HUSK_OK, status == HUSK_OK { status = s }
            pending -= 1
            guard pending == 0 else { return nil }
            return (status, status == HUSK_OK ? length : 0)
        }
    }
}
