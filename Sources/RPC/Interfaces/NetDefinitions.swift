/// Constants of the net interface (Interfaces/net.idl) that its clients and
/// server share; their meaning is normative in docs/net.md. Numbers are
/// Linux's wherever Linux has the same thing, so that a C client can pass
/// its own constants through.
extension Net {
    /// Address families of `socket` and of every address field.
    public enum Family {
        public static let inet: UInt16 = 2
        public static let inet6: UInt16 = 10
    }

    /// Socket kinds of `socket` (SOCK_STREAM, SOCK_DGRAM).
    public enum Kind {
        public static let stream: UInt32 = 1
        public static let datagram: UInt32 = 2
    }

    /// Bits of the `flags` of accept, send, recv and their variants.
    public enum Flag {
        /// recv: return data without taking it off the queue (MSG_PEEK).
        public static let peek: UInt32 = 0x2
        /// recv: wait until `max` bytes, the end of the stream or an error (MSG_WAITALL).
        public static let waitAll: UInt32 = 0x100
        /// This call does not wait, whatever the socket's mode (MSG_DONTWAIT).
        public static let dontWait: UInt32 = 0x40
        /// send: no SIGPIPE with EPIPE (MSG_NOSIGNAL).
        public static let noSignal: UInt32 = 0x4000
        public static let all: UInt32 = peek | waitAll | dontWait | noSignal
    }

    /// `shutdown`'s `how` (SHUT_RD, SHUT_WR, SHUT_RDWR).
    public enum Shut {
        public static let read: UInt32 = 0
        public static let write: UInt32 = 1
        public static let both: UInt32 = 2
    }

    /// Options of setsockopt/getsockopt: the stack's (1...6, the glue's
    /// SOCKET_OPT_* numbers) and the server's own (7...9).
    public enum Option: UInt32, CaseIterable, Sendable {
        case reuseAddress = 1, keepAlive, receiveBuffer, sendBuffer, noDelay
        /// Get only: the pending error, cleared by reading it.
        case error
        /// 0/1: calls on the socket do not wait (O_NONBLOCK).
        case nonBlocking
        /// Milliseconds a blocking recv/accept waits before EAGAIN (0: no limit; SO_RCVTIMEO).
        case receiveTimeoutMs
        /// Milliseconds a blocking send waits before a partial count or EAGAIN (0: no limit; SO_SNDTIMEO).
        case sendTimeoutMs

        public var name: String {
            switch self {
            case .reuseAddress: "reuseaddr"
            case .keepAlive: "keepalive"
            case .receiveBuffer: "rcvbuf"
            case .sendBuffer: "sndbuf"
            case .noDelay: "nodelay"
            case .error: "error"
            case .nonBlocking: "nonblock"
            case .receiveTimeoutMs: "rcvtimeo"
            case .sendTimeoutMs: "sndtimeo"
            }
        }

        /// Options the server keeps itself rather than the stack.
        public var isServers: Bool { rawValue >= Option.nonBlocking.rawValue }
    }

    /// poll/watch event bits (Linux's POLL* values).
    public enum Event {
        public static let readable: UInt32 = 0x001
        public static let writable: UInt32 = 0x004
        public static let error: UInt32 = 0x008
        public static let hangUp: UInt32 = 0x010
        public static let invalid: UInt32 = 0x020
    }

    /// Limits of the net server (docs/net.md).
    public enum Limits {
        /// Bytes of one inline send or recv (`send`, `recv`, `sendto`, `recvfrom`).
        public static let inlineBytes = 256 << 10
        /// Sockets in one `poll`.
        public static let pollSockets = 256
        /// Ports below this need the admin right (`net.admin` in the policy).
        public static let privilegedPorts: UInt16 = 1024
        /// The longest `poll` timeout, and the longest connect timeout.
        public static let maxTimeoutMs: UInt32 = 3_600_000
        /// `listen` backlogs are capped here (lwIP keeps a byte).
        public static let maxBacklog: UInt32 = 255
    }
}
