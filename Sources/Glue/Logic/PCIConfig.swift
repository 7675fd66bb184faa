import GlueAPI
import HypercallABI

// Config space access and the capability walk (husk/glue/pci.h).

enum PCIConfig {
    static func read(_ pa: UnsafePointer<pci_attach_args>?, _ off: UInt32, _ width: UInt32) -> UInt32 {
        guard let pa else { Hyp.panic(Hyp.currentOrNil, "pci_conf_read(NULL)") }
        var v: UInt32 = 0
        let r = Hyp.table.pointee.cfg_read!(pa.pointee.pa_ctx, pa.pointee.pa_dev, off, width, &v)
        if r != HUSK_OK { return width == 4 ? ~0 : (1 << (width * 8)) - 1 }  // like an absent device
        return v
    }
    static func write(_ pa: UnsafePointer<pci_attach_args>?, _ off: UInt32, _ width: UInt32, _ v: UInt32) {
        guard let pa else { Hyp.panic(Hyp.currentOrNil, "pci_conf_write(NULL)") }
        let r = Hyp.table.pointee.cfg_write!(pa.pointee.pa_ctx, pa.pointee.pa_dev, off, width, v)
        if r != HUSK_OK {
            Hyp.log(pa.pointee.pa_ctx, HUSK_LOG_WARN, "pci_conf_write(0x\(String(off, radix: 16)), width \(width)): \(Hyp.errorName(r))")
        }
    }
}

@_cdecl("glue_pci_conf_read")
public func glue_pci_conf_read(_ pa: UnsafePointer<pci_attach_args>?, _ off: UInt32) -> UInt32 { PCIConfig.read(pa, off, 4) }
@_cdecl("glue_pci_conf_read_2")
public func glue_pci_conf_read_2(_ pa: UnsafePointer<pci_attach_args>?, _ off: UInt32) -> UInt16 {
    UInt16(truncatingIfNeeded: PCIConfig.read(pa, off, 2))
}
@_cdecl("glue_pci_conf_read_1")
public func glue_pci_conf_read_1(_ pa: UnsafePointer<pci_attach_args>?, _ off: UInt32) -> UInt8 {
    UInt8(truncatingIfNeeded: PCIConfig.read(pa, off, 1))
}
@_cdecl("glue_pci_conf_write")
public func glue_pci_conf_write(_ pa: UnsafePointer<pci_attach_args>?, _ off: UInt32, _ v: UInt32) { PCIConfig.write(pa, off, 4, v) }
@_cdecl("glue_pci_conf_write_2")
public func glue_pci_conf_write_2(_ pa: UnsafePointer<pci_attach_args>?, _ off: UInt32, _ v: UInt16) {
    PCIConfig.write(pa, off, 2, UInt32(v))
}
@_cdecl("glue_pci_conf_write_1")
public func glue_pci_conf_write_1(_ pa: UnsafePointer<pci_attach_args>?, _ off: UInt32, _ v: UInt8) {
    PCIConfig.write(pa, off, 1, UInt32(v))
}

@_cdecl("glue_pci_find_capability")
public func glue_pci_find_capability(
    _ pa: UnsafePointer<pci_attach_args>?, _ capID: UInt8,
    _ offset: UnsafeMutablePointer<UInt32>?
) -> Bool {
    let status = PCIConfig.read(pa, UInt32(PCI_STATUS), 2)
    guard status != 0xffff, status & UInt32(PCI_STATUS_CAP_LIST) != 0 else { return false }
    var ptr = PCIConfig.read(pa, UInt32(PCI_CAPLIST_PTR), 1) & 0xfc
    // 48 entries fit in the 192 bytes after the header: more means a loop.
    for _ in 0..<48 {
        guard ptr >= 0x40, ptr <= 0xfc else { return false }
        let id = PCIConfig.read(pa, ptr, 1)
        if id == UInt32(capID) {
            offset?.pointee = ptr
            return true
        }
        ptr = PCIConfig.read(pa, ptr + 1, 1) & 0xfc
    }
    return false
}

@_cdecl("glue_pci_enable")
public func glue_pci_enable(_ pa: UnsafePointer<pci_attach_args>?, _ bits: UInt16) {
    let cmd = PCIConfig.read(pa, UInt32(PCI_COMMAND), 2)
    PCIConfig.write(pa, UInt32(PCI_COMMAND), 2, (cmd | UInt32(bits)) & 0xffff)
}
