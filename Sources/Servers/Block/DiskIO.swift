import Glibc
import Glue
import HypercallABI
import Platform
import RPCTransport

/// Synchronous I/O over an asynchronous glue disk, for code that serves one
/// call on one thread (an RPC worker): a transfer is split into pieces of at
/// most the disk's `maxTransfer`, and up to `queueDepth` pieces are in flight
/// at once, so a single 1 MiB read keeps the provider's queue busy.
public enum DiskIO {
    /// Bytes per piece when the provider sets no limit.
    static let defaultPiece: UInt64 = 1 << 20
    /// Pieces in flight when the provider sets no limit.
    static let defaultDepth = 32

    /// Read or write `length` bytes at `offset` through `buffer`. Returns 0
    /// or the first error (HUSK_E*); HUSK_EINTR when `cancelled()` turned
    /// true before every piece was submitted (pieces already submitted are
    /// waited for: the buffer is the caller's again when this returns).
    public static func transfer(
        _ disk: Glue.Disk, _ op: Glue.Disk.Operation, buffer: UnsafeMutableRawPointer,
        offset: UInt64, length: UInt64,
        cancelled: () -> Bool = { false }
    ) -> Int32 {
        if usesSynchronousPath(disk) {
            return synchronousTransfer(disk, op, buffer: buffer, offset: offset, length: length, cancelled: cancelled)
        }
        let piece = pieceSize(disk)
        let depth = disk.queueDepth == 0 ? defaultDepth : Int(disk.queueDepth)
        let tracker = Tracker()
        var done: UInt64 = 0
        var status: Int32 = HUSK_OK
        while done < length && status == HUSK_OK {
            if cancelled() {
                status = HUSK_EINTR
                break
            }
            if tracker.inFlight >= depth {
                tracker.waitForOne()
                status = tracker.firstError
                continue
            }
            let n = min(piece, length - done)
            tracker.started()
            let r = disk.submit(op, data: buffer + Int(done), offset: offset + done, length: n) { tracker.finished($0) }
            if r == HUSK_EAGAIN {
                // The provider's queue is full (other clients): wait for one
                // of ours, or yield if none of ours is in flight.
                tracker.unstarted()
                if tracker.inFlight > 0 { tracker.waitForOne() } else { sched_yield() }
                continue
            }
            if r != HUSK_OK {
                tracker.unstarted()
                status = r
                break
            }
            done += n
        }
        tracker.waitForAll()
        return status != HUSK_OK ? status : tracker.firstError
    }

    /// The provider's blocking transfer on this thread, in pieces of its
    /// max_transfer: no hand-off to the provider's threads and back.
    static func synchronousTransfer(
        _ disk: Glue.Disk, _ op: Glue.Disk.Operation, buffer: UnsafeMutableRawPointer,
        offset: UInt64, length: UInt64, cancelled: () -> Bool
    ) -> Int32 {
        let piece = pieceSize(disk)
        var done: UInt64 = 0
        while done < length {
            if cancelled() { return HUSK_EINTR }
            let n = min(piece, length - done)
            let r = disk.transferSynchronously(op, data: buffer + Int(done), offset: offset + done, length: n) ?? HUSK_ENOTSUP
            if r != HUSK_OK { return r }
            done += n
        }
        return HUSK_OK
    }

    /// Whether servers use a provider's synchronous transfer when it has
    /// one (HUSK_BLK_SYNC=0 forces the asynchronous path, for comparison).
    static let synchronousPathEnabled: Bool = getenv("HUSK_BLK_SYNC").map { String(cString: $0) != "0" } ?? true

    static func usesSynchronousPath(_ disk: Glue.Disk) -> Bool { disk.hasSynchronousTransfer && synchronousPathEnabled }

    /// The largest single request for `disk`: its max_transfer, or
    /// `defaultPiece` when it sets no limit.
    static func pieceSize(_ disk: Glue.Disk) -> UInt64 {
        disk.maxTransfer == 0 ? defaultPiece : UInt64(disk.maxTransfer)
    }

    /// FLUSH and wait. Disks without a volatile cache succeed at once.
    public static func flush(_ disk: Glue.Disk) -> Int32 {
        if usesSynchronousPath(disk) {
            return disk.transferSynchronously(.flush, data: nil, offset: 0, length: 0) ?? HUSK_ENOTSUP
        }
        let tracker = Tracker()
        while true {
            tracker.started()
            let r = disk.submit(.flush, data: nil, offset: 0, length: 0) { tracker.finished($0) }
            if r == HUSK_EAGAIN {
                tracker.unstarted()
                sched_yield()
                continue
            }
            if r != HUSK_OK {
                tracker.unstarted()
                return r
            }
            tracker.waitForAll()
            return tracker.firstError
        }
    }
}

/// Counts one caller's requests in flight and keeps the first error.
final class Tracker: @unchecked Sendable {
    // @unchecked: every field is guarded by `monitor`.
    private let monitor = Monitor()
    private var count = 0
    private var completions = 0
    private var error: Int32 = HUSK_OK

    var inFlight: Int { monitor.withLock { count } }
    var firstError: Int32 { monitor.withLock { error } }

    func started() { monitor.withLock { count += 1 } }
    func unstarted() { monitor.withLock { count -= 1 } }

    func finished(_ status: Int32) {
        monitor.withLock {
            count -= 1
            completions += 1
            if status != HUSK_OK && error == HUSK_OK { error = status }
            monitor.broadcast()
        }
    }

    func waitForOne() {
        monitor.withLock {
            let seen = completions
            while completions == seen && count > 0 { _ = monitor.wait() }
        }
    }

    func waitForAll() {
        monitor.withLock { while count > 0 { _ = monitor.wait() } }
    }
}
