import Glibc
import HypercallABI
import Hypercalls
import PCIHostC
import PCIHostSupport
import PlatformC
import Synchronization

/// An open VFIO PCI function: config space and BARs through the device
/// descriptor, interrupts through eventfds, reset, the release request.
final class VFIODevice: HostDevice, @unchecked Sendable {
    // @unchecked: everything mutable (the descriptor, BAR mappings, enabled
    // vectors) lives in `state`, a Mutex, and every access to the descriptor
    // happens with the lock held, so close() cannot pull it from under a
    // concurrent read. The `let`s are immutable after init; raw pointers in
    // the state are why the class is not implicitly Sendable.
    let identity: PCIIdentity
    let configSpaceSize: UInt32
    let releaseRequestFD: Int32?
    private let info: VFIODeviceInfo
    private let group: VFIOGroup  // keeps the group attached while the device is open
    private let onClose: @Sendable () -> Void
    private let state: Mutex<State>

    private struct State: ~Copyable {
        var device: FD?
        var maps: [Int: DMAMapping] = [:]  // BAR -> mapping (bus unused)
        var irq: (kind: UInt32, fds: [Int32])?
        var requestFD: Int32?
    }

    init(bdf: String, identity: PCIIdentity, group: VFIOGroup, onClose: @escaping @Sendable () -> Void) throws(HypError) {
        let fd = try group.openDevice(bdf)
        let info = try VFIODeviceInfo(fd: fd.raw, bdf: bdf)
        if info.resettable {
            // Best effort: a device that advertises reset but refuses it now
            // (e.g. a sibling function is in use) is still usable.
            _ = husk_ioctl_int(fd.raw, husk_vfio_req_device_reset(), 0)
        }
        var requestFD: Int32?
        if info.hasReleaseRequest, let efd = try? makeEventFD() {
            if VFIOIRQ.trigger(fd: fd.raw, index: VFIOIRQ.requestIndex, eventFDs: [efd]) == 0 {
                requestFD = efd
            } else {
                Glibc.close(efd)
            }
        }
        self.identity = identity
        self.configSpaceSize = UInt32(min(info.config.size, 4096)) >= 4096 ? 4096 : 256
        self.info = info
        self.group = group
        self.onClose = onClose
        self.releaseRequestFD = requestFD
        self.state = Mutex(State(device: fd, requestFD: requestFD))
    }

    deinit { close() }

    private var name: String { identity.address }

    /// Run `body` with the open descriptor, under the lock.
    private func withDevice<T>(_ body: (Int32, inout State) throws(HypError) -> T) throws(HypError) -> T {
        try state.withLock { (s: inout State) throws(HypError) -> T in
            guard let fd = s.device?.raw else { throw HypError(HUSK_EBADF, "\(name) is closed") }
            return try body(fd, &s)
        }
    }

    // MARK: Config space and BARs

    func configRead(offset: UInt32, width: UInt32) throws(HypError) -> UInt32 {
        let at = info.config.offset + UInt64(offset)
        return try withDevice { fd, _ throws(HypError) in
            UInt32(truncatingIfNeeded: try RegionIO.read(fd: fd, offset: at, width: Int(width), what: "\(name) config"))
        }
    }

    func configWrite(offset: UInt32, width: UInt32, value: UInt32) throws(HypError) {
        let at = info.config.offset + UInt64(offset)
        try withDevice { fd, _ throws(HypError) in
            try RegionIO.write(fd: fd, offset: at, width: Int(width), value: UInt64(value), what: "\(name) config")
        }
    }

    func barInfo(_ bar: Int) -> BARInfo {
        info.barInfo.indices.contains(bar) ? info.barInfo[bar] : .absent
    }

