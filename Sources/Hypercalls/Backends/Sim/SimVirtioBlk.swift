import HypercallABI
import Hypercalls
import Platform

/// Counters a test can read (SimVirtioBlk.stats).
public struct SimVirtioBlkStats: Sendable, Equatable {
    /// Requests completed (used-ring elements written), any status.
    public var requests = 0
    /// FLUSH requests completed.
    public var flushes = 0
    /// Interrupts raised (queue and configuration change), delivered or not.
    public var interrupts = 0
    /// Device errors (DEVICE_NEEDS_RESET set): bad DMA, malformed rings.
    public var deviceErrors = 0
}

/// A VIRTIO 1.x block device on the modern PCI transport: the device side
/// of the spec, as a driver sees it through HostDevice. Register state lives
/// under `lock`; requests run on the device's own thread, woken by notify
/// writes (see SimVirtioBlkQueue.swift). Layout: VirtioBlkLayout.
///
/// `@unchecked Sendable`: driver threads, the device thread and test
/// controls share the state below; every mutable field is guarded by `lock`.
public final class SimVirtioBlk: SimDevice, @unchecked Sendable {
    public let function: SimPCIFunction
    let store: SimBlockStore
    let offered: UInt64
    let lock = Monitor()

    // -- guarded by lock --
    var regs = CommonRegs()
    var queue = SimVirtqueue()
    var queueEnabled = false
    var queueVector = Virtio.noVector
    var isr: UInt8 = 0
    var kickPending = false
    var epoch: UInt64 = 0  // bumped by every reset: in-flight work is void
    var workerBusy = false
    var stopping = false
    var worker: HostThread?
    var pendingIOErrors = 0
    var counters = SimVirtioBlkStats()
    var lastErrorText: String?

    /// Common configuration registers other than the queue's.
    struct CommonRegs {
        var deviceFeatureSelect: UInt32 = 0
        var driverFeatureSelect: UInt32 = 0
        var driverFeatures: UInt64 = 0
        var msixConfig: UInt16 = Virtio.noVector
        var status: UInt8 = 0
        var configGeneration: UInt8 = 0
        var queueSelect: UInt16 = 0
    }

    /// A disk held in memory (`virtio-blk:size=...`).
    public convenience init(
        memoryBytes: UInt64, blockSize: Int = 512, readOnly: Bool = false,
        cache: SimCacheMode = .volatile
    ) throws(HypError) {
        try self.init(
            store: SimBlockStore(
                memoryBytes: memoryBytes, blockSize: blockSize,
                readOnly: readOnly, cacheMode: cache))
    }

    /// A disk backed by an existing image file (`virtio-blk:image=...`).
    public convenience init(
        imagePath: String, blockSize: Int = 512, readOnly: Bool = false,
        cache: SimCacheMode = .volatile
    ) throws(HypError) {
        try self.init(
            store: SimBlockStore(
                path: imagePath, blockSize: blockSize,
                readOnly: readOnly, cacheMode: cache))
    }

    init(store: SimBlockStore) throws(HypError) {
        guard store.blockSize == 512 || store.blockSize == 4096 else {
            throw .inval("blksize \(store.blockSize): valid values are 512, 4096")
        }
        self.store = store
        offered =
            Virtio.fVersion1 | Virtio.fAccessPlatform | Virtio.blkFSegMax | Virtio.blkFBlkSize
            | Virtio.blkFFlush | (store.readOnly ? Virtio.blkFRO : 0)
        let id = PCIIdentity(
            vendor: 0x1af4, device: 0x1042, subVendor: 0x1af4, subDevice: 0x0002,
            classCode: 0x018000, revision: 1, address: "sim:?")
        let f = SimPCIFunction(
            identity: id,
            bars: [
                VirtioBlkLayout.msixBAR: SimBAR(size: VirtioBlkLayout.msixBARSize),
                VirtioBlkLayout.modernBAR: SimBAR(
                    size: VirtioBlkLayout.modernBARSize,
                    is64Bit: true, prefetchable: true)
            ],
            intx: true, msixVectors: VirtioBlkLayout.msixVectors,
            msixBAR: VirtioBlkLayout.msixBAR, msixPBAOffset: VirtioBlkLayout.pbaOffset)
        // struct virtio_pci_cap: cap_len, cfg_type, bar, id, padding[2], offset, length
        // (+ notify_off_multiplier for the notify capability).
        func cap(_ type: UInt8, _ offset: UInt64, _ length: UInt64, extra: [UInt8] = []) -> [UInt8] {
            [UInt8(16 + extra.count), type, UInt8(VirtioBlkLayout.modernBAR), 0, 0, 0]
                + le32(UInt32(offset)) + le32(UInt32(length)) + extra
        }
        f.lock.withLock {
            f.config.addCapability(id: PCIReg.capVendor, body: cap(Virtio.capCommon, VirtioBlkLayout.common, VirtioBlkLayout.commonLength))
            f.config.addCapability(id: PCIReg.capVendor, body: cap(Virtio.capISR, VirtioBlkLayout.isr, 1))
            f.config.addCapability(id: PCIReg.capVendor, body: cap(Virtio.capDevice, VirtioBlkLayout.device, VirtioBlkLayout.deviceLength))
            f.config.addCapability(
                id: PCIReg.capVendor,
                body: cap(
                    Virtio.capNotify, VirtioBlkLayout.notify,
                    UInt64(VirtioBlkLayout.notifyMultiplier),
                    extra: le32(VirtioBlkLayout.notifyMultiplier)))
        }
        function = f
        resetRegisters()
    }

