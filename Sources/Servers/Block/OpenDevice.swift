import Glue
import Platform
import RPCTransport

/// What `open` binds a device descriptor to: one disk in one mode for the
/// client that opened it. Released with the descriptor's connection, so a
/// client that dies (or closes the descriptor) releases its handle.
final class OpenDevice: @unchecked Sendable {
    // @unchecked: `closed` is guarded by `lock`; the rest is immutable.
    let disk: Glue.Disk
    let writable: Bool
    private let lock = Monitor()
    private var closed = false
    private var queue: BlockQueue?

    init(disk: Glue.Disk, writable: Bool) {
        self.disk = disk
        self.writable = writable
    }

    /// The connection is gone (the binding is released with it): the queue
    /// stops; its thread drains what is in flight before unmapping.
    deinit { queue?.stop() }

    var isClosed: Bool { lock.withLock { closed } }

    func close() {
        let q = lock.withLock { () -> BlockQueue? in
            closed = true
            defer { queue = nil }
            return queue
        }
        q?.stop()
    }

    /// Attach a started queue: EBUSY when the device has one already.
    func attach(_ q: BlockQueue) -> Bool {
        lock.withLock {
            guard queue == nil, !closed else { return false }
            queue = q
            return true
        }
    }
}

/// Open modes of `blk.open` (docs/block.md).
public enum BlockOpenMode: UInt32, Sendable {
    case readOnly = 1
    case readWrite = 2
}

/// Features bits of `blk.get_status` (docs/block.md).
public enum BlockFeature {
    public static let flush: UInt32 = 1
    public static let discard: UInt32 = 2
    /// The server accepts `queue_setup` (the block queue, blk version 2).
    public static let queue: UInt32 = 4
}

/// Operation codes inside a `blk.batch` request (docs/block.md).
public enum BlockBatchOp: UInt64, Sendable {
    case read = 1, write = 2, flush = 3
}
