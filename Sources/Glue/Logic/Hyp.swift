import GlueAPI
import HypercallABI
import Synchronization

/// Access to the hypercall table and to the calling component's context.
enum Hyp {
    /// The bound table's address. An atomic rather than a lock: it is read
    /// on every glue call and written once (by Glue.bind) before any
    /// component runs.
    private static let bits = Atomic<UInt>(0)

    static func install(_ hyp: UnsafePointer<husk_hyp>) {
        bits.store(UInt(bitPattern: hyp), ordering: .releasing)
    }

    /// The table. Using the glue before Glue.bind is a host bug.
    static var table: UnsafePointer<husk_hyp> {
        guard let p = UnsafePointer<husk_hyp>(bitPattern: bits.load(ordering: .acquiring)) else {
            fatalError("husk glue: called before Glue.bind(_:)")
        }
        return p
    }

    /// The calling thread's component, or nil on a thread of no component.
    /// While a registry runs a provider's code on a consumer's thread
    /// (`acting(as:)`), the provider's.
    static var currentOrNil: OpaquePointer? {
        ThreadSlot.current(.acting, as: ActingContext.self)?.ctx ?? table.pointee.ctx_current!()
    }

    /// The calling thread's component; a glue call from a thread of no
    /// component is misuse and panics, naming the call.
    static func current(_ call: StaticString) -> OpaquePointer {
        guard let ctx = currentOrNil else {
            panic(nil, "\(call) called from a thread that belongs to no component")
        }
        return ctx
    }

    /// Run `body` with the calling thread acting for `ctx` in every glue
    /// call (what a registry does while a consumer's thread runs a
    /// provider's op: objects the provider creates there are its own).
    /// Hypercalls the glue makes pass `ctx` explicitly, so the host
    /// accounts them to the provider; the thread's cancellation flag stays
    /// the thread's. Nested calls restore the outer context.
    static func acting<T, E: Error>(as ctx: OpaquePointer?, _ body: () throws(E) -> T) throws(E) -> T {
        guard let ctx else { return try body() }
        return try ThreadSlot.with(.acting, ActingContext(ctx), body)
    }

    /// End the server with a panic attributed to ctx (nil: unknown).
    static func panic(_ ctx: OpaquePointer?, _ msg: String) -> Never {
        msg.withCString { table.pointee.panic!(ctx, $0) }
        fatalError("husk glue: hyp->panic returned: \(msg)")
    }

    /// Log through the host, attributed to ctx.
    static func log(_ ctx: OpaquePointer?, _ level: Int32, _ msg: String) {
        msg.withCString { table.pointee.log!(ctx, UInt32(level), $0) }
    }

    static func now(_ ctx: OpaquePointer?) -> UInt64 { table.pointee.clock_monotonic!(ctx) }

    /// The ABI's name for a code (husk_error_name, the one C table).
    static func errorName(_ code: Int32) -> String {
        husk_error_name(code).map { String(cString: $0) } ?? "error \(code)"
    }
}

extension UInt64 {
    /// now + delay without wrapping: a huge delay means "never", not "now".
    func plusSaturating(_ other: UInt64) -> UInt64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? .max : sum
    }
}

/// The key the glue's registries use for a component.
func ctxKey(_ ctx: OpaquePointer) -> UInt { UInt(bitPattern: ctx) }

/// The component a thread acts for inside a registry's call into a
/// provider (the value of ThreadSlot.acting).
final class ActingContext: Sendable {
    // Sendable: immutable; the pointer is only an identity for the host.
    nonisolated(unsafe) let ctx: OpaquePointer
    init(_ ctx: OpaquePointer) { self.ctx = ctx }
}
