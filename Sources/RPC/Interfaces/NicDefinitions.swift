/// Constants of the nic interface (Interfaces/nic.idl) that its clients and
/// server share; their meaning is normative in docs/nic.md.
extension Nic {
    /// Port modes of `nic.open` (docs/nic.md).
    public enum PortMode: UInt32, Sendable {
        /// Sends and receives; one stack port per interface at a time (EBUSY).
        case stack = 1
        /// Receives a copy of every frame in both directions; cannot send.
        case monitor = 2
    }

    /// Bits of `nic.receive`'s per-frame flags (docs/nic.md).
    public enum FrameFlag {
        /// Sent by the interface's stack port (monitors see both directions).
        public static let outgoing: UInt32 = 1
    }

    /// The counters `nic.stats` returns, in this order (docs/nic.md).
    public enum Counter: Int, CaseIterable, Sendable {
        case rxFrames, rxBytes, txFrames, txBytes
        /// Received while no stack port was open: dropped.
        case rxNoPort
        /// Dropped because a port's receive queue was full (stack and monitors).
        case rxQueueFull
        /// Sends the provider refused (ENODEV, EIO, or EAGAIN past the retry time).
        case txErrors
        /// Link state changes seen.
        case linkChanges

        public var name: String {
            switch self {
            case .rxFrames: "rx_frames"
            case .rxBytes: "rx_bytes"
            case .txFrames: "tx_frames"
            case .txBytes: "tx_bytes"
            case .rxNoPort: "rx_no_port"
            case .rxQueueFull: "rx_queue_full"
            case .txErrors: "tx_errors"
            case .linkChanges: "link_changes"
            }
        }
    }

    /// Limits of the NIC server (docs/nic.md).
    public enum Limits {
        /// Frames waiting in one port's receive queue, at most; more are dropped
        /// (counted as rx_queue_full) rather than blocking the driver.
        public static let queueFrames = 1024
        /// Frames in one `nic.send`, at most.
        public static let sendFrames = 256
        /// The longest `nic.receive` wait.
        public static let maxTimeoutMs: UInt32 = 60_000
    }
}
