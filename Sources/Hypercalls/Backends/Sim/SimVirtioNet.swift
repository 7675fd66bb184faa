import HypercallABI
import Hypercalls
import Platform

/// Counters a test can read (SimVirtioNet.stats). A frame is counted once:
/// delivered, or in the one reason it was dropped.
public struct SimVirtioNetStats: Sendable, Equatable {
    /// Frames (and their bytes, without the virtio_net_hdr) the driver
    /// transmitted that the medium took.
    public var txFrames = 0, txBytes = 0
    /// Transmitted with nobody to take them (alone on the link, or the TAP
    /// refused): dropped.
    public var txNoPeer = 0
    /// Transmitted while the link was down: dropped.
    public var txLinkDown = 0
    /// Transmitted with a header the driver may not send (flags or GSO not
    /// negotiated) or a length outside 14 … MTU + 18: dropped.
    public var txErrors = 0
    /// Frames (and bytes) placed in the driver's receive buffers.
    public var rxFrames = 0, rxBytes = 0
    /// Arrived while the driver had posted no receive buffer (or, with
    /// MRG_RXBUF, not enough for the whole frame): dropped.
    public var rxNoBuffers = 0
    /// Arrived while the driver was not running (no DRIVER_OK, queue
    /// disabled, DEVICE_NEEDS_RESET) or the link was down: dropped.
    public var rxNotReady = 0
    /// Arrived longer than MTU + 18 bytes: dropped.
    public var rxOversize = 0
    /// Without MRG_RXBUF, the next receive buffer could not hold header and
    /// frame: dropped, the buffer stays posted (as QEMU does).
    public var rxBufferTooSmall = 0
    /// Interrupts raised (queue and configuration change), delivered or not.
    public var interrupts = 0
    /// Device errors (DEVICE_NEEDS_RESET set): bad DMA, malformed rings.
    public var deviceErrors = 0
    /// Link state changes (each raised a configuration-change interrupt
    /// when the driver was running).
    public var linkChanges = 0
}

/// A VIRTIO 1.x network device on the modern PCI transport (SimVirtioDevice):
/// receiveq1 (0) and transmitq1 (1), no control queue. Its cable goes to a
/// SimNetMedium: another sim NIC back to back, or a host TAP. Transmit runs
/// on the device thread (SimVirtioNet+Transmit.swift); receive runs on the
/// thread that delivers the frame, under the lock (SimVirtioNet+Receive.swift).
///
/// `@unchecked Sendable`: as SimVirtioDevice, every mutable field is guarded by `lock`.
public final class SimVirtioNet: SimVirtioDevice, @unchecked Sendable {
    /// The station address in the device config (VIRTIO_NET_F_MAC).
    public let mac: [UInt8]
    /// Payload bytes after the Ethernet header; offered as VIRTIO_NET_F_MTU
    /// only when configured (`mtu=`).
    public let mtu: Int
    /// The longest frame carried either way: header, one VLAN tag, MTU.
    var maxFrameLength: Int { mtu + VirtioNet.maxFrameOverhead }

    // -- guarded by lock --
    var linkUpState: Bool
    var netCounters = SimVirtioNetStats()
    var medium: (any SimNetMedium)?

    /// A NIC with no cable yet (`attach` plugs it in). `mtu` nil: 1500, and
    /// VIRTIO_NET_F_MTU is not offered.
    public init(mac: [UInt8]? = nil, mtu: Int? = nil, linkUp: Bool = true) throws(HypError) {
        let address = mac ?? SimVirtioNet.nextDefaultMAC()
        guard address.count == 6 else { throw .inval("a MAC address has 6 bytes, not \(address.count)") }
        guard address[0] & 1 == 0, address != [0, 0, 0, 0, 0, 0] else {
            throw .inval("MAC \(SimVirtioNet.format(address)) is not a unicast station address")
        }
        if let mtu, !VirtioNet.mtuRange.contains(mtu) {
            throw .inval("mtu \(mtu) is outside \(VirtioNet.mtuRange.lowerBound)...\(VirtioNet.mtuRange.upperBound)")
        }
        self.mac = address
        self.mtu = mtu ?? VirtioNet.defaultMTU
        linkUpState = linkUp
        let offered =
            Virtio.fVersion1 | Virtio.fAccessPlatform | VirtioNet.fMAC | VirtioNet.fStatus | VirtioNet.fMrgRxbuf
            | (mtu != nil ? VirtioNet.fMTU : 0)
        let id = PCIIdentity(
            vendor: 0x1af4, device: 0x1041, subVendor: 0x1af4, subDevice: 0x0001,
            classCode: 0x020000, revision: 1, address: "sim:?")
        super.init(
            shape: Shape(
                identity: id, offered: offered, queueCount: 2, queueMax: VirtioNet.queueMax,
                deviceConfigLength: VirtioNet.configLength, requiresAccessPlatform: true, threadName: "sim-vnet"))
    }

