import GlueAPI

/// The glue's per-thread values (husk/glue_thread_slots.h): C thread-locals
/// rather than Swift task-locals, which need the hosted Swift runtime.
/// A value is an object; the slot holds a retained reference for as long as
/// `with` runs, and the previous value comes back after, so nested uses on
/// one thread behave as task-locals did.
enum ThreadSlot: UInt32 {
    case acting = 0  // HUSK_GLUE_SLOT_ACTING
    case caller = 1  // HUSK_GLUE_SLOT_CALLER

    static func with<T: AnyObject, R, E: Error>(_ slot: ThreadSlot, _ value: T, _ body: () throws(E) -> R) throws(E) -> R {
        let previous = husk_glue_slot_get(slot.rawValue)
        let retained = Unmanaged.passRetained(value)
        husk_glue_slot_set(slot.rawValue, retained.toOpaque())
        defer {
            husk_glue_slot_set(slot.rawValue, previous)
            retained.release()
        }
        return try body()
    }

    /// The calling thread's value, if a `with` for this slot is running on it.
    static func current<T: AnyObject>(_ slot: ThreadSlot, as type: T.Type) -> T? {
        guard let raw = husk_glue_slot_get(slot.rawValue) else { return nil }
        return Unmanaged<T>.fromOpaque(raw).takeUnretainedValue()
    }
}
