import Glibc
import HypercallABI
import Hypercalls
import Platform

/// What every sim device shares: identity, config space, interrupt delivery,
/// open state and the backend's IOMMU. Devices own one and forward to it;
/// the SimDevice protocol extension turns it into most of HostDevice.
///
/// `@unchecked Sendable`: every mutable field is guarded by `lock`. Lock
/// order: a device's own lock may be held while calling in here, never the
/// other way round (nothing in here calls back into the device).
public final class SimPCIFunction: @unchecked Sendable {
    let lock = Monitor()
    // -- guarded by lock --
    var config: SimPCIConfig
    var identityValue: PCIIdentity
    var iommuRef: SimIOMMU?
    var isOpen = false
    // Interrupts (see SimInterrupts.swift).
    var mode: UInt32 = 0  // 0 or one HUSK_IRQ_* kind
    var eventFDs: [Int32] = []
    var intxLevel = false  // the device asserts its INTx line
    var intxMasked = false  // vfio semantics: masked after firing until acked
    var delivered = 0  // eventfd writes
    var msixTable: [UInt8]
    // -- immutable --
    let supportsINTx: Bool
    let msiVectors: Int  // 0: no MSI capability
    let msixVectors: Int  // 0: no MSI-X capability
    let msixPBAOffset: Int
    var msiCap = 0, msixCap = 0  // set during init only

    init(
        identity: PCIIdentity, bars: [Int: SimBAR], intx: Bool = true,
        msiVectors: Int = 0, msixVectors: Int = 0, msixBAR: Int = 0, msixPBAOffset: Int = 0x800
    ) {
        identityValue = identity
        supportsINTx = intx
        self.msiVectors = msiVectors
        self.msixVectors = msixVectors
        self.msixPBAOffset = msixPBAOffset
        config = SimPCIConfig(identity: identity, bars: bars, interruptPin: intx ? 1 : 0)
        // Vector control starts masked (bit 0), as after a real reset.
        msixTable = [UInt8](repeating: 0, count: 16 * msixVectors)
        for v in 0..<msixVectors { msixTable[16 * v + 12] = 1 }
        if msiVectors > 0 {
            // 64-bit MSI; multiple-message-capable = log2(vectors). Address
            // and data are writable, control is owned by the host (vfio
            // virtualises it: enabling goes through enableInterrupts).
            let mmc = UInt16(max(0, Int.bitWidth - 1 - msiVectors.leadingZeroBitCount)) << 1
            let body = le16(0x0080 | mmc) + le32(0) + le32(0) + le16(0) + [0, 0]
            let mask: [UInt8] = [0, 0] + [0xFC, 0xFF, 0xFF, 0xFF] + [0xFF, 0xFF, 0xFF, 0xFF] + [0xFF, 0xFF, 0, 0]
            msiCap = config.addCapability(id: PCIReg.capMSI, body: body, mask: mask)
        }
        if msixVectors > 0 {
            let body = le16(UInt16(msixVectors - 1)) + le32(UInt32(msixBAR)) + le32(UInt32(msixPBAOffset) | UInt32(msixBAR))
            msixCap = config.addCapability(id: PCIReg.capMSIX, body: body)
        }
    }

    /// Device address ("sim:N") and the DMA space, set by SimBackend.
    func attach(index: Int, iommu: SimIOMMU) {
        lock.withLock {
            identityValue.address = "sim:\(index)"
            iommuRef = iommu
        }
    }

    public var identity: PCIIdentity { lock.withLock { identityValue } }
    public var iommu: SimIOMMU? { lock.withLock { iommuRef } }
    public var opened: Bool { lock.withLock { isOpen } }

    /// Bus mastering gates all DMA, as on real hardware: a driver that forgets
    /// to set it gets device errors here rather than silence on a real machine.
    var busMasterEnabled: Bool { lock.withLock { config.command & PCIReg.cmdBusMaster != 0 } }

    // MARK: open / close

