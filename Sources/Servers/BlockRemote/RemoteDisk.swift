import BlockClient
import Glibc
import Glue
import GlueAPI
import HypercallABI
import Platform
import RPCWire

/// A device of a block server in another process (`husk blk serve`),
/// registered in this process's glue disk registry, so that a file-system
/// component (ext2fs) runs over it exactly as over a local disk: the
/// Hurd's ext2fs over its rumpdisk server, the native way.
///
/// Requests go through the device's shared-memory window. When the server
/// offers the device's block queue (BlockDevice sets it up unless
/// HUSK_BLK_QUEUE=0), the window is cut into `queueDepth` slots of
/// `max_transfer` bytes and `submit`'s worker sends up to that many requests
/// at once as queue entries; otherwise, and for `transfer`, they are
/// blocking blk.read / blk.write / blk.flush calls one at a time; the disk's `transfer`
/// carries them out on the caller's thread (what disk_transfer uses), and
/// `submit` hands them to one worker thread that completes them. Errors
/// (EIO, EROFS) pass through as the server reports them. When the block
/// server goes away (a restart under `husk up`), the device is opened
/// again on a new connection and the request retried, for up to
/// `reconnectSeconds`: reads, writes and flushes are idempotent.
public final class RemoteDisk: @unchecked Sendable {
    // @unchecked: `device`, `queue` and `stopping` are behind `lock`; `d` is
    // set once in init.
    public let name: String
    let socket: String
    let deviceName: String
    let writable: Bool
    let reconnectSeconds: Double
    let d: UnsafeMutablePointer<disk>
    private let lock = Monitor()
    private let io = Monitor()  // one request at a time through the window
    private var device: BlockDevice?
    private var queue: [UnsafeMutablePointer<disk_req>] = []
    private var stopping = false
    /// Set when a reconnect deadline passed: later requests try once and fail at once.
    private var broken = false
    private var worker: HostThread?
    public private(set) var reconnects = 0
    /// The device's shared-memory window, and how many requests share it
    /// on the block queue (1 MiB each).
    static let window = 8 << 20
    static let queueDepth = 8
    /// Requests the worker puts on the block queue at once (1: no queue).
    let depth: Int
    /// Bytes of window per request in flight (the disk's max_transfer).
    let slot: Int

    public struct Failure: Error, CustomStringConvertible { public let description: String }

    /// Open `device` (nil: the server's only one) of the block server at
    /// `socket` and register it as disk `name`.
    public init(socket: String, device: String?, name: String = "disk0", readOnly: Bool, reconnectSeconds: Double = 10) throws {
        self.socket = socket
        self.name = name
        writable = !readOnly
        self.reconnectSeconds = reconnectSeconds
        let client: BlockServerClient
        do { client = try BlockServerClient(socket: socket) } catch {
            throw Failure(description: "cannot connect to the block server at \(socket): \(error)")
        }
        let names: [String]
        do { names = try client.devices() } catch { throw Failure(description: "blk.devices on \(socket): \(error)") }
        guard let chosen = device ?? (names.count == 1 ? names[0] : nil) else {
            throw Failure(
                description: "the block server at \(socket) serves \(names.count) devices (\(names.joined(separator: ", "))): name one")
        }
        deviceName = chosen
        let dev: BlockDevice
        do { dev = try client.open(chosen, writable: !readOnly, window: Self.window) } catch {
            let hint = error.status == EROFS ? " (the block server serves it read-only: serve the file system --read-only too)" : ""
            throw Failure(description: "cannot open device \(chosen) on \(socket)\(readOnly ? "" : " for writing"): \(error)\(hint)")
        }
        self.device = dev
        // With a queue, the window holds `depth` requests at once.
        depth = dev.queue == nil ? 1 : Self.queueDepth
        slot = dev.window.size / depth / Int(dev.blockSize) * Int(dev.blockSize)
        d = UnsafeMutablePointer<disk>.allocate(capacity: 1)
        d.initialize(to: disk())
        d.pointee.name = UnsafePointer(strdup(name))
        d.pointee.info = disk_info(
            block_count: dev.blockCount, block_size: dev.blockSize,
            flags: (readOnly || dev.readOnly ? DISK_F_READONLY : 0) | ((dev.features & 1) != 0 ? DISK_F_FLUSH : 0),
            max_transfer: UInt32(slot), queue_depth: 64)
        d.pointee.submit = { priv, req in
            let me = Unmanaged<RemoteDisk>.fromOpaque(priv!).takeUnretainedValue()
            return me.enqueue(req!)
        }
        d.pointee.transfer = { priv, op, data, offset, len in
            let me = Unmanaged<RemoteDisk>.fromOpaque(priv!).takeUnretainedValue()
            return me.perform(op, data, offset, len)
        }
        // The registry holds this pointer until unregister, which stop() does first.
        d.pointee.priv = Unmanaged.passUnretained(self).toOpaque()
        let r = glue_disk_register(d)
        guard r == HUSK_OK else {
            dev.close()
            free(UnsafeMutableRawPointer(mutating: d.pointee.name))
            d.deallocate()
            throw Failure(description: "cannot register disk \(name): \(ErrnoName.describe(r))")
        }
        worker = HostThread.start(name: "blk-remote", blockSignals: true) { [self] in work() }
    }

    public var blockSize: UInt32 { d.pointee.info.block_size }
    public var blockCount: UInt64 { d.pointee.info.block_count }

