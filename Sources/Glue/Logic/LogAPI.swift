import GlueAPI
import HypercallABI

// glue_log / glue_panic: the Swift end of glue_logf / glue_panicf, whose
// formatting is C (glue_format.c) because Swift cannot read a va_list.

@_cdecl("glue_log")
public func glue_log(_ level: UInt32, _ msg: UnsafePointer<CChar>?) {
    // A thread of no component still gets its line out, marked unknown.
    guard let msg else { return Hyp.log(Hyp.currentOrNil, Int32(level), "(null)") }
    Hyp.table.pointee.log!(Hyp.currentOrNil, level, msg)
}

@_cdecl("glue_panic")
public func glue_panic(_ msg: UnsafePointer<CChar>?) -> Never {
    guard let msg else { Hyp.panic(Hyp.currentOrNil, "(no message)") }
    Hyp.table.pointee.panic!(Hyp.currentOrNil, msg)
    fatalError("husk glue: hyp->panic returned")
}
