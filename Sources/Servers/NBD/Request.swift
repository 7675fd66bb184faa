import HypercallABI

/// One NBD request from header to reply. Its mutable fields are guarded by
/// the owning connection's monitor: the reader creates it, disk completions
/// (on the provider's thread) count its pieces down, the sender replies.
final class Request: @unchecked Sendable {
    // @unchecked: see above; every mutation happens under Connection.monitor.
    let cookie: UInt64
    let command: UInt16
    let flags: UInt16
    let offset: UInt64
    let length: UInt32
    /// Read data to send, or write data the disk still uses.
    var buffer: AlignedBuffer?
    /// NBD error for the reply (0: success). The first failure wins.
    var error: UInt32
    /// Disk requests still outstanding, plus one held by the submitter.
    var piecesLeft = 0
    /// FUA: flush once the write has completed, reply after the flush.
    var flushAfter: Bool
    /// Bytes charged against the connection's in-flight budget.
    let charged: Int

    init(
        cookie: UInt64, command: UInt16, flags: UInt16, offset: UInt64, length: UInt32,
        error: UInt32 = 0, buffer: AlignedBuffer? = nil, flushAfter: Bool = false
    ) {
        self.cookie = cookie
        self.command = command
        self.flags = flags
        self.offset = offset
        self.length = length
        self.error = error
        self.buffer = buffer
        self.flushAfter = flushAfter
        charged = buffer?.count ?? 0
    }

    /// The reply carries data only for a successful READ.
    var repliesWithData: Bool { command == NBD.cmdRead && error == 0 }
}

/// Disk (HUSK_E*) status → NBD error, as documented in docs/nbd.md.
enum ErrorMapping {
    static func nbdError(_ status: Int32) -> UInt32 {
        switch status {
        case HUSK_OK: return 0
        case HUSK_EROFS, HUSK_EPERM, HUSK_EACCES: return NBD.errPerm
        case HUSK_EINVAL: return NBD.errInval
        case HUSK_ENOSPC: return NBD.errNoSpc
        case HUSK_ENOMEM: return NBD.errNoMem
        case HUSK_ENOTSUP, HUSK_ENOSYS: return NBD.errNotSup
        default: return NBD.errIO  // EIO, ENODEV (disk withdrawn), EINTR, anything else
        }
    }
}
