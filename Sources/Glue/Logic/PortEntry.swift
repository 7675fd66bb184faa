import HypercallABI

// The glue's entry points under C names, for a host written in C (a port:
// docs/porting.md, husk/glue_port.h). The Swift host calls Glue.bind and
// Glue.componentFinished directly.

@_cdecl("husk_glue_bind")
public func husk_glue_bind(_ hyp: UnsafePointer<husk_hyp>) {
    Glue.bind(hyp)
}

@_cdecl("husk_glue_component_finished")
public func husk_glue_component_finished(_ ctx: OpaquePointer) {
    Glue.componentFinished(ctx)
}
