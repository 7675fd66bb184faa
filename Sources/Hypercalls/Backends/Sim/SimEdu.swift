import HypercallABI
import Hypercalls
import Platform

/// Counters a test can read (SimEdu.stats).
public struct SimEduStats: Sendable, Equatable {
    public var factorials = 0
    public var dmaTransfers = 0
    /// Interrupts raised (raise register, factorial, DMA), delivered or not.
    public var interrupts = 0
    /// DMA transfers refused: outside the 28-bit mask, outside the device
    /// buffer, outside a DMA mapping, or with bus mastering off.
    public var deviceErrors = 0
}

/// QEMU's educational PCI device "edu" (docs/specs/edu.rst): 1234:11e8,
/// BAR0 1 MiB MMIO, INTx and one MSI vector, a factorial unit and a DMA
/// engine with a 4 KiB buffer at device address 0x40000 and a 28-bit DMA
/// mask. Factorials and DMA run on the device's own thread.
///
/// `@unchecked Sendable`: registers are shared by driver threads and the
/// device thread; every mutable field is guarded by `lock`.
public final class SimEdu: SimDevice, @unchecked Sendable {
    public static let dmaMask: UInt64 = (1 << 28) - 1
    static let bufferBase: UInt64 = 0x40000, bufferSize = 4096
    static let statusComputing: UInt32 = 0x01, statusIRQOnFactorial: UInt32 = 0x80
    static let dmaStart: UInt64 = 1, dmaToRAM: UInt64 = 2, dmaIRQ: UInt64 = 4
    static let irqFactorial: UInt32 = 0x01, irqDMA: UInt32 = 0x100

    public let function: SimPCIFunction
    let lock = Monitor()
    // -- guarded by lock --
    var liveness: UInt32 = 0
    var factorial: UInt32 = 0
    var status: UInt32 = 0
    var irqStatus: UInt32 = 0
    var dmaSrc: UInt64 = 0, dmaDst: UInt64 = 0, dmaCount: UInt64 = 0, dmaCmd: UInt64 = 0
    var buffer = [UInt8](repeating: 0, count: SimEdu.bufferSize)
    var counters = SimEduStats()
    var stopping = false
    var worker: HostThread?

    public init() {
        let id = PCIIdentity(
            vendor: 0x1234, device: 0x11e8, subVendor: 0x1af4, subDevice: 0x1100,
            classCode: 0x00ff00, revision: 0x10, address: "sim:?")
        function = SimPCIFunction(identity: id, bars: [0: SimBAR(size: 1 << 20)], intx: true, msiVectors: 1)
    }

    // MARK: test controls

    public var stats: SimEduStats { lock.withLock { counters } }
    /// A copy of the device's 4 KiB DMA buffer.
    public var deviceBuffer: [UInt8] { lock.withLock { buffer } }

    // MARK: SimDevice / HostDevice

    public func open() throws(HypError) {
        try function.open()
        lock.withLock {
            if worker == nil {
                stopping = false
                worker = HostThread.start(name: "sim-edu") { [self] in workerLoop() }
            }
            resetLocked()
        }
    }

    public func close() {
        guard function.opened else { return }
        stopWorker()
        lock.withLock { resetLocked() }
        function.close()
    }

    public func shutdown() {
        close()
        stopWorker()
    }

    public func reset() throws(HypError) {
        try function.requireOpen()
        lock.withLock { resetLocked() }
    }

    private func stopWorker() {
        let t: HostThread? = lock.withLock {
            stopping = true
            lock.broadcast()
            defer { worker = nil }
            return worker
        }
        t?.join()
    }

    /// Caller holds lock. Pending work is dropped; a job the thread is
    /// running finishes against the reset state (harmless: it only stores
    /// results and raises bits the driver will see after its own reset).
    private func resetLocked() {
        liveness = 0
        factorial = 0
        status = 0
        irqStatus = 0
        dmaSrc = 0
        dmaDst = 0
        dmaCount = 0
        dmaCmd = 0
        for i in buffer.indices { buffer[i] = 0 }
        function.setINTxLevel(false)
    }

    // MARK: registers. Below 0x80 only 4-byte accesses; from 0x80 4 or 8
    // (a 4-byte access at +4 reaches the high half). Anything else reads
    // all-ones and is ignored on write, as in QEMU.

    public func barRead(bar: Int, offset: UInt64, width: UInt32) throws(HypError) -> UInt64 {
        try function.checkBAR(bar, offset, width)
        let ones: UInt64 = width == 8 ? .max : (1 << (UInt64(width) * 8)) - 1
        return lock.withLock {
            if offset < 0x80 {
                guard width == 4 else { return ones }
                switch offset {
                case 0x00: return 0x0100_00ed
                case 0x04: return UInt64(liveness)
                case 0x08: return UInt64(factorial)
                case 0x20: return UInt64(status)
                case 0x24: return UInt64(irqStatus)
                default: return ones
                }
            }
            guard width == 4 || width == 8 else { return ones }
            let field: UInt64
            switch offset & ~7 {
            case 0x80: field = dmaSrc
            case 0x88: field = dmaDst
            case 0x90: field = dmaCount
            case 0x98: field = dmaCmd
            default: return ones
            }
            if width == 8 { return field }
            return offset & 4 == 0 ? field & 0xFFFF_FFFF : field >> 32
        }
    }