    func open() throws(HypError) {
        try lock.withLock { () throws(HypError) in
            guard !isOpen else { throw HypError(HUSK_EBUSY, "\(identityValue.address) is already open") }
            isOpen = true
            // As vfio-pci's pci_enable_device: memory decoding on, bus master
            // off until the driver enables it.
            config.set16(PCIReg.command, (config.command | PCIReg.cmdMemory) & ~PCIReg.cmdBusMaster)
        }
    }

    func close() {
        disableInterrupts()
        lock.withLock {
            isOpen = false
            config.set16(PCIReg.command, config.command & ~PCIReg.cmdBusMaster)
        }
    }

    func requireOpen() throws(HypError) {
        guard opened else { throw HypError(HUSK_EBADF, "sim device is not open") }
    }

    // MARK: config space

    func configRead(offset: UInt32, width: UInt32) throws(HypError) -> UInt32 {
        try requireOpen()
        guard let v = lock.withLock({ config.read(offset: Int(offset), width: Int(width)) }) else {
            throw .inval("config read offset 0x\(String(offset, radix: 16)) width \(width)")
        }
        return v
    }

    func configWrite(offset: UInt32, width: UInt32, value: UInt32) throws(HypError) {
        try requireOpen()
        let ok = lock.withLock { () -> Bool in
            guard config.write(offset: Int(offset), width: Int(width), value: value) else { return false }
            // Clearing INTx-disable may deliver a pending level interrupt.
            fireINTxIfDue()
            return true
        }
        if !ok { throw .inval("config write offset 0x\(String(offset, radix: 16)) width \(width)") }
    }

    func barInfo(_ bar: Int) -> BARInfo {
        guard (0..<6).contains(bar) else { return .absent }
        return lock.withLock { config.bars[bar].info }
    }

    /// Checks a BAR access against the declared BARs; the host validated it,
    /// but a sim device must never trap on a bad one.
    func checkBAR(_ bar: Int, _ offset: UInt64, _ width: UInt32) throws(HypError) {
        try requireOpen()
        let size = barInfo(bar).size
        guard size > 0, [1, 2, 4, 8].contains(width), offset % UInt64(width) == 0,
            offset < size, size - offset >= UInt64(width)
        else {
            throw .inval("BAR\(bar) access offset 0x\(String(offset, radix: 16)) width \(width)")
        }
    }
}

/// A device the sim backend can offer. Most of HostDevice comes from the
/// protocol extension below, on top of `function`; a device implements BAR
/// accesses, reset, open/close and shutdown.
public protocol SimDevice: HostDevice {
    /// Shared PCI plumbing (config space, interrupts, IOMMU reference).
    var function: SimPCIFunction { get }
    /// Take the device for exclusive use and reset it (HostBackend.openDevice).
    func open() throws(HypError)
    /// Stop the device's thread and release its host resources (backend shutdown).
    func shutdown()
}

public extension SimDevice {
    var identity: PCIIdentity { function.identity }
    var configSpaceSize: UInt32 { UInt32(SimPCIConfig.size) }
    func configRead(offset: UInt32, width: UInt32) throws(HypError) -> UInt32 {
        try function.configRead(offset: offset, width: width)
    }
    func configWrite(offset: UInt32, width: UInt32, value: UInt32) throws(HypError) {
        try function.configWrite(offset: offset, width: width, value: value)
    }
    func barInfo(_ bar: Int) -> BARInfo { function.barInfo(bar) }
    func mapBAR(_ bar: Int) throws(HypError) -> UnsafeMutableRawPointer {
        throw HypError(HUSK_ENOTSUP, "sim BARs are never mapped: the device must see every access")
    }
    func enableInterrupts(kinds: UInt32, want: Int) throws(HypError) -> InterruptSet {
        try function.requireOpen()
        return try function.enableInterrupts(kinds: kinds, want: want)
    }
    func acknowledgeInterrupt(vector: Int) throws(HypError) {
        try function.acknowledgeInterrupt(vector: vector)
    }
    func disableInterrupts() { function.disableInterrupts() }
    var releaseRequestFD: Int32? { nil }
}
