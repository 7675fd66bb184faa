import Glibc
import HypercallABI

/// PCI device, BAR and interrupt operations of the table. Arguments are
/// validated here, once, for every backend.
extension HypercallHost {
    @inline(__always)
    static func openDevice(_ ctx: OpaquePointer?, _ h: husk_handle) -> OpenDevice? {
        HypercallHost.host(ctx).devices.open.get(h)
    }

    static func validBAR(_ od: OpenDevice, _ bar: UInt32, _ offset: UInt64, _ width: UInt32) -> Bool {
        guard bar < 6, [1, 2, 4, 8].contains(width), offset % UInt64(width) == 0 else { return false }
        let size = od.device.barInfo(Int(bar)).size
        return size >= UInt64(width) && offset <= size - UInt64(width)
    }

    static func fillDevices(_ t: UnsafeMutablePointer<husk_hyp>) {
        t.pointee.pci_enumerate = { ctx, index, out in
            guard let out else { return HUSK_EFAULT }
            let host = HypercallHost.host(ctx)
            guard host.backend.features & UInt64(HUSK_FEAT_PCI) != 0 else { return HUSK_ENODEV }
            let devs = host.backend.devices
            guard Int(index) < devs.count else { return HUSK_ENOENT }
            let d = devs[Int(index)]
            var id = husk_pci_id()
            id.vendor = d.vendor
            id.device = d.device
            id.subvendor = d.subVendor
            id.subdevice = d.subDevice
            id.class_code = d.classCode
            id.revision = d.revision
            withUnsafeMutableBytes(of: &id.address) { dst in
                let bytes = Array(d.address.utf8.prefix(dst.count - 1))
                dst.copyBytes(from: bytes)
            }
            out.pointee = id
            return HUSK_OK
        }
        t.pointee.dev_open = { ctx, index, out in
            guard let out else { return HUSK_EFAULT }
            let host = HypercallHost.host(ctx)
            guard host.backend.features & UInt64(HUSK_FEAT_PCI) != 0 else { return HUSK_ENODEV }
            guard Int(index) < host.backend.devices.count else { return HUSK_ENOENT }
            switch host.devices.openDevice(index: Int(index), ctx: ctx) {
            case .success(let h):
                out.pointee = h
                return HUSK_OK
            case .failure(let e): return e.code
            }
        }
        t.pointee.dev_close = { ctx, h in HypercallHost.host(ctx).devices.close(h) }
        t.pointee.cfg_read = { ctx, h, offset, width, val in
            guard let val else { return HUSK_EFAULT }
            guard let od = HypercallHost.openDevice(ctx, h) else { return HUSK_EBADF }
            guard [1, 2, 4].contains(width), offset % width == 0, offset < od.device.configSpaceSize,
                width <= od.device.configSpaceSize - offset
            else { return HUSK_EINVAL }
            do throws(HypError) {
                val.pointee = try od.device.configRead(offset: offset, width: width)
                return HUSK_OK
            } catch { return error.code }
        }
        t.pointee.cfg_write = { ctx, h, offset, width, value in
            guard let od = HypercallHost.openDevice(ctx, h) else { return HUSK_EBADF }
            guard [1, 2, 4].contains(width), offset % width == 0, offset < od.device.configSpaceSize,
                width <= od.device.configSpaceSize - offset
            else { return HUSK_EINVAL }
            do throws(HypError) {
                try od.device.configWrite(offset: offset, width: width, value: value)
                return HUSK_OK
            } catch { return error.code }
        }
        t.pointee.bar_info = { ctx, h, bar, out in
            guard let out else { return HUSK_EFAULT }
            guard let od = HypercallHost.openDevice(ctx, h) else { return HUSK_EBADF }
            guard bar < 6 else { return HUSK_EINVAL }
            let info = od.device.barInfo(Int(bar))
            out.pointee = husk_bar_info(size: info.size, flags: info.flags, reserved: 0)
            return HUSK_OK
        }
        t.pointee.bar_map = { ctx, h, bar, va in
            guard let va else { return HUSK_EFAULT }
            guard let od = HypercallHost.openDevice(ctx, h) else { return HUSK_EBADF }
            guard bar < 6, od.device.barInfo(Int(bar)).size > 0 else { return HUSK_EINVAL }
            do throws(HypError) {
                va.pointee = try od.mapBAR(Int(bar))
                return HUSK_OK
            } catch { return error.code }
        }
        t.pointee.bar_read = { ctx, h, bar, offset, width, val in
            guard let val else { return HUSK_EFAULT }
            guard let od = HypercallHost.openDevice(ctx, h) else { return HUSK_EBADF }
            guard HypercallHost.validBAR(od, bar, offset, width) else { return HUSK_EINVAL }
            do throws(HypError) {
                val.pointee = try od.device.barRead(bar: Int(bar), offset: offset, width: width)
                return HUSK_OK
            } catch { return error.code }
        }
        t.pointee.bar_write = { ctx, h, bar, offset, width, value in
            guard let od = HypercallHost.openDevice(ctx, h) else { return HUSK_EBADF }
            guard HypercallHost.validBAR(od, bar, offset, width) else { return HUSK_EINVAL }
            do throws(HypError) {
                try od.device.barWrite(bar: Int(bar), offset: offset, width: width, value: value)
                return HUSK_OK
            } catch { return error.code }
        }
        t.pointee.dev_reset = { ctx, h in
            guard let od = HypercallHost.openDevice(ctx, h) else { return HUSK_EBADF }
            do throws(HypError) {
                try od.device.reset()
                return HUSK_OK
            } catch { return error.code }
        }
        t.pointee.dev_on_release = { ctx, h, fn, arg in
            guard let fn else { return HUSK_EINVAL }
            guard let od = HypercallHost.openDevice(ctx, h) else { return HUSK_EBADF }
            return od.onRelease(fn, arg: arg)
        }

        t.pointee.irq_alloc = { ctx, h, kinds, want, kindOut, countOut in
            guard let od = HypercallHost.openDevice(ctx, h) else { return HUSK_EBADF }
            let known = UInt32(HUSK_IRQ_INTX | HUSK_IRQ_MSI | HUSK_IRQ_MSIX)
            guard kinds != 0, kinds & ~known == 0, want > 0, want <= 2048 else { return HUSK_EINVAL }
            do throws(HypError) {
                let set = try od.allocateInterrupts(kinds: kinds, want: Int(want))
                kindOut?.pointee = set.kind
                countOut?.pointee = UInt32(set.eventFDs.count)
                return HUSK_OK
            } catch { return error.code }
        }
        t.pointee.irq_establish = { ctx, h, vector, handler, arg, out in
            guard let handler else { return HUSK_EINVAL }
            let host = HypercallHost.host(ctx)
            guard let od = host.devices.open.get(h) else { return HUSK_EBADF }
            guard let v = od.vector(Int(vector)) else { return HUSK_EINVAL }
            guard v.establish(handler, arg: arg, ctx: ctx) else { return HUSK_EEXIST }
            let ih = host.devices.handlers.insert((dev: h, vector: Int(vector)))
            out?.pointee = ih
            return HUSK_OK
        }
        t.pointee.irq_disestablish = { ctx, ih in
            let host = HypercallHost.host(ctx)
            guard let b = host.devices.handlers.remove(ih) else { return HUSK_EBADF }
            host.devices.open.get(b.dev)?.vector(b.vector)?.disestablish()
            return HUSK_OK
        }
        t.pointee.irq_ack = { ctx, h, vector in
            guard let od = HypercallHost.openDevice(ctx, h) else { return HUSK_EBADF }
            guard od.vector(Int(vector)) != nil else { return HUSK_EINVAL }
            do throws(HypError) {
                try od.device.acknowledgeInterrupt(vector: Int(vector))
                return HUSK_OK
            } catch { return error.code }
        }
        t.pointee.irq_mask = { ctx, h, vector in
            guard let od = HypercallHost.openDevice(ctx, h) else { return HUSK_EBADF }
            guard let v = od.vector(Int(vector)) else { return HUSK_EINVAL }
            v.mask()
            return HUSK_OK
        }
        t.pointee.irq_unmask = { ctx, h, vector in
            guard let od = HypercallHost.openDevice(ctx, h) else { return HUSK_EBADF }
            guard let v = od.vector(Int(vector)) else { return HUSK_EINVAL }
            v.unmask()
            return HUSK_OK
        }
    }
}
