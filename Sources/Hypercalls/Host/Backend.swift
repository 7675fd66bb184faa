import HypercallABI

/// Identity of a PCI function a backend offers (mirrors struct husk_pci_id).
public struct PCIIdentity: Sendable, Equatable, CustomStringConvertible {
    public var vendor: UInt16
    public var device: UInt16
    public var subVendor: UInt16
    public var subDevice: UInt16
    /// base class << 16 | subclass << 8 | prog-if
    public var classCode: UInt32
    public var revision: UInt8
    /// The backend's name for it: "0000:00:03.0" (vfio, uio) or "sim:1".
    public var address: String

    public init(
        vendor: UInt16, device: UInt16, subVendor: UInt16 = 0, subDevice: UInt16 = 0,
        classCode: UInt32 = 0, revision: UInt8 = 0, address: String
    ) {
        self.vendor = vendor
        self.device = device
        self.subVendor = subVendor
        self.subDevice = subDevice
        self.classCode = classCode
        self.revision = revision
        self.address = address
    }

    public var description: String {
        let hex = { (v: UInt16) in String(v, radix: 16).leftPadded(to: 4) }
        return "\(address) \(hex(vendor)):\(hex(device)) class \(String(classCode, radix: 16).leftPadded(to: 6))"
    }
}

/// Size and kind of a BAR (mirrors struct husk_bar_info; flags are HUSK_BAR_*).
public struct BARInfo: Sendable, Equatable {
    public var size: UInt64
    public var flags: UInt32
    public init(size: UInt64, flags: UInt32) {
        self.size = size
        self.flags = flags
    }
    public static let absent = BARInfo(size: 0, flags: 0)
}

/// Device-reachable memory: CPU address and the address the device uses.
public struct DMAMapping: @unchecked Sendable, Equatable {
    public var cpu: UnsafeMutableRawPointer
    public var bus: UInt64
    public var size: Int
    public init(cpu: UnsafeMutableRawPointer, bus: UInt64, size: Int) {
        self.cpu = cpu
        self.bus = bus
        self.size = size
    }
}

/// Interrupt vectors a device enabled: their kind (HUSK_IRQ_*) and one
/// eventfd per vector that becomes readable (counter > 0) when it fires.
/// The host's per-vector threads wait on these descriptors; the device owns
/// them and closes them in `disableInterrupts`.
public struct InterruptSet: Sendable, Equatable {
    public var kind: UInt32
    public var eventFDs: [Int32]
    public init(kind: UInt32, eventFDs: [Int32]) {
        self.kind = kind
        self.eventFDs = eventFDs
    }
}

/// A runtime backend: where DMA memory and devices come from. The hypercall
/// table (HypercallHost) implements everything else — memory, threads, locks,
/// time, block I/O on files — the same way for every backend, and validates
/// arguments (widths, alignment, ranges) before calling down here.
public protocol HostBackend: AnyObject, Sendable {
    /// "posix", "sim", "vfio", "uio".
    var name: String { get }
    /// HUSK_FEAT_* bits this backend adds (the host adds HUSK_FEAT_BLK itself).
    var features: UInt64 { get }
    /// Zeroed memory a device can reach, bus address aligned to `alignment`
    /// (a power of two >= page size) with the whole buffer below
    /// `maxBusAddress` (0: no limit).
    func dmaAllocate(size: Int, alignment: Int, maxBusAddress: UInt64) throws(HypError) -> DMAMapping
    func dmaFree(_ mapping: DMAMapping) throws(HypError)
    /// Devices offered, in a stable order (index = ABI device index).
    var devices: [PCIIdentity] { get }
    /// Exclusive use of a device; the backend resets it if it can.
    func openDevice(index: Int) throws(HypError) -> any HostDevice
    /// Release everything (called once, at host shutdown).
    func shutdown()
}

public extension HostBackend {
    func dmaAllocate(size: Int, alignment: Int, maxBusAddress: UInt64) throws(HypError) -> DMAMapping {
        throw HypError.nodev("the \(name) backend has no DMA")
    }
    func dmaFree(_ mapping: DMAMapping) throws(HypError) { throw HypError.badf }
    var devices: [PCIIdentity] { [] }
    func openDevice(index: Int) throws(HypError) -> any HostDevice {
        throw HypError.nodev("the \(name) backend has no devices")
    }
    func shutdown() {}
}

/// An open PCI function. Offsets and widths arrive validated: width in
/// {1,2,4} (config) or {1,2,4,8} (BAR), aligned, inside config space / the BAR.
public protocol HostDevice: AnyObject, Sendable {
    var identity: PCIIdentity { get }
    /// 256 for conventional PCI, 4096 for PCIe extended config space.
    var configSpaceSize: UInt32 { get }
    func configRead(offset: UInt32, width: UInt32) throws(HypError) -> UInt32
    func configWrite(offset: UInt32, width: UInt32, value: UInt32) throws(HypError)
    func barInfo(_ bar: Int) -> BARInfo
    /// CPU mapping of an MMIO BAR, valid until close(); throw .notsup if the
    /// BAR cannot be mapped (sim devices never map: they must see accesses).
    func mapBAR(_ bar: Int) throws(HypError) -> UnsafeMutableRawPointer
    func barRead(bar: Int, offset: UInt64, width: UInt32) throws(HypError) -> UInt64
    func barWrite(bar: Int, offset: UInt64, width: UInt32, value: UInt64) throws(HypError)
    /// Function-level reset; .notsup if none.
    func reset() throws(HypError)
    /// Enable up to `want` vectors of one of `kinds` (HUSK_IRQ_* mask),
    /// preferring MSI-X, then MSI, then INTx. .nodev if no acceptable kind.
    func enableInterrupts(kinds: UInt32, want: Int) throws(HypError) -> InterruptSet
    /// Re-arm a level-triggered vector (vfio INTx unmask). No-op for MSI/MSI-X.
    func acknowledgeInterrupt(vector: Int) throws(HypError)
    /// Disable every vector and close their eventfds.
    func disableInterrupts()
    /// An eventfd that becomes readable when the host OS wants the device back
    /// (vfio's request interrupt), or nil.
    var releaseRequestFD: Int32? { get }
    /// Unmap BARs, disable interrupts, give the device back. Idempotent.
    func close()
}

extension String {
    func leftPadded(to width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
