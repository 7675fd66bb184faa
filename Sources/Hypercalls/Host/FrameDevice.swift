import Glibc
import HostSys
import HypercallABI
import PlatformC

/// A host frame device opened through frame_open: on Linux a TAP interface
/// whose other end is the host kernel's network stack. Public for the sim
/// backend, whose NICs can be wired to a TAP (SimNetTap) and read `fd` on
/// their own thread.
public final class FrameDevice: @unchecked Sendable {
    // @unchecked: fd, name, info are immutable; `closed` is atomic-enough
    // for its one job (a waiting frame_recv notices within one poll slice).
    public let fd: Int32
    public let name: String
    public let info: husk_frame_info
    private let closedFlag = UnsafeMutablePointer<UInt32>.allocate(capacity: 1)

    /// The longest frame: header, one 802.1Q tag, MTU.
    public var maxFrame: Int { 18 + Int(info.mtu) }

    public static func open(name: String, flags: UInt32) -> Result<FrameDevice, HypError> {
        guard flags & ~UInt32(HUSK_FRAME_CREATE) == 0 else {
            return .failure(.inval("frame_open: unknown flags 0x\(String(flags, radix: 16))"))
        }
        let valid =
            !name.isEmpty && name.utf8.count <= 15
            && name.utf8.allSatisfy { c in
                (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x2d || c == 0x2e || c == 0x5f
            }
        guard valid else { return .failure(.inval("frame_open: '\(name)' is not an interface name")) }
        var created: Int32 = 0
        let fd = husk_tap_open(name, flags & UInt32(HUSK_FRAME_CREATE) != 0 ? 1 : 0, &created)
        guard fd >= 0 else { return .failure(.fromErrno(errno, "cannot open TAP interface \(name)")) }
        let mtu = husk_tap_mtu(name)
        var info = husk_frame_info()
        info.mtu = mtu > 0 ? UInt32(mtu) : 1500
        // A locally administered unicast address for the component's end.
        var mac = [UInt8](repeating: 0, count: 6)
        _ = husk_getrandom(&mac, 6)
        mac[0] = (mac[0] & 0xfc) | 0x02
        withUnsafeMutableBytes(of: &info.mac) { $0.copyBytes(from: mac) }
        return .success(FrameDevice(fd: fd, name: name, info: info))
    }

    private init(fd: Int32, name: String, info: husk_frame_info) {
        self.fd = fd
        self.name = name
        self.info = info
        closedFlag.initialize(to: 0)
    }

    deinit {
        Glibc.close(fd)
        closedFlag.deallocate()
    }

    /// Later calls fail with EBADF; a frame_recv waiting now returns EBADF
    /// within one poll slice. The descriptor closes with the last user.
    public func close() { husk_atomic_store_u32(closedFlag, 1) }
    public var isClosed: Bool { husk_atomic_load_u32(closedFlag) != 0 }

    /// Write one frame of 14 … maxFrame bytes without blocking: HUSK_OK, or
    /// EINVAL (its length), EAGAIN (the interface's queue is full), EIO.
    public func send(_ frame: UnsafeRawPointer, len: UInt64) -> Int32 {
        guard len >= 14, len <= UInt64(maxFrame) else { return HUSK_EINVAL }
        while true {
            let n = Glibc.write(fd, frame, Int(len))
            if n == Int(len) { return HUSK_OK }
            if n >= 0 { return HUSK_EIO }
            if errno == EINTR { continue }
            return errno == EAGAIN ? HUSK_EAGAIN : HUSK_EIO
        }
    }

    /// Poll in slices of 20 ms so that cancellation and close are noticed
    /// without a wake-up channel of their own.
    func receive(
        into buf: UnsafeMutableRawPointer, cap: UInt64, len: UnsafeMutablePointer<UInt64>,
        timeoutNs: UInt64, rec: ThreadRecord
    ) -> Int32 {
        let deadline = timeoutNs == UInt64.max ? UInt64.max : Clock.monotonicNs() &+ min(timeoutNs, UInt64.max / 2)
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: 65_600, alignment: 16)
        defer { scratch.deallocate() }
        while true {
            if isClosed { return HUSK_EBADF }
            if rec.cancelPending { return HUSK_EINTR }
            let n = Glibc.read(fd, scratch, 65_600)
            if n > 0 {
                len.pointee = UInt64(n)
                guard UInt64(n) <= cap else { return HUSK_ERANGE }
                buf.copyMemory(from: scratch, byteCount: n)
                return HUSK_OK
            }
            if n < 0 && errno != EAGAIN && errno != EINTR { return HUSK_EIO }
            let now = Clock.monotonicNs()
            if now >= deadline { return HUSK_ETIMEDOUT }
            let slice = min(20_000_000, deadline - now)
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            _ = poll(&p, 1, Int32((slice + 999_999) / 1_000_000))
        }
    }
}