    public func barWrite(bar: Int, offset: UInt64, width: UInt32, value: UInt64) throws(HypError) {
        try function.checkBAR(bar, offset, width)
        lock.withLock {
            if offset < 0x80 {
                guard width == 4 else { return }
                let v = UInt32(truncatingIfNeeded: value)
                switch offset {
                case 0x04: liveness = ~v
                case 0x08:
                    // Ignored while a computation runs.
                    guard status & SimEdu.statusComputing == 0 else { return }
                    factorial = v
                    status |= SimEdu.statusComputing
                    lock.broadcast()
                case 0x20:
                    status = (status & ~SimEdu.statusIRQOnFactorial) | (v & SimEdu.statusIRQOnFactorial)
                case 0x60: raiseLocked(v)
                case 0x64: lowerLocked(v)
                default: break
                }
                return
            }
            guard width == 4 || width == 8 else { return }
            func merged(_ old: UInt64) -> UInt64 {
                if width == 8 { return value }
                let v = value & 0xFFFF_FFFF
                return offset & 4 == 0 ? (old & ~0xFFFF_FFFF) | v : (old & 0xFFFF_FFFF) | (v << 32)
            }
            switch offset & ~7 {
            case 0x80: dmaSrc = merged(dmaSrc)
            case 0x88: dmaDst = merged(dmaDst)
            case 0x90: dmaCount = merged(dmaCount)
            case 0x98:
                // A command is taken only while no transfer runs, and only
                // when it starts one.
                let cmd = merged(dmaCmd)
                guard dmaCmd & SimEdu.dmaStart == 0, cmd & SimEdu.dmaStart != 0 else { return }
                dmaCmd = cmd
                lock.broadcast()
            default: break
            }
        }
    }

    // MARK: interrupt line (caller holds lock)

    /// OR bits into the interrupt status. In MSI mode every raise sends the
    /// message; otherwise INTx is asserted while the status is non-zero.
    private func raiseLocked(_ bits: UInt32) {
        irqStatus |= bits
        guard irqStatus != 0 else { return }
        counters.interrupts += 1
        if function.interruptMode == HUSK_IRQ_MSI { function.signal(vector: 0) }
        function.setINTxLevel(true)
    }

    private func lowerLocked(_ bits: UInt32) {
        irqStatus &= ~bits
        if irqStatus == 0 { function.setINTxLevel(false) }
    }

    // MARK: device thread

    private func workerLoop() {
        lock.lock()
        while true {
            while !stopping && status & SimEdu.statusComputing == 0 && dmaCmd & SimEdu.dmaStart == 0 { lock.wait() }
            if stopping { break }
            if status & SimEdu.statusComputing != 0 {
                var result: UInt32 = 1
                var n = factorial
                while n > 1 {
                    result = result &* n
                    n -= 1
                }  // wraps, as QEMU's 32-bit register
                factorial = result
                status &= ~SimEdu.statusComputing
                counters.factorials += 1
                if status & SimEdu.statusIRQOnFactorial != 0 { raiseLocked(SimEdu.irqFactorial) }
            }
            if dmaCmd & SimEdu.dmaStart != 0 { runDMALocked() }
        }
        lock.unlock()
    }

    /// One transfer between a DMA mapping and the device buffer. Runs with
    /// the lock held: the copy is at most 4 KiB and keeps registers coherent.
    private func runDMALocked() {
        let toRAM = dmaCmd & SimEdu.dmaToRAM != 0
        let bus = toRAM ? dmaDst : dmaSrc
        let dev = toRAM ? dmaSrc : dmaDst
        let count = dmaCount
        defer { dmaCmd &= ~SimEdu.dmaStart }
        let (busEnd, o1) = bus.addingReportingOverflow(count)
        let (devEnd, o2) = dev.addingReportingOverflow(count)
        guard !o1, !o2, busEnd <= SimEdu.dmaMask + 1,
            dev >= SimEdu.bufferBase, devEnd <= SimEdu.bufferBase + UInt64(SimEdu.bufferSize),
            function.busMasterEnabled, let iommu = function.iommu
        else {
            counters.deviceErrors += 1
            return
        }
        let start = Int(dev - SimEdu.bufferBase), n = Int(count)
        do throws(SimDMAFault) {
            if toRAM {
                let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: n, alignment: 1)
                defer { chunk.deallocate() }
                for i in 0..<n { chunk[i] = buffer[start + i] }
                try iommu.write(bus: bus, from: UnsafeRawBufferPointer(chunk))
            } else {
                let chunk = try iommu.read(bus: bus, count: n)
                buffer.replaceSubrange(start..<start + n, with: chunk)
            }
        } catch {
            counters.deviceErrors += 1
            return
        }
        counters.dmaTransfers += 1
        if dmaCmd & SimEdu.dmaIRQ != 0 { raiseLocked(SimEdu.irqDMA) }
    }
}
