import Glibc
import Glue
import HypercallABI
import Hypercalls
import Platform
import RPCClientC
import RPCInterfaces
import RPCServer
import RPCTransport
import RPCWire

/// The block server's behaviour behind the generated BlkDispatcher
/// (Interfaces/blk.idl, docs/block.md): devices are the glue disks the
/// server's components registered and the configuration exports.
public final class BlockService: BlkService, @unchecked Sendable {
    // @unchecked: immutable after init.
    /// Disk names clients may open (all registered disks when nil).
    let exports: Set<String>?
    /// Serve every device read-only, whatever the disk offers.
    let readOnly: Bool
    /// Most requests in one batch.
    public static let maxBatch = 256

    public init(exports: Set<String>? = nil, readOnly: Bool = false) {
        self.exports = exports
        self.readOnly = readOnly
    }

    private func exported(_ name: String) -> Bool { exports?.contains(name) ?? true }

    public func devices(_ request: Blk.DevicesRequest, call: any RPCCall) throws(RPCError) -> Blk.DevicesReply {
        Blk.DevicesReply(names: Glue.diskNames().filter(exported).joined(separator: "\n"))
    }

    public func open(_ request: Blk.OpenRequest, call: any RPCCall) throws(RPCError) -> Blk.OpenReply {
        guard let mode = BlockOpenMode(rawValue: request.mode) else {
            throw RPCError(RPCStatus.inval, "mode must be 1 (read-only) or 2 (read-write)")
        }
        guard exported(request.name), let disk = Glue.Disk(named: request.name) else {
            throw RPCError(RPCStatus.noent, "no device '\(request.name)'")
        }
        if mode == .readWrite && (readOnly || disk.isReadOnly) {
            throw RPCError(RPCStatus.rofs, "device '\(request.name)' is read-only")
        }
        guard let ctx = call as? any RPCServerCallContext else { throw RPCError(RPCStatus.notsup) }
        let device = OpenDevice(disk: disk, writable: mode == .readWrite)
        switch ctx.openObjectConnection(name: request.name, binding: device) {
        case .failure(let e): throw e
        case .success(let fd): return Blk.OpenReply(device: fd)
        }
    }

    public func getStatus(_ request: Blk.GetStatusRequest, call: any RPCCall) throws(RPCError) -> Blk.GetStatusReply {
        let dev = try device(of: call)
        let d = dev.disk
        let features =
            (d.hasFlush ? BlockFeature.flush : 0) | (d.hasDiscard ? BlockFeature.discard : 0) | BlockFeature.queue
        return Blk.GetStatusReply(
            blockSize: d.blockSize, blockCount: d.blockCount,
            readOnly: readOnly || d.isReadOnly, features: features)
    }

    public func read(_ request: Blk.ReadRequest, call: any RPCCall) throws(RPCError) -> Blk.ReadReply {
        let dev = try device(of: call)
        try transfer(dev, .read, offset: request.offset, buffer: request.buffer, call: call)
        return Blk.ReadReply(count: request.buffer.length)
    }

    public func write(_ request: Blk.WriteRequest, call: any RPCCall) throws(RPCError) -> Blk.WriteReply {
        let dev = try device(of: call)
        guard dev.writable else { throw RPCError(RPCStatus.rofs, "device opened read-only") }
        try transfer(dev, .write, offset: request.offset, buffer: request.buffer, call: call)
        return Blk.WriteReply(count: request.buffer.length)
    }

    public func flush(_ request: Blk.FlushRequest, call: any RPCCall) throws(RPCError) -> Blk.FlushReply {
        let dev = try device(of: call)
        let r = DiskIO.flush(dev.disk)
        if r != HUSK_OK { throw RPCError(r, "flush failed") }
        return Blk.FlushReply()
    }

    public func close(_ request: Blk.CloseRequest, call: any RPCCall) throws(RPCError) -> Blk.CloseReply {
        try device(of: call).close()
        return Blk.CloseReply()
    }

