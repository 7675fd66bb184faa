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

    init(disk: Glue.Disk, writable: Bool) {
        self.disk = disk
        self.writable = writable
    }

    var isClosed: Bool { lock.withLock { closed } }
    func close() { lock.withLock { closed = true } }
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
}

/// Operation codes inside a `blk.batch` request (docs/block.md).
public enum BlockBatchOp: UInt64, Sendable {
    case read = 1, write = 2, flush = 3
}
