// The NBD wire constants this frontend uses (fixed newstyle negotiation,
// simple replies). Values are the protocol's; names follow its document so
// that reading this code next to the spec is easy. All integers on the wire
// are big-endian.

enum NBD {
    // MARK: Negotiation

    /// "NBDMAGIC": first eight bytes the server sends.
    static let initMagic: UInt64 = 0x4e42_444d_4147_4943
    /// "IHAVEOPT": newstyle marker, and the prefix of every client option.
    static let optionMagic: UInt64 = 0x4948_4156_454f_5054
    /// Prefix of every option reply.
    static let replyMagic: UInt64 = 0x0003_e889_0455_65a9

    // Handshake flags (server → client, 16 bits).
    static let flagFixedNewstyle: UInt16 = 1 << 0
    static let flagNoZeroes: UInt16 = 1 << 1
    // Client flags (client → server, 32 bits).
    static let clientFixedNewstyle: UInt32 = 1 << 0
    static let clientNoZeroes: UInt32 = 1 << 1

    // Options.
    static let optExportName: UInt32 = 1
    static let optAbort: UInt32 = 2
    static let optList: UInt32 = 3
    static let optStartTLS: UInt32 = 5
    static let optInfo: UInt32 = 6
    static let optGo: UInt32 = 7
    static let optStructuredReply: UInt32 = 8

    // Option reply types.
    static let repAck: UInt32 = 1
    static let repServer: UInt32 = 2
    static let repInfo: UInt32 = 3
    static let repErrUnsup: UInt32 = 0x8000_0001
    static let repErrPolicy: UInt32 = 0x8000_0002
    static let repErrInvalid: UInt32 = 0x8000_0003
    static let repErrUnknown: UInt32 = 0x8000_0006
    static let repErrShutdown: UInt32 = 0x8000_0007

    // NBD_REP_INFO item types.
    static let infoExport: UInt16 = 0
    static let infoBlockSize: UInt16 = 3

    // MARK: Transmission

    static let requestMagic: UInt32 = 0x2560_9513
    static let simpleReplyMagic: UInt32 = 0x6744_6698

    // Transmission flags (per export, 16 bits).
    static let tflagHasFlags: UInt16 = 1 << 0
    static let tflagReadOnly: UInt16 = 1 << 1
    static let tflagSendFlush: UInt16 = 1 << 2
    static let tflagSendFUA: UInt16 = 1 << 3
    static let tflagSendWriteZeroes: UInt16 = 1 << 6
    static let tflagCanMultiConn: UInt16 = 1 << 8

    // Commands.
    static let cmdRead: UInt16 = 0
    static let cmdWrite: UInt16 = 1
    static let cmdDisc: UInt16 = 2
    static let cmdFlush: UInt16 = 3
    static let cmdTrim: UInt16 = 4
    static let cmdWriteZeroes: UInt16 = 6

    // Command flags.
    static let cmdFlagFUA: UInt16 = 1 << 0
    static let cmdFlagNoHole: UInt16 = 1 << 1

    // Error values in replies (the protocol's, equal to Linux errno).
    static let errPerm: UInt32 = 1
    static let errIO: UInt32 = 5
    static let errNoMem: UInt32 = 12
    static let errInval: UInt32 = 22
    static let errNoSpc: UInt32 = 28
    static let errNotSup: UInt32 = 95
    static let errShutdown: UInt32 = 108
}

/// Bounds on every length a peer controls: nothing is allocated from a
/// length field before it has been checked against one of these.
enum NBDLimits {
    /// Option data (export names are at most 4 KiB by the protocol).
    static let maxOptionData: UInt32 = 4096
    /// Largest READ or WRITE payload (the protocol's usual 32 MiB).
    static let maxPayload: UInt32 = 32 << 20
    /// A WRITE above maxPayload but at most this much is read and discarded
    /// so that the connection can carry on with EINVAL; beyond it the
    /// connection is closed (reading gigabytes just to stay in sync is not
    /// worth it).
    static let maxDiscardablePayload: UInt32 = 64 << 20
    /// Back-pressure per connection: the reader stops taking requests while
    /// this many are in flight or this many buffer bytes are allocated.
    static let maxInFlightRequests = 128
    static let maxInFlightBytes = 128 << 20
    /// Connections served at once; more are closed at accept.
    static let maxConnections = 256
    /// Seconds a client may take over the whole negotiation phase.
    static let negotiationTimeoutSeconds = 30
    /// Seconds a send may stall (client not reading) before the connection
    /// is considered gone.
    static let sendTimeoutSeconds = 60
}
