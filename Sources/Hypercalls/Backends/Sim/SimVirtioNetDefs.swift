/// VIRTIO 1.x network device constants (5.1) the sim NIC needs. Named after
/// the spec.
enum VirtioNet {
    // feature bits (only those the device offers)
    static let fMTU: UInt64 = 1 << 3, fMAC: UInt64 = 1 << 5
    static let fMrgRxbuf: UInt64 = 1 << 15, fStatus: UInt64 = 1 << 16
    // struct virtio_net_config.status
    static let sLinkUp: UInt16 = 1
    /// struct virtio_net_config up to mtu: mac[6], status, max_virtqueue_pairs, mtu.
    static let configLength: UInt64 = 12
    /// struct virtio_net_hdr with VERSION_1: flags, gso_type, hdr_len,
    /// gso_size, csum_start, csum_offset, num_buffers (always present).
    static let hdrBytes = 12
    static let hdrNumBuffersOffset = 10
    static let gsoNone: UInt8 = 0
    // queues: one pair, no control queue
    static let receiveQueue = 0, transmitQueue = 1
    /// Destination, source, EtherType.
    static let ethHeaderBytes = 14
    /// A frame may carry one 802.1Q tag beyond the MTU (as FrameDevice counts).
    static let maxFrameOverhead = 18
    static let defaultMTU = 1500
    /// The MTU a device may report (5.1.4.1: at least 68).
    static let mtuRange = 68...65535
    static let queueMax: UInt16 = 256
}
