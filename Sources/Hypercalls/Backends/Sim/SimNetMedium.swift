/// What a sim NIC's cable is plugged into: a back-to-back link to another
/// sim NIC in this process (SimNetLink) or a host TAP interface (SimNetTap).
/// The medium carries what the NIC transmits and calls the NIC's
/// `receiveFromWire` for what arrives; it never waits for the receiving
/// driver (a NIC with no receive buffers drops, as real hardware does).
protocol SimNetMedium: AnyObject, Sendable {
    /// Carry one frame `nic` transmitted. Called on the NIC's device thread
    /// without the NIC's lock.
    func carry(_ frame: UnsafeRawBufferPointer, from nic: SimVirtioNet) -> SimNetDelivery
    /// Unplug `nic` (backend shutdown): nothing is delivered to it afterwards.
    func detach(_ nic: SimVirtioNet)
    /// How the medium is named in specs and messages ("link lan0", "tap hk0").
    var label: String { get }
}

/// What became of a transmitted frame.
enum SimNetDelivery {
    /// Handed to the other end (which may still drop it: that end counts it).
    case delivered
    /// Nobody on the other end: a NIC alone on its link, or a TAP that did
    /// not take the frame (its queue full, or longer than its MTU).
    case noPeer
}
