import Glibc
import HypercallABI
import Hypercalls
import Platform

/// A sim NIC's cable plugged into a host TAP interface
/// (`virtio-net:tap=IFNAME`), through the host's own frame device
/// (FrameDevice: the TAP as frame_open opens it). What the NIC transmits is
/// written to the TAP; a reader thread hands what the host sends to the NIC,
/// which drops it when its driver has no buffer, so the host is never held
/// up by the driver.
final class SimNetTap: SimNetMedium, @unchecked Sendable {
    // @unchecked: `device` and `stop` are immutable and thread-safe; `reader`
    // is written by `start` and `detach` only, which the NIC's lifetime orders.
    private let device: FrameDevice
    private let stop = EventFD(nonblocking: true)
    private var reader: HostThread?

    var label: String { "tap \(device.name)" }

    /// Open the existing TAP interface `name` (ENOENT if there is none).
    init(name: String) throws(HypError) {
        switch FrameDevice.open(name: name, flags: 0) {
        case .success(let d): device = d
        case .failure(let e): throw e
        }
    }

    /// Start handing the host's frames to `nic`.
    func start(delivering nic: SimVirtioNet) {
        let device = self.device, stopFD = stop.fd
        reader = HostThread.start(name: "sim-vnet-tap") { [weak nic] in
            SimNetTap.readLoop(device, stopFD) { frame in
                guard let nic else { return false }
                nic.receiveFromWire(frame)
                return true
            }
        }
    }

    func carry(_ frame: UnsafeRawBufferPointer, from nic: SimVirtioNet) -> SimNetDelivery {
        guard let base = frame.baseAddress else { return .noPeer }
        return device.send(base, len: UInt64(frame.count)) == HUSK_OK ? .delivered : .noPeer
    }

    func detach(_ nic: SimVirtioNet) {
        stop.signal()
        reader?.join()
        reader = nil
        device.close()
    }

    /// Read every frame the TAP has whenever it becomes readable, until
    /// `stopFD` fires or `deliver` says the NIC is gone.
    private static func readLoop(_ device: FrameDevice, _ stopFD: Int32, deliver: (UnsafeRawBufferPointer) -> Bool) {
        // The largest frame a TAP can hand over; longer than any MTU here.
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_600, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let ready = pollReadable([device.fd, stopFD])
            if ready.contains(stopFD) || device.isClosed { return }
            while true {
                let n = Glibc.read(device.fd, buffer.baseAddress, buffer.count)
                if n > 0 {
                    if !deliver(UnsafeRawBufferPointer(rebasing: buffer[0..<n])) { return }
                    continue
                }
                if n < 0 && errno == EINTR { continue }
                if n < 0 && errno == EAGAIN { break }
                return  // the interface went away (EBADFD, EIO): nothing more will come
            }
        }
    }
}