    // MARK: test controls

    public var stats: SimVirtioBlkStats { lock.withLock { counters } }
    /// Why the device last entered DEVICE_NEEDS_RESET, for test failure messages.
    public var lastDeviceError: String? { lock.withLock { lastErrorText } }
    /// Capacity in bytes.
    public var capacityBytes: UInt64 { store.capacity }
    /// Sectors written but not yet flushed (volatile cache).
    public var unflushedSectors: Int { store.unflushedSectors }

    /// The next `count` requests complete with VIRTIO_BLK_S_IOERR, doing nothing.
    public func injectIOErrors(count: Int) { lock.withLock { pendingIOErrors = max(0, count) } }

    /// A power loss: in-flight work stops, the device resets (status reads 0,
    /// queues disabled), and every write not yet flushed is lost. The backing
    /// file keeps exactly what earlier FLUSH requests made durable.
    public func powerCut() {
        lock.withLock { resetLocked() }
        store.dropUnflushed()
    }

    // MARK: SimDevice / HostDevice

    public func open() throws(HypError) {
        try function.open()
        lock.withLock {
            if worker == nil {
                stopping = false
                worker = HostThread.start(name: "sim-vblk") { [self] in workerLoop() }
            }
            resetLocked()
        }
    }

    public func close() {
        guard function.opened else { return }
        lock.withLock { resetLocked() }  // quiesce DMA before the driver frees memory
        stopWorker()
        function.close()
    }

    public func shutdown() {
        close()
        stopWorker()
        store.close()
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

    // MARK: reset

    /// Device reset (status 0, FLR, power cut). Waits until the device thread
    /// has left any request it was in, so no DMA happens after it returns.
    /// Caller holds lock.
    func resetLocked() {
        epoch &+= 1
        // Not live from here on: the device thread, woken by the wait below
        // with a kick still pending, would otherwise start another pass
        // over the old queue state (its indices were not written back) and
        // serve the same requests again, DMA included.
        queueEnabled = false
        kickPending = false
        while workerBusy { lock.wait() }
        resetRegisters()
    }

    /// Caller holds lock (or is the initialiser).
    private func resetRegisters() {
        regs = CommonRegs()
        queue = SimVirtqueue(size: VirtioBlkLayout.queueMax)
        queueEnabled = false
        queueVector = Virtio.noVector
        kickPending = false
        isr = 0
        function.setINTxLevel(false)
    }

    // MARK: interrupts (caller holds lock)

    func raiseQueueInterruptLocked() {
        counters.interrupts += 1
        if function.interruptMode == HUSK_IRQ_MSIX {
            if queueVector != Virtio.noVector { function.signal(vector: Int(queueVector)) }
        } else {
            isr |= Virtio.isrQueue
            function.setINTxLevel(true)
        }
    }

    func raiseConfigInterruptLocked() {
        counters.interrupts += 1
        isr |= Virtio.isrConfig
        if function.interruptMode == HUSK_IRQ_MSIX {
            if regs.msixConfig != Virtio.noVector { function.signal(vector: Int(regs.msixConfig)) }
        } else {
            function.setINTxLevel(true)
        }
    }

    /// Enter DEVICE_NEEDS_RESET: stop processing and tell the driver with a
    /// configuration-change interrupt. Caller holds lock.
    func deviceErrorLocked(_ why: String) {
        counters.deviceErrors += 1
        lastErrorText = why
        regs.status |= Virtio.needsReset
        raiseConfigInterruptLocked()
    }
}
