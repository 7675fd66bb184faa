import Glue

/// One disk as a connection sees it after negotiation: its size, the
/// transmission flags advertised for it and the limits requests are checked
/// against.
struct Export: @unchecked Sendable {
    // @unchecked: Glue.Disk is itself Sendable-safe; the rest are values.
    let name: String
    let disk: Glue.Disk
    let readOnly: Bool
    let size: UInt64
    let blockSize: UInt32
    /// Largest piece submitted to the disk at once: the provider's
    /// max_transfer, capped at the protocol payload limit.
    let pieceSize: UInt32

    init(name: String, disk: Glue.Disk, serverReadOnly: Bool) {
        self.name = name
        self.disk = disk
        readOnly = serverReadOnly || disk.isReadOnly
        size = disk.sizeBytes
        blockSize = disk.blockSize
        let mt = disk.maxTransfer
        pieceSize = mt == 0 ? NBDLimits.maxPayload : min(mt, NBDLimits.maxPayload)
    }

    /// Transmission flags. FLUSH and FUA are advertised only when the disk
    /// has a volatile cache (without one every completed write is durable).
    /// WRITE_ZEROES is implemented as writes of a zeroed buffer. TRIM is not
    /// advertised: the disk interface has no discard operation yet.
    /// CAN_MULTI_CONN holds because every connection to a name reaches the
    /// same disk and a disk FLUSH covers every write completed before it,
    /// whichever connection sent it; replies are sent only after completion.
    var transmissionFlags: UInt16 {
        var f = NBD.tflagHasFlags | NBD.tflagCanMultiConn
        if readOnly { f |= NBD.tflagReadOnly } else { f |= NBD.tflagSendWriteZeroes }
        if disk.hasFlush { f |= NBD.tflagSendFlush | NBD.tflagSendFUA }
        return f
    }

    /// NBD_INFO_BLOCK_SIZE: minimum = the disk's block (requests must be
    /// aligned to it), preferred = a page or the block if larger, maximum =
    /// the piece size (a multiple of the block size).
    var blockSizes: (minimum: UInt32, preferred: UInt32, maximum: UInt32) {
        let preferred = max(blockSize, 4096)
        return (blockSize, min(preferred, max(pieceSize, blockSize)), pieceSize)
    }
}
