import GlueAPI
import HypercallABI

// Clocks and sleeping for components (husk/glue/time.h).

@_cdecl("glue_uptime_ns")
public func glue_uptime_ns() -> UInt64 { Hyp.table.pointee.clock_monotonic!(Hyp.currentOrNil) }

@_cdecl("glue_walltime_ns")
public func glue_walltime_ns() -> UInt64 { Hyp.table.pointee.clock_wall!(Hyp.currentOrNil) }

@_cdecl("glue_sleep_ns")
public func glue_sleep_ns(_ ns: UInt64) -> Int32 {
    let ctx = Hyp.current("glue_sleep_ns")
    return Hyp.table.pointee.sleep_ns!(ctx, ns)
}

/// A busy wait: for register-level delays of microseconds, where a sleep
/// would cost more than it saves and irq context may not sleep at all.
@_cdecl("glue_delay_ns")
public func glue_delay_ns(_ ns: UInt64) {
    let ctx = Hyp.currentOrNil
    let end = Hyp.now(ctx).plusSaturating(ns)
    while Hyp.now(ctx) < end {}
}
