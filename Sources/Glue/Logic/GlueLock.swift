import HypercallABI
import Synchronization

/// The glue's own lock around a registry's state: one of the hypercall
/// table's mutexes, so the glue needs no lock of the platform's (the same
/// source runs hosted over Linux and freestanding over a port's table, where
/// there is no futex and no Synchronization.Mutex).
///
/// The mutex is made on first use, not at init: the registries are statics
/// that may be initialised before Glue.bind installs the table. It belongs
/// to no component (ctx NULL at creation: a registry outlives every
/// component that uses it); lock and unlock pass the caller's context so
/// that misuse (locking it twice on one thread) panics naming the caller.
final class GlueLock<State>: @unchecked Sendable {
    // @unchecked Sendable: `state` is only touched between lock and unlock.
    private var state: State
    private let name: StaticString
    /// The mutex handle, 0 until the first lock.
    private let handle = Atomic<UInt64>(0)

    init(_ name: StaticString, _ initial: State) {
        self.name = name
        self.state = initial
    }

    deinit {
        let h = handle.load(ordering: .acquiring)
        if h != 0 { _ = Hyp.table.pointee.mutex_destroy!(nil, h) }
    }

    func withLock<R, E: Error>(_ body: (inout State) throws(E) -> R) throws(E) -> R {
        let h = mutex()
        let ctx = Hyp.currentOrNil
        let table = Hyp.table
        _ = table.pointee.mutex_lock!(ctx, h)
        defer { _ = table.pointee.mutex_unlock!(ctx, h) }
        return try body(&state)
    }

    private func mutex() -> husk_handle {
        let h = handle.load(ordering: .acquiring)
        if h != 0 { return h }
        var made: husk_handle = 0
        let rc = name.withUTF8Buffer { utf8 -> Int32 in
            // A StaticString need not end in NUL: copy it into a C string.
            var cName = [CChar](repeating: 0, count: utf8.count + 1)
            for i in 0..<utf8.count { cName[i] = CChar(bitPattern: utf8[i]) }
            return Hyp.table.pointee.mutex_create!(nil, cName, &made)
        }
        if rc != 0 { Hyp.panic(nil, "glue: no mutex for \(name): \(Hyp.errorName(rc))") }
        // Two first users race: one handle wins, the loser's mutex goes.
        let (won, current) = handle.compareExchange(expected: 0, desired: made, ordering: .acquiringAndReleasing)
        if won { return made }
        _ = Hyp.table.pointee.mutex_destroy!(nil, made)
        return current
    }
}
