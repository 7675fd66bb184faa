import GlueAPI
import HypercallABI

// Interrupt allocation and handlers (husk/glue/pci.h). Handlers are
// recorded per attachment so a detach removes the ones a driver left.

@_cdecl("glue_pci_intr_alloc")
public func glue_pci_intr_alloc(
    _ pa: UnsafeMutablePointer<pci_attach_args>?, _ kinds: UInt32, _ want: UInt32,
    _ kind: UnsafeMutablePointer<UInt32>?, _ count: UnsafeMutablePointer<UInt32>?
) -> Int32 {
    guard let pa else { return HUSK_EINVAL }
    var k: UInt32 = 0, c: UInt32 = 0
    let r = Hyp.table.pointee.irq_alloc!(pa.pointee.pa_ctx, pa.pointee.pa_dev, kinds, want, &k, &c)
    guard r == HUSK_OK else { return r }
    pa.pointee.pa_intr_kind = k
    pa.pointee.pa_intr_count = c
    kind?.pointee = k
    count?.pointee = c
    return HUSK_OK
}

@_cdecl("glue_pci_intr_establish")
public func glue_pci_intr_establish(
    _ pa: UnsafeMutablePointer<pci_attach_args>?, _ vector: UInt32,
    _ fn: (@convention(c) (UnsafeMutableRawPointer?) -> Int32)?,
    _ arg: UnsafeMutableRawPointer?, _ ih: UnsafeMutablePointer<pci_intr_handle_t>?
) -> Int32 {
    guard let pa, let fn else { return HUSK_EINVAL }
    let a = PCIAutoconf.shared.attachment(pa, "pci_intr_establish")
    var h: husk_handle = 0
    let r = Hyp.table.pointee.irq_establish!(a.ctx, pa.pointee.pa_dev, vector, fn, arg, &h)
    guard r == HUSK_OK else { return r }
    PCIAutoconf.shared.withLock { _ in _ = a.interrupts.insert(h) }
    ih?.pointee = h
    return HUSK_OK
}

@_cdecl("glue_pci_intr_disestablish")
public func glue_pci_intr_disestablish(_ pa: UnsafeMutablePointer<pci_attach_args>?, _ ih: pci_intr_handle_t) {
    guard let pa else { return }
    let a = PCIAutoconf.shared.attachment(pa, "pci_intr_disestablish")
    let known = PCIAutoconf.shared.withLock { _ in a.interrupts.remove(ih) != nil }
    guard known else { return }
    _ = Hyp.table.pointee.irq_disestablish!(a.ctx, ih)
}

@_cdecl("glue_pci_intr_ack")
public func glue_pci_intr_ack(_ pa: UnsafeMutablePointer<pci_attach_args>?, _ vector: UInt32) -> Int32 {
    guard let pa else { return HUSK_EINVAL }
    return Hyp.table.pointee.irq_ack!(pa.pointee.pa_ctx, pa.pointee.pa_dev, vector)
}

@_cdecl("glue_pci_intr_mask")
public func glue_pci_intr_mask(_ pa: UnsafeMutablePointer<pci_attach_args>?, _ vector: UInt32) -> Int32 {
    guard let pa else { return HUSK_EINVAL }
    return Hyp.table.pointee.irq_mask!(pa.pointee.pa_ctx, pa.pointee.pa_dev, vector)
}

@_cdecl("glue_pci_intr_unmask")
public func glue_pci_intr_unmask(_ pa: UnsafeMutablePointer<pci_attach_args>?, _ vector: UInt32) -> Int32 {
    guard let pa else { return HUSK_EINVAL }
    return Hyp.table.pointee.irq_unmask!(pa.pointee.pa_ctx, pa.pointee.pa_dev, vector)
}
