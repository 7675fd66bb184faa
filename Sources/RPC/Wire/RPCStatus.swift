import Platform

/// Status codes of replies (docs/protocol.md §6): Linux errno values.
public enum RPCStatus {
    public static let ok: Int32 = 0
    public static let perm: Int32 = 1
    public static let noent: Int32 = 2
    public static let intr: Int32 = 4
    public static let io: Int32 = 5
    public static let badf: Int32 = 9
    public static let again: Int32 = 11
    public static let nomem: Int32 = 12
    public static let acces: Int32 = 13
    public static let fault: Int32 = 14
    public static let busy: Int32 = 16
    public static let exist: Int32 = 17
    public static let nodev: Int32 = 19
    public static let inval: Int32 = 22
    public static let nospc: Int32 = 28
    public static let rofs: Int32 = 30
    public static let nosys: Int32 = 38
    public static let proto: Int32 = 71
    public static let msgsize: Int32 = 90
    public static let protonosupport: Int32 = 93
    public static let notsup: Int32 = 95
    public static let connreset: Int32 = 104
    public static let timedout: Int32 = 110
    public static let stale: Int32 = 116
    // Network errors (the net interface, docs/net.md).
    public static let pipe: Int32 = 32
    public static let destaddrreq: Int32 = 89
    public static let noprotoopt: Int32 = 92
    public static let afnosupport: Int32 = 97
    public static let addrinuse: Int32 = 98
    public static let addrnotavail: Int32 = 99
    public static let netunreach: Int32 = 101
    public static let connaborted: Int32 = 103
    public static let nobufs: Int32 = 105
    public static let isconn: Int32 = 106
    public static let notconn: Int32 = 107
    public static let connrefused: Int32 = 111
    public static let hostunreach: Int32 = 113
    public static let already: Int32 = 114
    public static let inprogress: Int32 = 115

    public static func name(_ s: Int32) -> String { ErrnoName.describe(s) }
}

/// A failed call as a client sees it.
public struct RPCError: Error, Equatable, Sendable, CustomStringConvertible {
    public let status: Int32
    public let detail: String
    public init(_ status: Int32, _ detail: String = "") {
        self.status = status
        self.detail = detail
    }
    public static func == (a: RPCError, b: RPCError) -> Bool { a.status == b.status }
    public var description: String { detail.isEmpty ? RPCStatus.name(status) : "\(RPCStatus.name(status)): \(detail)" }
}

/// Limits of docs/protocol.md §3 (the server's defaults).
public struct RPCLimits: Equatable, Sendable {
    public var maxMessage: UInt32 = 131_072
    public var maxFDs: UInt32 = 8
    public var maxInFlight: UInt32 = 64
    public var maxSharedMemory: UInt64 = 256 << 20
    public var maxPayload: UInt64 = 16 << 20
    public var maxQueuedReplyBytes: Int = 4 << 20
    public init() {}
}