    /// Requests are `(op, device offset, region offset, length)` quadruples.
    /// Reads and writes run concurrently; a flush waits for every earlier
    /// request of the batch, so it covers the writes before it.
    public func batch(_ request: Blk.BatchRequest, call: any RPCCall) throws(RPCError) -> Blk.BatchReply {
        let dev = try device(of: call)
        let q = request.requests
        guard q.count % 4 == 0, q.count / 4 <= BlockService.maxBatch else {
            throw RPCError(
                RPCStatus.inval, "batch: requests must be 1...\(BlockService.maxBatch) quadruples (op, offset, region offset, length)")
        }
        guard let ctx = call as? any RPCServerCallContext else { throw RPCError(RPCStatus.notsup) }
        let n = q.count / 4
        let statuses = StatusBox(count: n)
        // Reads land in the region, so it must be mapped writable for them.
        let hasReads = (0..<n).contains { q[4 * $0] == BlockBatchOp.read.rawValue }
        let mapped = ctx.withSharedMemory(request.region, writable: hasReads) { region -> Void in
            let group = Tracker()
            for i in 0..<n {
                let (op, off, roff, len) = (q[4 * i], q[4 * i + 1], q[4 * i + 2], q[4 * i + 3])
                if cancelled(call) {
                    statuses.set(i, HUSK_EINTR)
                    continue
                }
                guard let kind = BlockBatchOp(rawValue: op) else {
                    statuses.set(i, HUSK_EINVAL)
                    continue
                }
                if kind == .flush {
                    group.waitForAll()
                    statuses.set(i, DiskIO.flush(dev.disk))
                    continue
                }
                if kind == .write && !dev.writable {
                    statuses.set(i, HUSK_EROFS)
                    continue
                }
                let (end, overflow) = roff.addingReportingOverflow(len)
                guard !overflow, end <= UInt64(region.count), len > 0 else {
                    statuses.set(i, HUSK_EFAULT)
                    continue
                }
                if let bad = checkRange(dev.disk, offset: off, length: len) {
                    statuses.set(i, bad)
                    continue
                }
                group.started()
                let r = startTransfer(
                    dev.disk, kind == .read ? .read : .write, region.baseAddress! + Int(roff),
                    offset: off, length: len
                ) { status in
                    statuses.set(i, status)
                    group.finished(status)
                }
                if r != HUSK_OK {
                    group.unstarted()
                    statuses.set(i, r)
                }
            }
            group.waitForAll()
        }
        if case .failure(let e) = mapped { throw e }
        return Blk.BatchReply(statuses: statuses.values.map { UInt32(bitPattern: $0) })
    }

    /// The block queue (docs/block.md): map the client's memfd and the
    /// region window, then a consumer thread serves the rings until the
    /// device is closed or the connection ends.
    public func queueSetup(_ request: Blk.QueueSetupRequest, call: any RPCCall) throws(RPCError) -> Blk.QueueSetupReply {
        defer { Glibc.close(request.queue) }
        let dev = try device(of: call)
        guard let ctx = call as? any RPCServerCallContext else { throw RPCError(RPCStatus.notsup) }
        guard husk_blkq_entries_valid(request.entries) != 0 else {
            throw RPCError(
                RPCStatus.inval, "entries \(request.entries): a power of two in \(HUSK_BLKQ_MIN_ENTRIES)...\(HUSK_BLKQ_MAX_ENTRIES)")
        }
        let memory: RPCSharedMapping
        switch RPCSharedMapping.map(memfd: request.queue) {
        case .failure(let e): throw RPCError(RPCStatus.inval, "queue memfd: \(e.detail)")
        case .success(let m): memory = m
        }
        guard memory.writable else { throw RPCError(RPCStatus.inval, "queue memfd sealed against writes") }
        let need = husk_blkq_size(request.entries)
        guard UInt64(memory.count) >= need else {
            throw RPCError(RPCStatus.inval, "queue memfd of \(memory.count) bytes, \(request.entries) entries need \(need)")
        }
        guard request.region.length > 0 else { throw RPCError(RPCStatus.inval, "empty region") }
        // Reads land in the region: it must be writable.
        let region: RPCSharedMapping
        switch ctx.retainSharedMemory(request.region, writable: true) {
        case .failure(let e): throw e
        case .success(let m): region = m
        }
        let rights = BlockQueue.Rights(
            read: ctx.isAllowed(interface: "blk", operation: "read"),
            write: ctx.isAllowed(interface: "blk", operation: "write"),
            flush: ctx.isAllowed(interface: "blk", operation: "flush"))
        let queue = try BlockQueue(
            disk: dev.disk, writable: dev.writable, rights: rights, memory: memory, region: region,
            entries: request.entries, channel: ctx.eventChannel())
        guard dev.attach(queue) else { throw RPCError(RPCStatus.busy, "the device has a queue already") }
        do { try queue.start() } catch {
            dev.close()
            throw error
        }
        return Blk.QueueSetupReply()
    }

