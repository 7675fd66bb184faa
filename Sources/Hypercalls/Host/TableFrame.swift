import Glibc
import HypercallABI

/// Frame I/O operations of the table (ABI 1.1, HUSK_FEAT_FRAME).
extension HypercallHost {
    /// Frame devices exist where /dev/net/tun can be opened (Linux with TUN/TAP).
    static var frameDevicesAvailable: Bool { access("/dev/net/tun", R_OK | W_OK) == 0 }

    static func fillFrame(_ t: UnsafeMutablePointer<husk_hyp>) {
        t.pointee.frame_open = { ctx, name, flags, out, info in
            guard let name, let out else { return HUSK_EFAULT }
            switch FrameDevice.open(name: String(cString: name), flags: flags) {
            case .failure(let e): return e.code
            case .success(let d):
                out.pointee = HypercallHost.host(ctx).frames.insert(d)
                info?.pointee = d.info
                return HUSK_OK
            }
        }
        t.pointee.frame_send = { ctx, h, frame, len in
            guard let d = HypercallHost.host(ctx).frames.get(h) else { return HUSK_EBADF }
            guard let frame else { return HUSK_EFAULT }
            return d.send(frame, len: len)
        }
        t.pointee.frame_recv = { ctx, h, buf, cap, len, timeout in
            guard let d = HypercallHost.host(ctx).frames.get(h) else { return HUSK_EBADF }
            guard let buf, let len else { return HUSK_EFAULT }
            return d.receive(into: buf, cap: cap, len: len, timeoutNs: timeout, rec: HypercallThreads.current())
        }
        t.pointee.frame_close = { ctx, h in
            guard let d = HypercallHost.host(ctx).frames.remove(h) else { return HUSK_EBADF }
            d.close()
            return HUSK_OK
        }
    }
}
