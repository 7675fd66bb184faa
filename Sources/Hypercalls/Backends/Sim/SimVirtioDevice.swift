import HypercallABI
import Hypercalls
import Platform

/// What every sim VIRTIO 1.x device on the modern PCI transport shares: the
/// capabilities and BAR layout (SimVirtioLayout), the common configuration
/// registers, feature negotiation, the status handshake and reset, per-queue
/// MSI-X vectors or ISR + INTx, DEVICE_NEEDS_RESET, and the device thread
/// that drains notified queues (SimVirtioDevice+Worker.swift). A device
/// subclasses it and supplies its device config, what it offers, and how it
/// serves one descriptor chain.
///
/// `@unchecked Sendable`: driver threads, the device thread, test controls
/// and (for a NIC) its peer share the state below; every mutable field is
/// guarded by `lock`. Lock order: the device's lock, then its function's or
/// the IOMMU's; never the lock of another device.
public class SimVirtioDevice: SimDevice, @unchecked Sendable {
    /// The per-device part of the transport.
    struct Shape {
        var identity: PCIIdentity
        var offered: UInt64
        var queueCount: Int
        var queueMax: UInt16
        var deviceConfigLength: UInt64
        /// Refuse FEATURES_OK unless the driver accepts ACCESS_PLATFORM: the
        /// device's DMA goes through the (simulated) IOMMU, and a driver that
        /// does not say so would hand it CPU addresses on a real platform.
        var requiresAccessPlatform = false
        var threadName: String
    }

    /// One virtqueue's registers and device-side state.
    struct QueueState {
        var ring: SimVirtqueue
        var enabled = false
        var vector = Virtio.noVector
        /// A notify arrived that the device thread has not acted on yet.
        var kicked = false
    }

    /// Common configuration registers other than the queues'.
    struct CommonRegs {
        var deviceFeatureSelect: UInt32 = 0
        var driverFeatureSelect: UInt32 = 0
        var driverFeatures: UInt64 = 0
        var msixConfig: UInt16 = Virtio.noVector
        var status: UInt8 = 0
        var queueSelect: UInt16 = 0
    }

    public let function: SimPCIFunction
    let shape: Shape
    var offered: UInt64 { shape.offered }
    let lock = Monitor()

    // -- guarded by lock --
    var regs = CommonRegs()
    var queues: [QueueState]
    /// Bumped by every change of the device config (4.1.4.3.1): a driver
    /// reading a multi-byte field twice sees whether it changed in between.
    var configGeneration: UInt8 = 0
    var isr: UInt8 = 0
    var epoch: UInt64 = 0  // bumped by every reset: in-flight work is void
    var workerBusy = false
    var stopping = false
    var worker: HostThread?
    /// Used elements published per queue, interrupts raised, device errors.
    var completions: [Int]
    var interruptCount = 0
    var deviceErrorCount = 0
    var lastErrorText: String?

    init(shape: Shape) {
        self.shape = shape
        queues = Array(repeating: QueueState(ring: SimVirtqueue(size: shape.queueMax)), count: shape.queueCount)
        completions = Array(repeating: 0, count: shape.queueCount)
        let msixVectors = 1 + shape.queueCount  // config + one per queue
        let f = SimPCIFunction(
            identity: shape.identity,
            bars: [
                SimVirtioLayout.msixBAR: SimBAR(size: SimVirtioLayout.msixBARSize),
                SimVirtioLayout.modernBAR: SimBAR(size: SimVirtioLayout.modernBARSize, is64Bit: true, prefetchable: true)
            ],
            intx: true, msixVectors: msixVectors,
            msixBAR: SimVirtioLayout.msixBAR, msixPBAOffset: SimVirtioLayout.pbaOffset)
        // struct virtio_pci_cap: cap_len, cfg_type, bar, id, padding[2], offset, length
        // (+ notify_off_multiplier for the notify capability).
        func cap(_ type: UInt8, _ offset: UInt64, _ length: UInt64, extra: [UInt8] = []) -> [UInt8] {
            [UInt8(16 + extra.count), type, UInt8(SimVirtioLayout.modernBAR), 0, 0, 0]
                + le32(UInt32(offset)) + le32(UInt32(length)) + extra
        }
        let notifyLength = UInt64(shape.queueCount) * UInt64(SimVirtioLayout.notifyMultiplier)
        f.lock.withLock {
            f.config.addCapability(id: PCIReg.capVendor, body: cap(Virtio.capCommon, SimVirtioLayout.common, SimVirtioLayout.commonLength))
            f.config.addCapability(id: PCIReg.capVendor, body: cap(Virtio.capISR, SimVirtioLayout.isr, 1))
            f.config.addCapability(id: PCIReg.capVendor, body: cap(Virtio.capDevice, SimVirtioLayout.device, shape.deviceConfigLength))
            f.config.addCapability(
                id: PCIReg.capVendor,
                body: cap(Virtio.capNotify, SimVirtioLayout.notify, notifyLength, extra: le32(SimVirtioLayout.notifyMultiplier)))
        }
        function = f
    }

