import Glibc
import HypercallABI
import Hypercalls
import PCIHostSupport
import Synchronization

/// An open PCI function bound to uio_pci_generic: config space through the
/// sysfs `config` file, BARs through sysfs `resourceN`, INTx through
/// /dev/uioN. No IOMMU: the device reaches physical memory (the pool).
final class UIODevice: HostDevice, @unchecked Sendable {
    // @unchecked: mutable state (descriptors, BAR mappings, the interrupt
    // thread) lives in `state`, a Mutex, and descriptors are used with the
    // lock held so close() cannot pull them from under an access. The rest
    // is immutable after init.
    let identity: PCIIdentity
    let configSpaceSize: UInt32
    var releaseRequestFD: Int32? { nil }
    private let bars: [BARInfo]
    private let uioPath: String
    private let onClose: @Sendable () -> Void
    private let state: Mutex<State>

    private struct State: ~Copyable {
        var config: FD?
        var uio: FD?
        var resourceFDs: [Int: Int32] = [:]  // BAR -> descriptor of resourceN (closed in close())
        var maps: [Int: DMAMapping] = [:]  // BAR -> mapping (bus unused)
        var irq: (eventFD: Int32, thread: UIOInterruptThread)?
        // Both are set while the device is open (withState checks that).
        var configFD: Int32 { Self.raw(config) }
        var uioFD: Int32 { Self.raw(uio) }
        private static func raw(_ fd: borrowing FD?) -> Int32 {
            switch fd {
            case .some(let f): return f.raw
            case .none: return -1
            }
        }
    }

    static let commandRegister: UInt32 = 0x04
    static let intxDisable: UInt32 = 1 << 10

    init(identity: PCIIdentity, uioNode: String, onClose: @escaping @Sendable () -> Void) throws(HypError) {
        let bdf = identity.address
        let configPath = PCISysfs.path(bdf, "config")
        let config: FD
        let uio: FD
        do { config = try FD(path: configPath, flags: O_RDWR) } catch {
            throw Self.openError(error, configPath, bdf)
        }
        uioPath = "/dev/\(uioNode)"
        do { uio = try FD(path: uioPath, flags: O_RDWR) } catch {
            throw Self.openError(error, uioPath, bdf)
        }
        var st = stat()
        let size = fstat(config.raw, &st) == 0 ? Int(st.st_size) : 256
        configSpaceSize = size >= 4096 ? 4096 : 256
        bars = UIOResources.bars(bdf)
        // The function-level reset the sysfs `reset` file offers, if any.
        if fileExists(PCISysfs.path(bdf, "reset")) { try? writeTextFile(PCISysfs.path(bdf, "reset"), "1") }
        self.identity = identity
        self.onClose = onClose
        state = Mutex(State(config: config, uio: uio))
    }

    deinit { close() }

    private var name: String { identity.address }

    static func openError(_ error: SysError, _ path: String, _ bdf: String) -> HypError {
        switch error.errno {
        case EACCES, EPERM:
            return HypError(
                HUSK_EACCES,
                "permission denied on \(path) for \(bdf): run as root (uio gives the process the whole device and physical DMA)")
        case ENOENT, ENODEV, ENXIO:
            return HypError(HUSK_ENODEV, "\(path) is missing: is \(bdf) still bound to uio_pci_generic?")
        default:
            return HypError.fromErrno(error.errno, "open \(path): \(error.message)")
        }
    }

    private func withState<T>(_ body: (inout State) throws(HypError) -> T) throws(HypError) -> T {
        try state.withLock { (s: inout State) throws(HypError) -> T in
            guard s.uio != nil else { throw HypError(HUSK_EBADF, "\(name) is closed") }
            return try body(&s)
        }
    }

    // MARK: Config space

    func configRead(offset: UInt32, width: UInt32) throws(HypError) -> UInt32 {
        try withState { s throws(HypError) in
            UInt32(truncatingIfNeeded: try RegionIO.read(fd: s.configFD, offset: UInt64(offset), width: Int(width), what: "\(name) config"))
        }
    }

    func configWrite(offset: UInt32, width: UInt32, value: UInt32) throws(HypError) {
        try withState { s throws(HypError) in
            try RegionIO.write(fd: s.configFD, offset: UInt64(offset), width: Int(width), value: UInt64(value), what: "\(name) config")
        }
    }

    // MARK: BARs

    func barInfo(_ bar: Int) -> BARInfo { bars.indices.contains(bar) ? bars[bar] : .absent }

    private func resourceFD(_ bar: Int, _ s: inout State) throws(HypError) -> Int32 {
        if let fd = s.resourceFDs[bar] { return fd }
        let path = PCISysfs.path(name, "resource\(bar)")
        let fd = Glibc.open(path, O_RDWR | O_CLOEXEC)
        if fd < 0 { throw Self.openError(SysError(errno: errno), path, name) }
        s.resourceFDs[bar] = fd
        return fd
    }

