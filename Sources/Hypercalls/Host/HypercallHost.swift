import Glibc
import HypercallABI
import Platform

/// The host: one hypercall table per process, filled with Swift functions and
/// bound to one runtime backend. Components get `table` at init.
///
/// The table's entries are C function pointers, so they cannot capture this
/// object; they reach it through `HypercallHost.active`, installed by
/// `activate()` before any component runs and cleared by `shutdown()`.
public final class HypercallHost: @unchecked Sendable {
    // @unchecked: the registries below are each guarded by their own lock;
    // `backend` and `table` are immutable after init.
    public let backend: any HostBackend
    public let table: UnsafeMutablePointer<husk_hyp>
    let memory = Locked<[UInt: MemoryBlock]>([:])
    let mappings = Locked<[UInt: MemoryBlock]>([:])
    let dma = HandleRegistry<DMABlock>(tag: 0x444D)  // "DM"
    let devices: DeviceTable
    let blocks: BlockIO
    /// Frame devices (TAP interfaces) opened through frame_open.
    let frames = HandleRegistry<FrameDevice>(tag: 0x4652)  // "FR"

    nonisolated(unsafe) static var active: HypercallHost?
    private static let backendName = Locked<[String: UnsafeMutablePointer<CChar>]>([:])

    struct MemoryBlock {
        var size: UInt64
        var ctx: ComponentContext?
    }

    struct DMABlock {
        var mapping: DMAMapping
        var ctx: ComponentContext?
    }

    public init(backend: any HostBackend) {
        self.backend = backend
        self.devices = DeviceTable(backend: backend)
        self.blocks = BlockIO()
        table = .allocate(capacity: 1)
        memset(table, 0, MemoryLayout<husk_hyp>.stride)
        table.pointee.abi_major = UInt32(HUSK_ABI_MAJOR)
        table.pointee.abi_minor = UInt32(HUSK_ABI_MINOR)
        table.pointee.size = UInt32(MemoryLayout<husk_hyp>.size)
        table.pointee.features =
            backend.features | UInt64(HUSK_FEAT_BLK)
            | (HypercallHost.frameDevicesAvailable ? UInt64(HUSK_FEAT_FRAME) : 0)
        table.pointee.backend = UnsafePointer(
            HypercallHost.backendName.withLock { names in
                if let p = names[backend.name] { return UnsafePointer(p) }
                let p = strdup(backend.name)!
                names[backend.name] = p
                return UnsafePointer(p)
            })
        HypercallHost.fillMemory(table)
        HypercallHost.fillThreads(table)
        HypercallHost.fillSync(table)
        HypercallHost.fillTime(table)
        HypercallHost.fillMisc(table)
        HypercallHost.fillDevices(table)
        HypercallHost.fillBlock(table)
        HypercallHost.fillFrame(table)
    }

    /// Make this the host the table's functions talk to. One at a time.
    public func activate() {
        precondition(
            HypercallHost.active == nil || HypercallHost.active === self,
            "another HypercallHost is active; shut it down first")
        HypercallHost.active = self
    }

    /// Stop I/O threads, close devices, release the backend. Components must
    /// have been finalised.
    public func shutdown() {
        devices.closeAll()
        blocks.shutdown()
        for (_, d) in frames.all() { d.close() }
        backend.shutdown()
        if HypercallHost.active === self { HypercallHost.active = nil }
    }

    public var abiVersion: (major: UInt32, minor: UInt32) { (table.pointee.abi_major, table.pointee.abi_minor) }
    public var features: UInt64 { table.pointee.features }

    /// The active host, or a panic naming the component that called without one.
    @inline(__always)
    static func host(_ ctx: OpaquePointer?) -> HypercallHost {
        if let h = active { return h }
        HostPanic.panic(ctx: ctx, "hypercall made while no host is active")
    }

    /// Feature names for `husk abi` and logs.
    public static func featureNames(_ bits: UInt64) -> [String] {
        let names: [(UInt64, String)] = [
            (UInt64(HUSK_FEAT_PCI), "pci"), (UInt64(HUSK_FEAT_BAR_MAP), "bar-map"), (UInt64(HUSK_FEAT_IRQ_INTX), "irq-intx"),
            (UInt64(HUSK_FEAT_IRQ_MSI), "irq-msi"), (UInt64(HUSK_FEAT_IRQ_MSIX), "irq-msix"), (UInt64(HUSK_FEAT_DMA), "dma"),
            (UInt64(HUSK_FEAT_DMA_IOMMU), "dma-iommu"), (UInt64(HUSK_FEAT_BLK), "blk"), (UInt64(HUSK_FEAT_DEV_RELEASE), "dev-release"),
            (UInt64(HUSK_FEAT_FRAME), "frame")
        ]
        return names.filter { bits & $0.0 != 0 }.map { $0.1 }
    }
}

/// Handles for objects that are not on a hot path (DMA buffers, devices,
/// interrupt handlers, block devices): a tag in the top 16 bits so that a
/// handle of one kind passed as another fails, and a serial that is never
/// reused so that a stale handle fails.
final class HandleRegistry<Value>: @unchecked Sendable {
    // @unchecked: all state is behind `state`'s lock.
    private let tag: UInt64
    private let state = Locked<(next: UInt64, items: [UInt64: Value])>((1, [:]))

    init(tag: UInt64) { self.tag = tag << 48 }

    func insert(_ v: Value) -> husk_handle {
        state.withLock { s in
            let h = tag | s.next
            s.next += 1
            s.items[h] = v
            return h
        }
    }
    func get(_ h: husk_handle) -> Value? { state.withLock { $0.items[h] } }
    func remove(_ h: husk_handle) -> Value? { state.withLock { $0.items.removeValue(forKey: h) } }
    func update(_ h: husk_handle, _ body: (inout Value) -> Void) -> Bool {
        state.withLock { s in
            guard var v = s.items[h] else { return false }
            body(&v)
            s.items[h] = v
            return true
        }
    }
    func all() -> [(husk_handle, Value)] { state.withLock { s in s.items.map { ($0.key, $0.value) } } }
    var count: Int { state.withLock { $0.items.count } }
}

extension HypercallHost {
    /// Spins before a contended mutex_lock sleeps. Zero: on these machines a
    /// spinning waiter keeps the scheduler from running the two threads of a
    /// hand-off on one core, which costs far more than the sleep it avoids.
    nonisolated(unsafe) static var mutexSpin = Int(getenv("HUSK_MUTEX_SPIN").flatMap { Int(String(cString: $0)) } ?? 0)
}