    // MARK: helpers

    private func device(of call: any RPCCall) throws(RPCError) -> OpenDevice {
        guard let ctx = call as? any RPCServerCallContext, let dev = ctx.objectBinding as? OpenDevice else {
            throw RPCError(RPCStatus.badf, "not a device descriptor: call this on the descriptor blk.open returned")
        }
        if dev.isClosed { throw RPCError(RPCStatus.badf, "device closed") }
        if !dev.disk.isAlive { throw RPCError(RPCStatus.nodev, "device '\(dev.disk.name)' has gone") }
        return dev
    }

    private func cancelled(_ call: any RPCCall) -> Bool { call.isCancelled || RPCWorkerThread.cancelPending }

    /// EINVAL for offsets/lengths not in whole blocks or past the end.
    private func checkRange(_ d: Glue.Disk, offset: UInt64, length: UInt64) -> Int32? {
        let bs = UInt64(d.blockSize)
        guard offset % bs == 0, length % bs == 0, offset <= d.sizeBytes, length <= d.sizeBytes - offset else {
            return HUSK_EINVAL
        }
        return nil
    }

    private func transfer(
        _ dev: OpenDevice, _ op: Glue.Disk.Operation, offset: UInt64, buffer: SharedMemoryRef,
        call: any RPCCall
    ) throws(RPCError) {
        guard buffer.length > 0 else { throw RPCError(RPCStatus.inval, "length 0") }
        if checkRange(dev.disk, offset: offset, length: buffer.length) != nil {
            throw RPCError(
                RPCStatus.inval,
                "offset \(offset) length \(buffer.length): not whole \(dev.disk.blockSize)-byte blocks inside the device (\(dev.disk.sizeBytes) bytes)"
            )
        }
        guard let ctx = call as? any RPCServerCallContext else { throw RPCError(RPCStatus.notsup) }
        // Zero-copy: the disk reads into / writes from the client's memory.
        let mapped = ctx.withSharedMemory(buffer, writable: op == .read) { region in
            DiskIO.transfer(
                dev.disk, op, buffer: region.baseAddress!, offset: offset, length: buffer.length,
                cancelled: { self.cancelled(call) })
        }
        switch mapped {
        case .failure(let e): throw e
        case .success(let r) where r != HUSK_OK: throw RPCError(r)
        case .success: return
        }
    }

    /// One batch entry: the whole transfer in the background, `done` once.
    private func startTransfer(
        _ disk: Glue.Disk, _ op: Glue.Disk.Operation, _ p: UnsafeMutableRawPointer,
        offset: UInt64, length: UInt64, done: @escaping @Sendable (Int32) -> Void
    ) -> Int32 {
        if length <= DiskIO.pieceSize(disk) {
            while true {
                let r = disk.submit(op, data: p, offset: offset, length: length, completion: done)
                if r != HUSK_EAGAIN { return r }
                sched_yield()
            }
        }
        // Larger than one piece: split synchronously (rare in batches).
        done(DiskIO.transfer(disk, op, buffer: p, offset: offset, length: length))
        return HUSK_OK
    }
}

/// Per-entry statuses of a batch, written from completion threads.
final class StatusBox: @unchecked Sendable {
    // @unchecked: guarded by `lock`.
    private let lock = Monitor()
    private var storage: [Int32]
    init(count: Int) { storage = Array(repeating: HUSK_OK, count: count) }
    func set(_ i: Int, _ v: Int32) { lock.withLock { storage[i] = v } }
    var values: [Int32] { lock.withLock { storage } }
}