    private func map(_ bar: Int, _ s: inout State) throws(HypError) -> UnsafeMutableRawPointer {
        if let m = s.maps[bar] { return m.cpu }
        let fd = try resourceFD(bar, &s)
        let page = UInt64(hostPageSize)
        let length = Int((bars[bar].size + page - 1) / page * page)
        guard let p = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0),
            p != UnsafeMutableRawPointer(bitPattern: -1)
        else {
            let e = errno
            throw HypError(HUSK_ENOTSUP, "mmap of \(PCISysfs.path(name, "resource\(bar)")): \(errnoString(e))")
        }
        s.maps[bar] = DMAMapping(cpu: p, bus: 0, size: length)
        return p
    }

    func mapBAR(_ bar: Int) throws(HypError) -> UnsafeMutableRawPointer {
        let b = barInfo(bar)
        guard b.flags & UInt32(HUSK_BAR_MAPPABLE) != 0 else {
            throw HypError(HUSK_ENOTSUP, "\(name) BAR \(bar) cannot be mapped (\(b.size == 0 ? "not implemented" : "I/O ports"))")
        }
        return try withState { s throws(HypError) in try map(bar, &s) }
    }

    func barRead(bar: Int, offset: UInt64, width: UInt32) throws(HypError) -> UInt64 {
        let b = try implemented(bar)
        return try withState { s throws(HypError) in
            if b.flags & UInt32(HUSK_BAR_PIO) != 0 {
                return try RegionIO.read(fd: try resourceFD(bar, &s), offset: offset, width: Int(width), what: "\(name) BAR \(bar)")
            }
            return MMIO.read(try map(bar, &s) + Int(offset), width: Int(width))
        }
    }

    func barWrite(bar: Int, offset: UInt64, width: UInt32, value: UInt64) throws(HypError) {
        let b = try implemented(bar)
        try withState { s throws(HypError) in
            if b.flags & UInt32(HUSK_BAR_PIO) != 0 {
                try RegionIO.write(fd: try resourceFD(bar, &s), offset: offset, width: Int(width), value: value, what: "\(name) BAR \(bar)")
            } else {
                MMIO.write(try map(bar, &s) + Int(offset), width: Int(width), value: value)
            }
        }
    }

    private func implemented(_ bar: Int) throws(HypError) -> BARInfo {
        let b = barInfo(bar)
        guard b.size > 0 else { throw HypError.inval("\(name) has no BAR \(bar)") }
        return b
    }

    func reset() throws(HypError) {
        let path = PCISysfs.path(name, "reset")
        guard fileExists(path) else { throw HypError(HUSK_ENOTSUP, "\(name) has no reset method (no \(path))") }
        do { try writeTextFile(path, "1") } catch {
            throw HypError.fromErrno(error.errno, "write 1 to \(path): \(error.message)")
        }
    }

    // MARK: Interrupts (INTx only)

    func enableInterrupts(kinds: UInt32, want: Int) throws(HypError) -> InterruptSet {
        guard kinds & UInt32(HUSK_IRQ_INTX) != 0 else {
            throw HypError.nodev("uio_pci_generic gives only INTx, and \(name)'s driver did not accept INTx")
        }
        return try withState { s throws(HypError) in
            guard s.irq == nil else { throw HypError(HUSK_EBUSY, "\(name) already has its interrupt enabled") }
            let config = s.configFD
            let pin = try RegionIO.read(fd: config, offset: 0x3d, width: 1, what: "\(name) config")
            guard pin != 0 else { throw HypError.nodev("\(name) has no INTx pin") }
            let efd = try makeEventFD()
            let thread: UIOInterruptThread
            do throws(HypError) { thread = try UIOInterruptThread(uioFD: s.uioFD, eventFD: efd, name: name) } catch {
                Glibc.close(efd)
                throw error
            }
            // Let the function assert INTx.
            do throws(HypError) { try setINTxDisabled(false, config) } catch {
                thread.stop()
                Glibc.close(efd)
                throw error
            }
            s.irq = (efd, thread)
            return InterruptSet(kind: UInt32(HUSK_IRQ_INTX), eventFDs: [efd])
        }
    }

    /// The Interrupt Disable bit of the command register. uio_pci_generic
    /// sets it in its handler on every interrupt (and has no irqcontrol, so
    /// writing to /dev/uioN does not re-enable); clearing it is the unmask.
    private func setINTxDisabled(_ disabled: Bool, _ config: Int32) throws(HypError) {
        let at = UInt64(Self.commandRegister)
        let cmd = try RegionIO.read(fd: config, offset: at, width: 2, what: "\(name) config")
        let new = disabled ? cmd | UInt64(Self.intxDisable) : cmd & ~UInt64(Self.intxDisable)
        if new != cmd { try RegionIO.write(fd: config, offset: at, width: 2, value: new, what: "\(name) config") }
    }

    func acknowledgeInterrupt(vector: Int) throws(HypError) {
        try withState { s throws(HypError) in
            guard s.irq != nil, vector == 0 else { throw HypError.inval("\(name) has no interrupt vector \(vector) enabled") }
            try setINTxDisabled(false, s.configFD)
        }
    }

    func disableInterrupts() {
        state.withLock { s in
            guard let irq = s.irq else { return }
            try? setINTxDisabled(true, s.configFD)
            irq.thread.stop()
            Glibc.close(irq.eventFD)
            s.irq = nil
        }
    }

    func close() {
        disableInterrupts()
        let wasOpen = state.withLock { s -> Bool in
            guard s.uio != nil else { return false }
            for m in s.maps.values { munmap(m.cpu, m.size) }
            s.maps = [:]
            for fd in s.resourceFDs.values { Glibc.close(fd) }
            s.resourceFDs = [:]
            s.uio = nil
            s.config = nil
            return true
        }
        if wasOpen { onClose() }
    }
}
