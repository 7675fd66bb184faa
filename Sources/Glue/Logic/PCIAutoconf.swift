import GlueAPI
import HypercallABI

/// One device attached to one driver.
final class Attachment: @unchecked Sendable {
    // @unchecked: the lets are immutable; `softc`, `state` and `interrupts`
    // are only touched with PCIAutoconf's lock held.
    enum State { case attaching, attached, detaching }
    let serial: UInt64
    let driver: UnsafePointer<pci_driver>
    let ctx: OpaquePointer
    let pa: UnsafeMutablePointer<pci_attach_args>
    var softc: UnsafeMutableRawPointer?
    var state = State.attaching
    var interrupts: Set<husk_handle> = []

    init(serial: UInt64, driver: UnsafePointer<pci_driver>, ctx: OpaquePointer, pa: UnsafeMutablePointer<pci_attach_args>) {
        self.serial = serial
        self.driver = driver
        self.ctx = ctx
        self.pa = pa
    }
}

/// Driver registration, matching, attach and every way out (unregister,
/// the host's release request, the component finishing).
final class PCIAutoconf: Sendable {
    struct Registry {
        var drivers: [UInt: (ctx: UInt, serials: Set<UInt64>)] = [:]  // by pci_driver address
        var attachments: [UInt64: Attachment] = [:]
        var nextSerial: UInt64 = 1
    }
    static let shared = PCIAutoconf()
    private let registry = GlueLock("glue.pci", Registry())

    /// The attachment behind pa (pa_glue holds its serial); misuse panics.
    func attachment(_ pa: UnsafePointer<pci_attach_args>, _ call: StaticString) -> Attachment {
        let serial = UInt64(UInt(bitPattern: pa.pointee.pa_glue))
        guard let a = registry.withLock({ $0.attachments[serial] }) else {
            Hyp.panic(Hyp.currentOrNil, "\(call): pci_attach_args of no attached device (used after detach?)")
        }
        return a
    }

    func withLock<T>(_ body: (inout Registry) -> T) -> T {
        registry.withLock { r in
            // Attachment and tuples are not Sendable-checked here: the
            // registry only ever hands out @unchecked Sendable objects.
            nonisolated(unsafe) let v = body(&r)
            return v
        }
    }

    // MARK: register

    func register(_ drv: UnsafePointer<pci_driver>, ctx: OpaquePointer) -> (Int32, UInt32) {
        let d = drv.pointee
        guard d.name != nil, d.ids != nil, d.attach != nil, d.detach != nil else { return (HUSK_EINVAL, 0) }
        let added = withLock { r -> Bool in
            guard r.drivers[UInt(bitPattern: drv)] == nil else { return false }
            r.drivers[UInt(bitPattern: drv)] = (ctxKey(ctx), [])
            return true
        }
        guard added else { return (HUSK_EEXIST, 0) }
        var attached: UInt32 = 0
        var index: UInt32 = 0
        while true {
            var id = husk_pci_id()
            guard Hyp.table.pointee.pci_enumerate!(ctx, index, &id) == HUSK_OK else { break }
            defer { index += 1 }
            guard glue_pci_match(d.ids, id.vendor, id.device) else { continue }
            if attach(drv, index: index, id: id, ctx: ctx) { attached += 1 }
        }
        return (HUSK_OK, attached)
    }

    private func attach(_ drv: UnsafePointer<pci_driver>, index: UInt32, id: husk_pci_id, ctx: OpaquePointer) -> Bool {
        let h = Hyp.table
        let name = String(cString: drv.pointee.name)
        let where_ = withUnsafeBytes(of: id.address) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        var dev: husk_handle = 0
        let r = h.pointee.dev_open!(ctx, index, &dev)
        if r == HUSK_EBUSY { return false }  // another driver or component has it
        if r != HUSK_OK {
            Hyp.log(ctx, HUSK_LOG_WARN, "\(name): cannot open \(where_): \(Hyp.errorName(r))")
            return false
        }
        let pa = UnsafeMutablePointer<pci_attach_args>.allocate(capacity: 1)
        let a = withLock { reg -> Attachment in
            let serial = reg.nextSerial
            reg.nextSerial += 1
            pa.initialize(
                to: pci_attach_args(
                    pa_dev: dev, pa_id: id, pa_index: index, pa_intr_kind: 0,
                    pa_intr_count: 0, pa_reserved: 0, pa_hyp: h, pa_ctx: ctx,
                    pa_glue: UnsafeMutableRawPointer(bitPattern: UInt(serial))))
            let a = Attachment(serial: serial, driver: drv, ctx: ctx, pa: pa)
            reg.attachments[serial] = a
            reg.drivers[UInt(bitPattern: drv)]?.serials.insert(serial)
            return a
        }
        var softc: UnsafeMutableRawPointer?
        let ar = drv.pointee.attach!(pa, &softc)
        if ar != HUSK_OK {
            Hyp.log(ctx, HUSK_LOG_WARN, "\(name): attach to \(where_) failed: \(Hyp.errorName(ar))")
            teardown(a)
            return false
        }
        withLock { _ in
            a.softc = softc
            a.state = .attached
        }
        // Ask to hear when the host wants the device back. Hosts that never
        // ask answer with an error, which is fine.
        _ = h.pointee.dev_on_release!(
            ctx, dev,
            { arg in
                PCIAutoconf.shared.detach(serial: UInt64(UInt(bitPattern: arg)), reason: "the host asked for the device back")
            }, UnsafeMutableRawPointer(bitPattern: UInt(a.serial)))
        Hyp.log(ctx, HUSK_LOG_INFO, "\(name) attached to \(where_)")
        return true
    }