    func mapBAR(_ bar: Int) throws(HypError) -> UnsafeMutableRawPointer {
        let b = barInfo(bar)
        guard b.flags & UInt32(HUSK_BAR_MAPPABLE) != 0 else {
            throw HypError(
                HUSK_ENOTSUP,
                "\(name) BAR \(bar) cannot be mapped (\(b.size == 0 ? "not implemented" : b.flags & UInt32(HUSK_BAR_PIO) != 0 ? "I/O ports" : "vfio-pci does not allow mmap"))"
            )
        }
        let region = info.bars[bar]
        return try withDevice { fd, s throws(HypError) in
            if let m = s.maps[bar] { return m.cpu }
            let page = UInt64(hostPageSize)
            let length = Int((region.size + page - 1) / page * page)
            guard let p = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off_t(truncatingIfNeeded: region.offset)),
                p != UnsafeMutableRawPointer(bitPattern: -1)
            else {
                let e = errno
                throw HypError(HUSK_ENOTSUP, "mmap of \(name) BAR \(bar) (\(region.size) bytes): \(errnoString(e))")
            }
            s.maps[bar] = DMAMapping(cpu: p, bus: 0, size: length)
            return p
        }
    }

    func barRead(bar: Int, offset: UInt64, width: UInt32) throws(HypError) -> UInt64 {
        let region = try barRegion(bar)
        return try withDevice { fd, s throws(HypError) in
            if let m = s.maps[bar] { return MMIO.read(m.cpu + Int(offset), width: Int(width)) }
            return try RegionIO.read(fd: fd, offset: region.offset + offset, width: Int(width), what: "\(name) BAR \(bar)")
        }
    }

    func barWrite(bar: Int, offset: UInt64, width: UInt32, value: UInt64) throws(HypError) {
        let region = try barRegion(bar)
        try withDevice { fd, s throws(HypError) in
            if let m = s.maps[bar] {
                MMIO.write(m.cpu + Int(offset), width: Int(width), value: value)
                return
            }
            try RegionIO.write(fd: fd, offset: region.offset + offset, width: Int(width), value: value, what: "\(name) BAR \(bar)")
        }
    }

    private func barRegion(_ bar: Int) throws(HypError) -> VFIODeviceInfo.Region {
        guard info.bars.indices.contains(bar), info.bars[bar].size > 0 else {
            throw HypError.inval("\(name) has no BAR \(bar)")
        }
        return info.bars[bar]
    }

    func reset() throws(HypError) {
        guard info.resettable else { throw HypError(HUSK_ENOTSUP, "\(name) has no function-level reset VFIO can use") }
        try withDevice { fd, _ throws(HypError) in
            if husk_ioctl_int(fd, husk_vfio_req_device_reset(), 0) < 0 {
                let e = errno
                throw HypError.fromErrno(e, "VFIO_DEVICE_RESET(\(name)): \(errnoString(e))")
            }
        }
    }

    // MARK: Interrupts

    func enableInterrupts(kinds: UInt32, want: Int) throws(HypError) -> InterruptSet {
        guard let choice = VFIOIRQ.choose(kinds: kinds, want: want, available: info.interrupts) else {
            let offered = info.interrupts.keys.sorted().map(VFIOIRQ.kindName).joined(separator: ", ")
            throw HypError.nodev("\(name) offers no acceptable interrupt kind (it has: \(offered.isEmpty ? "none" : offered))")
        }
        return try withDevice { fd, s throws(HypError) in
            guard s.irq == nil else { throw HypError(HUSK_EBUSY, "\(name) already has interrupts enabled") }
            var fds: [Int32] = []
            for _ in 0..<choice.count {
                let efd = husk_eventfd(0)
                if efd < 0 {
                    let e = errno
                    fds.forEach { _ = Glibc.close($0) }
                    throw HypError.fromErrno(e, "eventfd for \(name): \(errnoString(e))")
                }
                fds.append(efd)
            }
            let index = VFIOIRQ.index(ofKind: choice.kind)
            // One SET_IRQS for all vectors; if the host cannot give that many
            // MSI/MSI-X vectors, halve until it can.
            var e = VFIOIRQ.trigger(fd: fd, index: index, eventFDs: fds)
            while e != 0 && fds.count > 1 && (e == ENOSPC || e == EINVAL || e == ENOMEM) {
                let keep = fds.count / 2
                fds[keep...].forEach { _ = Glibc.close($0) }
                fds.removeSubrange(keep...)
                e = VFIOIRQ.trigger(fd: fd, index: index, eventFDs: fds)
            }
            if e != 0 {
                fds.forEach { _ = Glibc.close($0) }
                throw HypError.fromErrno(
                    e, "VFIO_DEVICE_SET_IRQS(\(name), \(VFIOIRQ.kindName(choice.kind)), \(choice.count) vectors): \(errnoString(e))")
            }
            s.irq = (choice.kind, fds)
            return InterruptSet(kind: choice.kind, eventFDs: fds)
        }
    }

    func acknowledgeInterrupt(vector: Int) throws(HypError) {
        try withDevice { fd, s throws(HypError) in
            guard let irq = s.irq else { throw HypError(HUSK_EINVAL, "\(name) has no interrupts enabled") }
            guard irq.fds.indices.contains(vector) else { throw HypError.inval("\(name) has no vector \(vector)") }
            guard irq.kind == UInt32(HUSK_IRQ_INTX) else { return }
            let e = VFIOIRQ.unmaskINTx(fd: fd)
            if e != 0 { throw HypError.fromErrno(e, "INTx unmask on \(name): \(errnoString(e))") }
        }
    }

    func disableInterrupts() {
        state.withLock { s in
            guard let irq = s.irq, let fd = s.device?.raw else { return }
            VFIOIRQ.disable(fd: fd, index: VFIOIRQ.index(ofKind: irq.kind))
            irq.fds.forEach { _ = Glibc.close($0) }
            s.irq = nil
        }
    }

    // MARK: Release

    func close() {
        disableInterrupts()
        let wasOpen = state.withLock { s -> Bool in
            guard let fd = s.device?.raw else { return false }
            if let req = s.requestFD {
                VFIOIRQ.disable(fd: fd, index: VFIOIRQ.requestIndex)
                Glibc.close(req)
                s.requestFD = nil
            }
            for m in s.maps.values { munmap(m.cpu, m.size) }
            s.maps = [:]
            s.device = nil  // closes the descriptor: vfio-pci disables the device
            return true
        }
        if wasOpen { onClose() }
    }
}