    /// Wire the NIC back to back with the other NIC of this process that
    /// joins the link called `name` (`link=NAME`); EBUSY if two already have.
    public func plug(intoLink name: String) throws(HypError) {
        try requireUnplugged()
        attach(try SimNetLink.join(name, self))
    }

    /// Wire the NIC to the existing host TAP interface `name` (`tap=IFNAME`).
    public func plug(intoTap name: String) throws(HypError) {
        try requireUnplugged()
        let tap = try SimNetTap(name: name)
        attach(tap)
        tap.start(delivering: self)
    }

    private func requireUnplugged() throws(HypError) {
        if let label = mediumLabel { throw HypError(HUSK_EBUSY, "the NIC is already wired to \(label)") }
    }

    private func attach(_ medium: any SimNetMedium) {
        lock.withLock { self.medium = medium }
    }

    // MARK: test controls

    public var stats: SimVirtioNetStats {
        lock.withLock {
            var s = netCounters
            s.interrupts = interruptCount
            s.deviceErrors = deviceErrorCount
            return s
        }
    }

    /// The link state the device reports (VIRTIO_NET_S_LINK_UP).
    public var linkUp: Bool { lock.withLock { linkUpState } }

    /// Plug or pull the cable: the status field changes, the config
    /// generation moves on, and a running driver gets a configuration-change
    /// interrupt. While the link is down nothing is sent or received.
    public func setLink(up: Bool) {
        lock.withLock {
            guard linkUpState != up else { return }
            linkUpState = up
            netCounters.linkChanges += 1
            deviceConfigChangedLocked()
        }
    }

    /// A frame arriving from the wire, as if the medium had delivered it:
    /// for tests of the receive path without a second NIC.
    public func injectFrame(_ frame: [UInt8]) {
        frame.withUnsafeBytes { receiveFromWire($0) }
    }

    /// What the cable is plugged into ("link lan0", "tap hk0"), or nil.
    public var mediumLabel: String? { lock.withLock { medium?.label } }

    // MARK: SimVirtioDevice

    /// struct virtio_net_config: mac, status, max_virtqueue_pairs (1), mtu.
    override func deviceConfigLocked() -> [UInt8] {
        mac + le16(linkUpState ? VirtioNet.sLinkUp : 0) + le16(1) + le16(UInt16(mtu))
    }

    /// The receive queue is filled when frames arrive, not when the driver
    /// posts buffers; only transmit notifies wake the device thread.
    override func drainsOnNotify(queue index: Int) -> Bool { index == VirtioNet.transmitQueue }

    override func serve(queue index: Int, segments: [SimSegment], _ iommu: SimIOMMU) throws(SimVirtqueueError) -> UInt32 {
        try transmit(segments, iommu)
    }

    override func shutdownDevice() {
        let m: (any SimNetMedium)? = lock.withLock {
            defer { medium = nil }
            return medium
        }
        m?.detach(self)
    }

    // MARK: addresses

    private static let macCounter = Locked<UInt32>(0)

    /// 52:54:00 (QEMU's prefix, locally administered by convention) and a
    /// per-process counter: two default NICs never share an address.
    static func nextDefaultMAC() -> [UInt8] {
        let n = macCounter.withLock { c -> UInt32 in
            c &+= 1
            return c
        }
        return [0x52, 0x54, 0x00, UInt8(truncatingIfNeeded: n >> 16), UInt8(truncatingIfNeeded: n >> 8), UInt8(truncatingIfNeeded: n)]
    }

    /// "52:54:00:12:34:56".
    public static func format(_ mac: [UInt8]) -> String {
        mac.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: ":")
    }
}