    /// submit: queue the request for the worker (never blocks).
    private func enqueue(_ req: UnsafeMutablePointer<disk_req>) -> Int32 {
        lock.withLock {
            if stopping { return HUSK_ENODEV }
            if queue.count >= 64 { return HUSK_EAGAIN }
            queue.append(req)
            lock.signal()
            return HUSK_OK
        }
    }

    private func work() {
        while true {
            let batch = lock.withLock { () -> [UnsafeMutablePointer<disk_req>] in
                while queue.isEmpty && !stopping { _ = lock.wait() }
                let n = min(queue.count, depth)
                defer { queue.removeFirst(n) }
                return Array(queue.prefix(n))
            }
            if batch.isEmpty { return }
            let statuses = batch.count > 1 ? performQueued(batch) : [nil]
            for (req, queued) in zip(batch, statuses) {
                // Not carried out on the queue (no queue now, a disconnect):
                // the call path, which reconnects.
                req.pointee.status = queued ?? perform(req.pointee.op, req.pointee.data, req.pointee.offset, req.pointee.len)
                req.pointee.done(req)
            }
        }
    }

    /// Several requests at once as entries of the device's block queue, each
    /// in its own slot of the window. A status per request, nil for those
    /// to redo through `perform` (no queue, or the connection is gone).
    private func performQueued(_ batch: [UnsafeMutablePointer<disk_req>]) -> [Int32?] {
        io.withLock {
            var out = [Int32?](repeating: nil, count: batch.count)
            guard !lock.withLock({ broken }), let dev = lock.withLock({ device }), let q = dev.queue else { return out }
            var sent = 0
            do throws(RPCError) {
                for (k, req) in batch.enumerated() {
                    let r = req.pointee
                    guard Int(r.len) <= slot else { continue }
                    let op: BlockQueue.Op
                    switch r.op {
                    case DISK_OP_READ: op = .read
                    case DISK_OP_WRITE:
                        op = .write
                        (dev.window.base + k * slot).copyMemory(from: r.data!, byteCount: Int(r.len))
                    case DISK_OP_FLUSH: op = .flush
                    default:
                        out[k] = HUSK_EINVAL
                        continue
                    }
                    guard try q.push(op, offset: r.offset, length: UInt32(r.len), buffer: UInt64(k * slot), tag: UInt64(k)) else { break }
                    sent += 1
                }
                q.submit()
                var reaped = 0
                while reaped < sent {
                    for c in try q.wait() {
                        reaped += 1
                        let k = Int(c.tag)
                        guard k < batch.count else { continue }
                        if Self.isDisconnect(c.status) { continue }  // redone through perform
                        out[k] = c.status == 0 ? HUSK_OK : c.status
                        let r = batch[k].pointee
                        if c.status == 0 && r.op == DISK_OP_READ {
                            r.data!.copyMemory(from: dev.window.base + k * slot, byteCount: Int(r.len))
                        }
                    }
                }
            } catch {
                // The connection died: what did not complete is redone
                // through perform, which reopens the device.
                return out.map { $0 == HUSK_OK ? $0 : nil }
            }
            return out
        }
    }

    /// Statuses after which the connection (or the device handle on it) is gone.
    static func isDisconnect(_ s: Int32) -> Bool {
        [ESTALE, EPIPE, ECONNRESET, ENOTCONN, ECONNREFUSED, ENOENT, EBADF, RPCStatus.nodev].contains(s)
    }

    /// One request, retried on a new connection while the server is away.
    func perform(_ op: UInt32, _ data: UnsafeMutableRawPointer?, _ offset: UInt64, _ len: UInt64) -> Int32 {
        io.withLock {
            let wait = lock.withLock { broken } ? 0 : reconnectSeconds
            let deadline = monotonicNanos() &+ UInt64(wait * 1e9)
            while true {
                let dev = lock.withLock { device }
                var status: Int32 = HUSK_ENODEV
                if let dev {
                    do throws(RPCError) {
                        switch op {
                        case DISK_OP_READ: try dev.read(offset: offset, length: Int(len), into: data!)
                        case DISK_OP_WRITE: try dev.write(offset: offset, from: UnsafeRawPointer(data!), length: Int(len))
                        case DISK_OP_FLUSH: try dev.flush()
                        default: return HUSK_EINVAL
                        }
                        return HUSK_OK
                    } catch { status = error.status }
                    if !Self.isDisconnect(status) { return status == 0 ? HUSK_EIO : status }
                    dev.close()
                    lock.withLock { device = nil }
                }
                if let client = try? BlockServerClient(socket: socket),
                    let fresh = try? client.open(deviceName, writable: writable, window: Self.window)
                {
                    lock.withLock {
                        device = fresh
                        broken = false
                        reconnects += 1
                    }
                    continue
                }
                if monotonicNanos() > deadline || lock.withLock({ stopping }) {
                    lock.withLock { broken = true }
                    return HUSK_EIO
                }
                usleep(100_000)
            }
        }
    }

    /// Withdraw the disk (after its consumer has closed it) and close the device.
    public func stop() {
        glue_disk_unregister(d)
        let t = lock.withLock { () -> HostThread? in
            stopping = true
            lock.broadcast()
            defer { worker = nil }
            return worker
        }
        t?.join()
        lock.withLock { device }?.close()
        free(UnsafeMutableRawPointer(mutating: d.pointee.name))
        d.deinitialize(count: 1)
        d.deallocate()
    }
}