    // MARK: what a device supplies (overridden)

    /// The device configuration structure (the device-specific BAR4 region).
    /// Caller holds lock.
    func deviceConfigLocked() -> [UInt8] { [] }

    /// A notify write for queue `index`: should the device thread drain it?
    /// A receive queue says no (the device fills it when a frame arrives).
    /// Caller holds lock.
    func drainsOnNotify(queue index: Int) -> Bool { true }

    /// Serve one descriptor chain of queue `index` on the device thread,
    /// without the lock; returns the bytes written into the driver's buffers
    /// (the used element's len). A throw is a device error.
    func serve(queue index: Int, segments: [SimSegment], _ iommu: SimIOMMU) throws(SimVirtqueueError) -> UInt32 {
        throw .malformed("queue \(index) takes no requests")
    }

    /// Device-specific state a reset clears. Caller holds lock.
    func resetDeviceLocked() {}

    /// Release host resources (image files, wires) at backend shutdown.
    func shutdownDevice() {}

    // MARK: test controls

    /// Why the device last entered DEVICE_NEEDS_RESET, for test failure messages.
    public var lastDeviceError: String? { lock.withLock { lastErrorText } }

    /// Enter DEVICE_NEEDS_RESET now, as an internal device failure would: the
    /// device stops processing and raises a configuration-change interrupt;
    /// only a reset brings it back. For testing a driver's recovery path.
    public func injectDeviceError(_ why: String = "injected device error") {
        lock.withLock { deviceErrorLocked(why) }
    }

    // MARK: SimDevice / HostDevice

    public func open() throws(HypError) {
        try function.open()
        lock.withLock {
            if worker == nil {
                stopping = false
                worker = HostThread.start(name: shape.threadName) { [self] in workerLoop() }
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
        shutdownDevice()
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

    /// Device reset (status 0, FLR, power cut). The registers go first, so
    /// nothing new starts while the device thread finishes a chain (waiting
    /// releases the lock: a NIC's peer may deliver meanwhile, and must find
    /// the device not live); then this waits until the thread has left any
    /// chain it was in, so no DMA happens after it returns. Caller holds lock.
    func resetLocked() {
        epoch &+= 1
        resetRegisters()
        while workerBusy { lock.wait() }
        resetRegisters()
    }

    private func resetRegisters() {
        regs = CommonRegs()
        for i in queues.indices { queues[i] = QueueState(ring: SimVirtqueue(size: shape.queueMax)) }
        isr = 0
        function.setINTxLevel(false)
        resetDeviceLocked()
    }

    /// FEATURES_OK | DRIVER_OK, no DEVICE_NEEDS_RESET, queue `index` enabled:
    /// the device may use the queue. Caller holds lock.
    func isLive(queue index: Int) -> Bool {
        let need = Virtio.featuresOK | Virtio.driverOK
        return regs.status & need == need && regs.status & Virtio.needsReset == 0 && queues[index].enabled
    }

    /// Whether the driver accepted `feature` (meaningful once FEATURES_OK is set).
    func negotiated(_ feature: UInt64) -> Bool { regs.driverFeatures & feature != 0 }

    // MARK: interrupts (caller holds lock)

    func raiseQueueInterruptLocked(_ index: Int) {
        interruptCount += 1
        if function.interruptMode == HUSK_IRQ_MSIX {
            let vector = queues[index].vector
            if vector != Virtio.noVector { function.signal(vector: Int(vector)) }
        } else {
            isr |= Virtio.isrQueue
            function.setINTxLevel(true)
        }
    }

    func raiseConfigInterruptLocked() {
        interruptCount += 1
        isr |= Virtio.isrConfig
        if function.interruptMode == HUSK_IRQ_MSIX {
            if regs.msixConfig != Virtio.noVector { function.signal(vector: Int(regs.msixConfig)) }
        } else {
            function.setINTxLevel(true)
        }
    }

    /// The device config changed: a new generation, and a configuration-change
    /// interrupt once the driver is running (none before DRIVER_OK, 3.1.1).
    func deviceConfigChangedLocked() {
        configGeneration &+= 1
        if regs.status & Virtio.driverOK != 0 { raiseConfigInterruptLocked() }
    }

    /// Enter DEVICE_NEEDS_RESET: stop processing and tell the driver with a
    /// configuration-change interrupt. Caller holds lock.
    func deviceErrorLocked(_ why: String) {
        deviceErrorCount += 1
        lastErrorText = why
        regs.status |= Virtio.needsReset
        raiseConfigInterruptLocked()
    }
}
