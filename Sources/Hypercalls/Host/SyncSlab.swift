import Glibc
import HostSys
import HypercallABI

/// Storage for every mutex, rwlock and condition variable of the process.
///
/// Handles are `generation << 32 | (index + 1)`. Slots live in chunks that are
/// mapped on demand and never unmapped, so a stale handle always points at
/// readable memory and fails the generation check instead of being undefined
/// behaviour. Lookups take no lock: a chunk pointer is published once with a
/// release store and read with an acquire load.
enum SyncKind: UInt32 {
    case mutex = 1, rwlock = 2, condvar = 3
}

enum SyncSlab {
    static let slotsPerChunk = 1024
    static let maxChunks = 1024
    /// Chunk table: maxChunks pointers, written under `lock`, read lock-free.
    nonisolated(unsafe) static let chunks: UnsafeMutablePointer<UnsafeMutableRawPointer?> = {
        let p = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: maxChunks)
        p.initialize(repeating: nil, count: maxChunks)
        return p
    }()
    /// Guards allocation: free list head, chunk count. Create/destroy are not hot.
    nonisolated(unsafe) static let lock: UnsafeMutablePointer<pthread_mutex_t> = {
        let m = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(m, nil)
        return m
    }()
    nonisolated(unsafe) static var freeHead: UInt32 = 0  // index + 1, 0 = empty
    nonisolated(unsafe) static var chunkCount = 0
    nonisolated(unsafe) static var liveCount = 0

    @inline(__always)
    static func slot(_ handle: husk_handle, _ kind: SyncKind) -> UnsafeMutablePointer<husk_sync_slot>? {
        let low = UInt32(truncatingIfNeeded: handle)
        if low == 0 { return nil }
        let index = Int(low - 1)
        let chunk = index >> 10
        if chunk >= maxChunks { return nil }
        guard let base = husk_atomic_load_ptr(UnsafeRawPointer(chunks + chunk).assumingMemoryBound(to: UnsafeMutableRawPointer?.self))
        else { return nil }
        let s = base.assumingMemoryBound(to: husk_sync_slot.self) + (index & 1023)
        if husk_atomic_load_u32(&s.pointee.gen) != UInt32(truncatingIfNeeded: handle >> 32) { return nil }
        if s.pointee.kind != kind.rawValue { return nil }
        return s
    }

    /// Allocate a slot; nil when the table is full (the ABI's EAGAIN).
    static func allocate(_ kind: SyncKind, ctx: OpaquePointer?, name: UnsafePointer<CChar>?) -> husk_handle? {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        if freeHead == 0 {
            guard chunkCount < maxChunks else { return nil }
            let bytes = slotsPerChunk * MemoryLayout<husk_sync_slot>.stride
            guard let mem = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
                mem != MAP_FAILED
            else { return nil }
            let slots = mem.assumingMemoryBound(to: husk_sync_slot.self)
            let first = UInt32(chunkCount * slotsPerChunk)
            for i in 0..<slotsPerChunk {
                slots[i].gen = 1
                // Chain the new slots into the free list in index order.
                slots[i].next_free = i + 1 < slotsPerChunk ? first + UInt32(i) + 2 : 0
            }
            husk_atomic_store_ptr(UnsafeMutableRawPointer(chunks + chunkCount).assumingMemoryBound(to: UnsafeMutableRawPointer?.self), mem)
            chunkCount += 1
            freeHead = first + 1
        }
        let index = Int(freeHead - 1)
        let s = slotAt(index)
        freeHead = s.pointee.next_free
        s.pointee.word = 0
        s.pointee.waiters = 0
        s.pointee.owner = 0
        s.pointee.next_free = 0
        s.pointee.ctx = UnsafeMutableRawPointer(ctx)
        copyName(name, into: s)
        husk_atomic_store_u32(&s.pointee.kind, kind.rawValue)
        liveCount += 1
        return UInt64(s.pointee.gen) << 32 | UInt64(index + 1)
    }

    static func free(_ handle: husk_handle) {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        let index = Int(UInt32(truncatingIfNeeded: handle) - 1)
        let s = slotAt(index)
        husk_atomic_store_u32(&s.pointee.kind, 0)
        var gen = s.pointee.gen &+ 1
        if gen == 0 { gen = 1 }
        husk_atomic_store_u32(&s.pointee.gen, gen)
        s.pointee.next_free = freeHead
        freeHead = UInt32(index + 1)
        liveCount -= 1
    }

    /// Free every slot `ctx` created and did not destroy (the component
    /// has finished); returns what they were, e.g. "mutex 'rx'", for the
    /// leak report.
    static func reclaim(ownedBy ctx: OpaquePointer) -> [String] {
        let owner = UnsafeMutableRawPointer(ctx)
        var found: [(husk_handle, String)] = []
        pthread_mutex_lock(lock)
        for index in 0..<(chunkCount * slotsPerChunk) {
            let s = slotAt(index)
            guard s.pointee.kind != 0, s.pointee.ctx == owner, let kind = SyncKind(rawValue: s.pointee.kind) else { continue }
            found.append((UInt64(s.pointee.gen) << 32 | UInt64(index + 1), "\(kind) '\(name(of: s))'"))
        }
        pthread_mutex_unlock(lock)
        for (handle, _) in found { free(handle) }
        return found.map(\.1)
    }

    private static func slotAt(_ index: Int) -> UnsafeMutablePointer<husk_sync_slot> {
        chunks[index >> 10]!.assumingMemoryBound(to: husk_sync_slot.self) + (index & 1023)
    }

    private static func copyName(_ name: UnsafePointer<CChar>?, into s: UnsafeMutablePointer<husk_sync_slot>) {
        withUnsafeMutableBytes(of: &s.pointee.name) { dst in
            dst.initializeMemory(as: UInt8.self, repeating: 0)
            guard let name else { return }
            let n = min(strnlen(name, dst.count - 1), dst.count - 1)
            dst.copyMemory(from: UnsafeRawBufferPointer(start: name, count: n))
        }
    }

    static func name(of s: UnsafeMutablePointer<husk_sync_slot>) -> String {
        withUnsafeBytes(of: &s.pointee.name) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}
