import Glibc
import HostSys
import HypercallABI
import Platform
import PlatformC

typealias ThreadRecord = UnsafeMutablePointer<husk_thread_rec>

/// Every thread that calls into the host has a record (husk_thread_rec) found
/// through a C thread-local pointer: its owner id for lock words, its
/// cancellation flag, what it waits on, the component it works for and the
/// component's TLS slot. Component threads get one at creation, host threads
/// on first use. Records are freed when their thread ends (or, for joinable
/// component threads, when joined).
public enum HypercallThreads {
    static let handleTag: UInt64 = 0x5448 << 48  // "TH": thread handles
    private static let registry = Locked<State>(State())

    struct State {
        var records: [UInt64: ThreadRecord] = [:]
        var joining: Set<UInt64> = []
        var nextID: UInt32 = 1
        var nextSerial: UInt64 = 1
        var live = 0
    }

    /// pthread key whose destructor frees records of ending threads.
    private static let key: pthread_key_t = {
        var k = pthread_key_t()
        pthread_key_create(&k) { raw in
            guard let raw else { return }
            HypercallThreads.threadEnded(raw.assumingMemoryBound(to: husk_thread_rec.self))
        }
        return k
    }()

    /// The calling thread's record, created on first use.
    @inline(__always)
    static func current() -> ThreadRecord {
        if let r = husk_thread_record_get() { return r.assumingMemoryBound(to: husk_thread_rec.self) }
        return adoptCurrentThread()
    }

    @inline(never)
    private static func adoptCurrentThread() -> ThreadRecord {
        let rec = newRecord(flags: 0)
        rec.pointee.pthread = pthread_self()
        bind(rec)
        return rec
    }

    private static func newRecord(flags: UInt32) -> ThreadRecord {
        let rec = ThreadRecord.allocate(capacity: 1)
        memset(rec, 0, MemoryLayout<husk_thread_rec>.stride)
        rec.pointee.flags = flags
        registry.withLock { s in
            rec.pointee.id = s.nextID
            s.nextID = s.nextID == 0x7fff_ffff ? 1 : s.nextID + 1
            rec.pointee.handle = handleTag | s.nextSerial
            s.nextSerial += 1
            s.records[rec.pointee.handle] = rec
            s.live += 1
        }
        return rec
    }

    private static func bind(_ rec: ThreadRecord) {
        husk_thread_record_set(UnsafeMutableRawPointer(rec))
        pthread_setspecific(key, UnsafeRawPointer(rec))
    }

    private static func threadEnded(_ rec: ThreadRecord) {
        husk_thread_record_set(nil)
        // A joinable component thread's record outlives it until thread_join.
        if rec.pointee.flags & HUSK_REC_JOINABLE != 0 { return }
        release(rec)
    }

    private static func release(_ rec: ThreadRecord) {
        registry.withLock { s in
            s.records.removeValue(forKey: rec.pointee.handle)
            s.live -= 1
        }
        rec.deallocate()
    }

    // MARK: component-visible operations

    /// The component the calling thread works for (raw husk_ctx pointer).
    static var currentContext: UnsafeMutableRawPointer? {
        get { current().pointee.ctx }
    }

    /// Run `body` on the calling thread as `ctx`'s thread (init, run, fini,
    /// interrupt handlers, I/O completions), restoring what was there before.
    public static func acting<T>(as ctx: OpaquePointer?, _ body: () throws -> T) rethrows -> T {
        let rec = current()
        let saved = rec.pointee.ctx
        rec.pointee.ctx = UnsafeMutableRawPointer(ctx)
        defer { rec.pointee.ctx = saved }
        return try body()
    }

    /// - hostThread: a thread the host runs component code on (a component's
    ///   `run`): joinable and cancellable, but thread_exit on it panics.
    public static func create(
        ctx: OpaquePointer?, name: UnsafePointer<CChar>?, fn: @escaping @convention(c) (UnsafeMutableRawPointer?) -> Void,
        arg: UnsafeMutableRawPointer?, joinable: Bool, hostThread: Bool = false
    ) -> Result<husk_handle, HypError> {
        let rec = newRecord(flags: (hostThread ? 0 : HUSK_REC_COMPONENT_THREAD) | (joinable ? HUSK_REC_JOINABLE : 0))
        rec.pointee.fn = fn
        rec.pointee.arg = arg
        rec.pointee.ctx = UnsafeMutableRawPointer(ctx)
        withUnsafeMutableBytes(of: &rec.pointee.name) { dst in
            let src =
                name.map { UnsafeRawBufferPointer(start: $0, count: min(strlen($0), 15)) } ?? UnsafeRawBufferPointer(start: nil, count: 0)
            if src.count > 0 { dst.copyMemory(from: src) }
        }
        var attr = pthread_attr_t()
        pthread_attr_init(&attr)
        defer { pthread_attr_destroy(&attr) }
        if !joinable { pthread_attr_setdetachstate(&attr, Int32(PTHREAD_CREATE_DETACHED)) }
        var tid = pthread_t()
        let handle = rec.pointee.handle
        let r = pthread_create(
            &tid, &attr,
            { raw in
                let rec = raw!.assumingMemoryBound(to: husk_thread_rec.self)
                HypercallThreads.bind(rec)
                withUnsafeBytes(of: &rec.pointee.name) { buf in
                    if buf[0] != 0 { _ = husk_set_thread_name(buf.baseAddress!.assumingMemoryBound(to: CChar.self)) }
                }
                rec.pointee.fn(rec.pointee.arg)
                return nil
            }, UnsafeMutableRawPointer(rec))
        if r != 0 {
            release(rec)
            return .failure(HypError(HUSK_EAGAIN, "pthread_create: \(String(cString: strerror(r)))"))
        }
        // Only join reads rec.pthread, and only after create has returned.
        rec.pointee.pthread = tid
        return .success(handle)
    }

