import GlueAPI
import HypercallABI

/// Live bus_space handles and the attachment each belongs to, so that a
/// detach frees the ones the driver left and unmap catches double frees.
final class BusSpaces: Sendable {
    static let shared = BusSpaces()
    private let live = GlueLock<[UInt: UInt64]>("glue.bus_space", [:])  // handle address -> attachment serial

    func add(_ h: bus_space_handle_t, serial: UInt64) { live.withLock { $0[UInt(bitPattern: h)] = serial } }
    func remove(_ h: bus_space_handle_t) -> Bool { live.withLock { $0.removeValue(forKey: UInt(bitPattern: h)) != nil } }

    func freeAll(serial: UInt64) {
        let mine = live.withLock { all in
            let m = all.filter { $0.value == serial }.map { $0.key }
            for k in m { all.removeValue(forKey: k) }
            return m
        }
        for k in mine { UnsafeMutablePointer<glue_bus_space>(bitPattern: k)?.deallocate() }
    }
}

@_cdecl("glue_bus_space_map")
public func glue_bus_space_map(
    _ pa: UnsafeMutablePointer<pci_attach_args>?, _ bar: UInt32, _ offset: UInt64,
    _ size: UInt64, _ out: UnsafeMutablePointer<bus_space_handle_t?>?
) -> Int32 {
    guard let pa, let out else { return HUSK_EINVAL }
    let a = PCIAutoconf.shared.attachment(pa, "bus_space_map")
    let h = Hyp.table
    var info = husk_bar_info()
    guard h.pointee.bar_info!(a.ctx, pa.pointee.pa_dev, bar, &info) == HUSK_OK, info.size > 0 else { return HUSK_EINVAL }
    guard offset < info.size else { return HUSK_EINVAL }
    let length = size == 0 ? info.size - offset : size
    guard length <= info.size - offset else { return HUSK_EINVAL }

    // Map when the host can; otherwise every access is a hypercall.
    var va: UnsafeMutableRawPointer?
    let mappable =
        info.flags & UInt32(HUSK_BAR_MMIO) != 0 && info.flags & UInt32(HUSK_BAR_MAPPABLE) != 0
        && h.pointee.features & UInt64(HUSK_FEAT_BAR_MAP) != 0
    if mappable {
        var p: UnsafeMutableRawPointer?
        if h.pointee.bar_map!(a.ctx, pa.pointee.pa_dev, bar, &p) == HUSK_OK, let p { va = p + Int(offset) }
    }
    let bs = UnsafeMutablePointer<glue_bus_space>.allocate(capacity: 1)
    bs.initialize(
        to: glue_bus_space(
            bs_va: va.map { UnsafeMutablePointer($0.assumingMemoryBound(to: UInt8.self)) },
            bs_hyp: h, bs_ctx: a.ctx, bs_dev: pa.pointee.pa_dev, bs_bar: bar, bs_errors: 0,
            bs_offset: offset, bs_size: length))
    BusSpaces.shared.add(bs, serial: a.serial)
    out.pointee = bs
    return HUSK_OK
}

@_cdecl("glue_bus_space_unmap")
public func glue_bus_space_unmap(_ bs: bus_space_handle_t?) {
    guard let bs else { return }
    guard BusSpaces.shared.remove(bs) else {
        Hyp.panic(bs.pointee.bs_ctx, "bus_space_unmap: unknown handle (unmapped twice, or after detach?)")
    }
    bs.deallocate()
}
