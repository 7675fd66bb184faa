import GlueAPI
import HypercallABI

// callout(9) entry points (husk/glue/callout.h). The C callout_t holds a
// retained reference to a Callout; callout_destroy drops it.

@_cdecl("glue_callout_init")
public func glue_callout_init(
    _ c: UnsafeMutablePointer<callout_t>?,
    _ fn: (@convention(c) (UnsafeMutableRawPointer?) -> Void)?,
    _ arg: UnsafeMutableRawPointer?
) -> Int32 {
    let ctx = Hyp.current("callout_init")
    guard let c, let fn else { Hyp.panic(ctx, "callout_init: NULL callout or function") }
    guard let engine = CalloutEngines.shared.engine(for: ctx) else { return HUSK_EAGAIN }
    c.pointee.c_glue = Unmanaged.passRetained(engine.make(fn: fn, arg: arg)).toOpaque()
    return HUSK_OK
}

@_cdecl("glue_callout_schedule")
public func glue_callout_schedule(_ c: UnsafeMutablePointer<callout_t>?, _ delay: UInt64) {
    let co = CalloutRef.get(c, "callout_schedule")
    co.engine.schedule(co, delay: delay, period: 0)
}

@_cdecl("glue_callout_schedule_periodic")
public func glue_callout_schedule_periodic(_ c: UnsafeMutablePointer<callout_t>?, _ period: UInt64) {
    let co = CalloutRef.get(c, "callout_schedule_periodic")
    if period == 0 { Hyp.panic(co.engine.ctx, "callout_schedule_periodic: period 0") }
    co.engine.schedule(co, delay: period, period: period)
}

@_cdecl("glue_callout_stop")
public func glue_callout_stop(_ c: UnsafeMutablePointer<callout_t>?) -> Bool {
    let co = CalloutRef.get(c, "callout_stop")
    return co.engine.stop(co)
}

@_cdecl("glue_callout_halt")
public func glue_callout_halt(_ c: UnsafeMutablePointer<callout_t>?) -> Bool {
    let co = CalloutRef.get(c, "callout_halt")
    return co.engine.halt(co)
}

@_cdecl("glue_callout_pending")
public func glue_callout_pending(_ c: UnsafeMutablePointer<callout_t>?) -> Bool {
    let co = CalloutRef.get(c, "callout_pending")
    return co.engine.pending(co)
}

@_cdecl("glue_callout_destroy")
public func glue_callout_destroy(_ c: UnsafeMutablePointer<callout_t>?) {
    let co = CalloutRef.get(c, "callout_destroy")
    c!.pointee.c_glue = nil
    co.engine.destroy(co)
}

enum CalloutRef {
    static func get(_ c: UnsafeMutablePointer<callout_t>?, _ call: StaticString) -> Callout {
        guard let raw = c?.pointee.c_glue else {
            Hyp.panic(Hyp.currentOrNil, "\(call): callout not initialised (or destroyed)")
        }
        return Unmanaged<Callout>.fromOpaque(raw).takeUnretainedValue()
    }
}