    public static func join(_ handle: husk_handle) -> Int32 {
        let me = current()
        let found: Result<ThreadRecord, HypError> = registry.withLock { s in
            guard let rec = s.records[handle] else { return .failure(.badf) }
            if rec == me { return .failure(.deadlk) }
            guard rec.pointee.flags & HUSK_REC_JOINABLE != 0, !s.joining.contains(handle) else { return .failure(.badf) }
            s.joining.insert(handle)
            return .success(rec)
        }
        switch found {
        case .failure(let e): return e.code
        case .success(let rec):
            pthread_join(rec.pointee.pthread, nil)
            registry.withLock { _ = $0.joining.remove(handle) }
            release(rec)
            return HUSK_OK
        }
    }

    static func exitCurrent(ctx: OpaquePointer?) -> Never {
        let rec = current()
        if rec.pointee.flags & HUSK_REC_COMPONENT_THREAD == 0 {
            HostPanic.panic(ctx: ctx, "thread_exit called on a host thread (only threads made by thread_create may exit)")
        }
        pthread_exit(nil)
    }

    /// Set a thread's cancellation flag and wake whatever it waits on.
    public static func cancel(_ handle: husk_handle) -> Int32 {
        registry.withLock { s in
            guard let rec = s.records[handle] else { return HUSK_EBADF }
            wake(rec)
            return HUSK_OK
        }
    }

    /// Must run with the registry locked or on the record's own thread, so
    /// the record cannot be freed underneath.
    private static func wake(_ rec: ThreadRecord) {
        husk_atomic_store_u32(rec.cancelWord, 1)
        if let ww = husk_atomic_load_ptr(rec.waitWordSlot) {
            // Waits are sequence-checked futexes: bumping the word makes a
            // thread about to sleep return at once, and the wake gets one
            // already asleep. Other waiters on the word see a spurious wake-up,
            // which condition variables allow.
            let w = ww.assumingMemoryBound(to: UInt32.self)
            _ = husk_atomic_fetch_add_u32(w, 1)
            _ = husk_futex_wake(w, Int32.max)
        }
    }

    /// The calling thread's handle (valid for cancel), for host code such as
    /// an RPC server's workers.
    public static var currentHandle: husk_handle { current().pointee.handle }

    /// Whether the calling thread's cancellation flag is set.
    public static var currentCancellationPending: Bool { current().cancelPending }

    /// Clear the calling thread's cancellation flag (a worker between calls).
    public static func clearCurrentCancellation() { husk_atomic_store_u32(current().cancelWord, 0) }

    /// Number of thread records alive (for leak checks in tests).
    public static var liveCount: Int { registry.withLock { $0.live } }
}

extension UnsafeMutablePointer where Pointee == husk_thread_rec {
    /// Publish the futex word this thread is about to wait on (nil when done).
    @inline(__always)
    var waitWordSlot: UnsafeMutablePointer<UnsafeMutableRawPointer?> {
        UnsafeMutableRawPointer(self).advanced(by: MemoryLayout<husk_thread_rec>.offset(of: \husk_thread_rec.wait_word)!)
            .assumingMemoryBound(to: UnsafeMutableRawPointer?.self)
    }
    @inline(__always)
    var cancelWord: UnsafeMutablePointer<UInt32> {
        UnsafeMutableRawPointer(self).advanced(by: MemoryLayout<husk_thread_rec>.offset(of: \husk_thread_rec.cancel)!)
            .assumingMemoryBound(to: UInt32.self)
    }
    @inline(__always)
    var sleepWord: UnsafeMutablePointer<UInt32> {
        UnsafeMutableRawPointer(self).advanced(by: MemoryLayout<husk_thread_rec>.offset(of: \husk_thread_rec.sleep_word)!)
            .assumingMemoryBound(to: UInt32.self)
    }
    /// Publish the futex word this thread is about to wait on (nil when done).
    @inline(__always)
    func setWaitWord(_ w: UnsafeMutablePointer<UInt32>?) {
        husk_atomic_store_ptr(waitWordSlot, w.map(UnsafeMutableRawPointer.init))
    }
    @inline(__always)
    var cancelPending: Bool { husk_atomic_load_u32(cancelWord) != 0 }
}
