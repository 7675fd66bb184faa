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
/// Requests go one at a time through the device's shared-memory window:
/// as entries of the device's block queue when the server offers one
/// (BlockDevice sets it up unless HUSK_BLK_QUEUE=0), else as blocking
/// blk.read / blk.write / blk.flush calls; the disk's `transfer`
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
        do { dev = try client.open(chosen, writable: !readOnly) } catch {
            let hint = error.status == EROFS ? " (the block server serves it read-only: serve the file system --read-only too)" : ""
            throw Failure(description: "cannot open device \(chosen) on \(socket)\(readOnly ? "" : " for writing"): \(error)\(hint)")
        }
        self.device = dev
        d = UnsafeMutablePointer<disk>.allocate(capacity: 1)
        d.initialize(to: disk())
        d.pointee.name = UnsafePointer(strdup(name))
        d.pointee.info = disk_info(
            block_count: dev.blockCount, block_size: dev.blockSize,
            flags: (readOnly || dev.readOnly ? DISK_F_READONLY : 0) | ((dev.features & 1) != 0 ? DISK_F_FLUSH : 0),
            max_transfer: UInt32(dev.window.size) / dev.blockSize * dev.blockSize, queue_depth: 64)
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
            let next = lock.withLock { () -> UnsafeMutablePointer<disk_req>? in
                while queue.isEmpty && !stopping { _ = lock.wait() }
                return queue.isEmpty ? nil : queue.removeFirst()
            }
            guard let req = next else { return }
            req.pointee.status = perform(req.pointee.op, req.pointee.data, req.pointee.offset, req.pointee.len)
            req.pointee.done(req)
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
                if let client = try? BlockServerClient(socket: socket), let fresh = try? client.open(deviceName, writable: writable) {
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