    // MARK: detach

    /// Detach one device, once, whoever asks first.
    func detach(serial: UInt64, reason: String) {
        let a = withLock { r -> Attachment? in
            guard let a = r.attachments[serial], a.state == .attached else { return nil }
            a.state = .detaching
            return a
        }
        guard let a else { return }
        Hyp.log(a.ctx, HUSK_LOG_INFO, "driver \(String(cString: a.driver.pointee.name)) detaching (\(reason))")
        a.driver.pointee.detach!(a.softc)
        teardown(a)
    }

    /// Undo what the glue did for an attachment: handlers and bus_space
    /// handles the driver left, the device itself, the attach args.
    private func teardown(_ a: Attachment) {
        let ihs = withLock { _ in a.interrupts }
        for ih in ihs { _ = Hyp.table.pointee.irq_disestablish!(a.ctx, ih) }
        BusSpaces.shared.freeAll(serial: a.serial)
        _ = Hyp.table.pointee.dev_close!(a.ctx, a.pa.pointee.pa_dev)
        withLock { r in
            r.attachments.removeValue(forKey: a.serial)
            r.drivers[UInt(bitPattern: a.driver)]?.serials.remove(a.serial)
        }
        a.pa.deinitialize(count: 1)
        a.pa.deallocate()
    }

    // MARK: unregister

    func unregister(_ drv: UnsafePointer<pci_driver>, ctx: OpaquePointer?) {
        let key = UInt(bitPattern: drv)
        guard let serials = withLock({ $0.drivers[key]?.serials }) else { return }
        for s in serials { detach(serial: s, reason: "driver unregistered") }
        // A detach started elsewhere (a release request) may still be running.
        while true {
            let done = withLock { r -> Bool in
                guard r.drivers[key]?.serials.isEmpty ?? true else { return false }
                r.drivers.removeValue(forKey: key)
                return true
            }
            if done { return }
            _ = Hyp.table.pointee.sleep_ns!(ctx, 1_000_000)
        }
    }

    func unregisterAll(of ctx: OpaquePointer) {
        let mine = withLock { r in r.drivers.filter { $0.value.ctx == ctxKey(ctx) }.map { $0.key } }
        for key in mine {
            guard let drv = UnsafePointer<pci_driver>(bitPattern: key) else { continue }
            unregister(drv, ctx: ctx)
        }
    }
}

// MARK: C entry points (husk/glue/pci.h)

@_cdecl("glue_pci_match")
public func glue_pci_match(_ ids: UnsafePointer<pci_device_id>?, _ vendor: UInt16, _ device: UInt16) -> Bool {
    guard var p = ids else { return false }
    let any = UInt16(PCI_ANY_ID)
    while p.pointee.vendor != 0 || p.pointee.device != 0 {
        if (p.pointee.vendor == any || p.pointee.vendor == vendor) && (p.pointee.device == any || p.pointee.device == device) {
            return true
        }
        p += 1
    }
    return false
}

@_cdecl("glue_pci_driver_register")
public func glue_pci_driver_register(_ drv: UnsafePointer<pci_driver>?, _ n: UnsafeMutablePointer<UInt32>?) -> Int32 {
    let ctx = Hyp.current("pci_driver_register")
    guard let drv else { return HUSK_EINVAL }
    let (r, count) = PCIAutoconf.shared.register(drv, ctx: ctx)
    n?.pointee = count
    return r
}

@_cdecl("glue_pci_driver_unregister")
public func glue_pci_driver_unregister(_ drv: UnsafePointer<pci_driver>?) {
    guard let drv else { return }
    PCIAutoconf.shared.unregister(drv, ctx: Hyp.currentOrNil)
}
