import Glibc
import HypercallABI
import Platform

/// Devices opened through the table, their interrupt vectors and handlers.
final class DeviceTable: @unchecked Sendable {
    // @unchecked: registries are locked; OpenDevice guards its own state.
    let backend: any HostBackend
    let open = HandleRegistry<OpenDevice>(tag: 0x4456)  // "DV"
    let handlers = HandleRegistry<(dev: husk_handle, vector: Int)>(tag: 0x4948)  // "IH"
    private let openIndices = Locked<Set<Int>>([])

    init(backend: any HostBackend) { self.backend = backend }

    func openDevice(index: Int, ctx: OpaquePointer?) -> Result<husk_handle, HypError> {
        let claimed = openIndices.withLock { $0.insert(index).inserted }
        guard claimed else { return .failure(.busy) }
        do {
            let d = try backend.openDevice(index: index)
            let od = OpenDevice(device: d, index: index, ctx: ctx)
            return .success(open.insert(od))
        } catch {
            _ = openIndices.withLock { $0.remove(index) }
            HostLog.write(
                level: UInt32(HUSK_LOG_WARN), component: ComponentContext.name(of: ctx),
                "dev_open(\(index)) on \(backend.name): \(error)")
            return .failure(error)
        }
    }

    func close(_ h: husk_handle) -> Int32 {
        guard let od = open.remove(h) else { return HUSK_EBADF }
        for (ih, binding) in handlers.all() where binding.dev == h { _ = handlers.remove(ih) }
        od.close()
        _ = openIndices.withLock { $0.remove(od.index) }
        return HUSK_OK
    }

    func closeAll() {
        for (h, _) in open.all() { _ = close(h) }
    }
}

/// An open device with its mapped BARs, interrupt vectors and release watcher.
final class OpenDevice: @unchecked Sendable {
    // @unchecked: mutable state is behind `lock`.
    let device: any HostDevice
    let index: Int
    let ctx: OpaquePointer?
    private let lock = Monitor()
    private var bars: [Int: UnsafeMutableRawPointer] = [:]
    private(set) var vectors: [InterruptVector] = []
    private var interrupts: InterruptSet?
    private var releaseStop: EventFD?
    private var releaseThread: HostThread?

    init(device: any HostDevice, index: Int, ctx: OpaquePointer?) {
        self.device = device
        self.index = index
        self.ctx = ctx
    }

    func mapBAR(_ bar: Int) throws(HypError) -> UnsafeMutableRawPointer {
        lock.lock()
        defer { lock.unlock() }
        if let p = bars[bar] { return p }
        let p = try device.mapBAR(bar)
        bars[bar] = p
        return p
    }

    func allocateInterrupts(kinds: UInt32, want: Int) throws(HypError) -> InterruptSet {
        lock.lock()
        defer { lock.unlock() }
        if interrupts != nil { throw HypError.busy }
        let set = try device.enableInterrupts(kinds: kinds, want: want)
        interrupts = set
        vectors = set.eventFDs.enumerated().map {
            InterruptVector(vector: $0.offset, eventFD: $0.element, deviceName: device.identity.address)
        }
        return set
    }

    func vector(_ v: Int) -> InterruptVector? {
        lock.withLock { v >= 0 && v < vectors.count ? vectors[v] : nil }
    }

    var interruptKind: UInt32? { lock.withLock { interrupts?.kind } }

    func onRelease(_ fn: @escaping @convention(c) (UnsafeMutableRawPointer?) -> Void, arg: UnsafeMutableRawPointer?) -> Int32 {
        guard let fd = device.releaseRequestFD else { return HUSK_ENOTSUP }
        return lock.withLock {
            if releaseThread != nil { return HUSK_EEXIST }
            let stop = EventFD()
            let stopFD = stop.fd
            releaseStop = consume stop
            let ctxBits = UInt(bitPattern: self.ctx)
            let argBits = UInt(bitPattern: arg)
            releaseThread = HostThread.start(name: "dev-release") {
                let ready = pollReadable([fd, stopFD])
                guard ready.contains(fd) else { return }
                drainEventFD(fd)
                HypercallThreads.acting(as: OpaquePointer(bitPattern: ctxBits)) { fn(UnsafeMutableRawPointer(bitPattern: argBits)) }
            }
            return HUSK_OK
        }
    }

    func close() {
        let (vs, watcher): ([InterruptVector], HostThread?) = lock.withLock {
            let r = (vectors, releaseThread)
            vectors = []
            releaseThread = nil
            return r
        }
        for v in vs {
            v.disestablish()
            v.terminate()
        }
        if let watcher {
            releaseStop?.signal()
            // The watcher may be the thread closing us (a release handler that
            // closes its device): never join oneself.
            if pthread_equal(watcher.id, pthread_self()) == 0 { watcher.join() } else { watcher.detach() }
        }
        lock.withLock {
            if interrupts != nil {
                device.disableInterrupts()
                interrupts = nil
            }
            bars = [:]
        }
        device.close()
    }
}
