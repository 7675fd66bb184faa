/// Split-virtqueue constants (VIRTIO 1.x, 2.7).
enum Virtq {
    static let descNext: UInt16 = 1, descWrite: UInt16 = 2, descIndirect: UInt16 = 4
    static let availNoInterrupt: UInt16 = 1
    static let descSize: UInt64 = 16, usedElemSize: UInt64 = 8
}

/// One buffer of a descriptor chain, as the device sees it.
struct SimSegment {
    var bus: UInt64
    var length: UInt32
    var writable: Bool
}

/// Why the device gave up on a queue. Both are device errors in the virtio
/// sense (DEVICE_NEEDS_RESET), never host failures.
enum SimVirtqueueError: Error, CustomStringConvertible {
    case dma(SimDMAFault)
    case malformed(String)
    var description: String {
        switch self {
        case .dma(let f): return f.description
        case .malformed(let m): return m
        }
    }
}

/// The device side of one split virtqueue: ring addresses the driver
/// programmed plus the device's two private indices. Used only by the
/// device's thread (copied in and out under the device lock).
struct SimVirtqueue {
    var size: UInt16 = 0
    var desc: UInt64 = 0, avail: UInt64 = 0, used: UInt64 = 0
    /// Next available-ring slot to consume (free-running, wraps at 2^16).
    var lastAvail: UInt16 = 0
    /// Next used index to publish (free-running, wraps at 2^16).
    var usedIdx: UInt16 = 0

    /// Ring layout check done when the driver enables the queue.
    func validate() -> String? {
        guard size > 0, size & (size - 1) == 0 else { return "queue size \(size) is not a power of two" }
        if desc % 16 != 0 { return "descriptor table 0x\(String(desc, radix: 16)) not 16-byte aligned" }
        if avail % 2 != 0 { return "available ring 0x\(String(avail, radix: 16)) not 2-byte aligned" }
        if used % 4 != 0 { return "used ring 0x\(String(used, radix: 16)) not 4-byte aligned" }
        return nil
    }

    private func dma<T>(_ body: () throws(SimDMAFault) -> T) throws(SimVirtqueueError) -> T {
        do { return try body() } catch { throw .dma(error) }
    }

    /// avail->idx as the driver last published it.
    func availIndex(_ iommu: SimIOMMU) throws(SimVirtqueueError) -> UInt16 {
        try dma { () throws(SimDMAFault) in try iommu.loadAcquire16(bus: avail + 2) }
    }

    /// How many chains the driver has made available beyond lastAvail. More
    /// than the queue size can only come from a corrupt avail->idx.
    func pendingChains(_ iommu: SimIOMMU) throws(SimVirtqueueError) -> UInt16 {
        let availIdx = try availIndex(iommu)
        let pending = availIdx &- lastAvail
        guard pending <= size else {
            throw .malformed("avail idx \(availIdx) is more than \(size) ahead of \(lastAvail)")
        }
        return pending
    }

    /// Has the driver asked not to be interrupted (VIRTQ_AVAIL_F_NO_INTERRUPT)?
    func interruptSuppressed(_ iommu: SimIOMMU) throws(SimVirtqueueError) -> Bool {
        try dma { () throws(SimDMAFault) in try iommu.load(UInt16.self, bus: avail) } & Virtq.availNoInterrupt != 0
    }

    /// Take the next available chain: its head and its buffers, readable ones
    /// first. Refuses indices out of range, loops and over-long chains,
    /// INDIRECT (not offered) and readable-after-writable buffers.
    mutating func popChain(_ iommu: SimIOMMU) throws(SimVirtqueueError) -> (head: UInt16, segments: [SimSegment]) {
        let slot = UInt64(lastAvail & (size - 1))
        let head = try dma { () throws(SimDMAFault) in try iommu.load(UInt16.self, bus: avail + 4 + 2 * slot) }
        lastAvail &+= 1
        guard head < size else { throw .malformed("available ring names descriptor \(head) of \(size)") }
        var segments: [SimSegment] = []
        var index = head
        var sawWritable = false
        while true {
            guard segments.count < Int(size) else { throw .malformed("descriptor chain from \(head) loops or exceeds the queue size") }
            let base = desc + UInt64(index) * Virtq.descSize
            let (addr, len, flags, next) = try dma { () throws(SimDMAFault) in
                (
                    try iommu.load(UInt64.self, bus: base), try iommu.load(UInt32.self, bus: base + 8),
                    try iommu.load(UInt16.self, bus: base + 12), try iommu.load(UInt16.self, bus: base + 14)
                )
            }
            if flags & Virtq.descIndirect != 0 { throw .malformed("INDIRECT descriptor \(index) but the feature was not offered") }
            let writable = flags & Virtq.descWrite != 0
            if sawWritable && !writable { throw .malformed("readable descriptor \(index) after a writable one") }
            sawWritable = sawWritable || writable
            segments.append(SimSegment(bus: addr, length: len, writable: writable))
            guard flags & Virtq.descNext != 0 else { break }
            guard next < size else { throw .malformed("descriptor \(index) chains to \(next) of \(size)") }
            index = next
        }
        return (head, segments)
    }

    /// Return a chain to the driver: element first, then the index with
    /// release ordering, so the driver never sees an index ahead of its entry.
    mutating func pushUsed(head: UInt16, written: UInt32, _ iommu: SimIOMMU) throws(SimVirtqueueError) {
        try addUsed(head: head, written: written, iommu)
        try publishUsed(iommu)
    }

    /// Write a used element without publishing it: a frame spread over
    /// several buffers (VIRTIO_NET_F_MRG_RXBUF) must appear to the driver
    /// all at once, so its elements are added first and published together.
    mutating func addUsed(head: UInt16, written: UInt32, _ iommu: SimIOMMU) throws(SimVirtqueueError) {
        let slot = UInt64(usedIdx & (size - 1))
        let elem = used + 4 + Virtq.usedElemSize * slot
        try dma { () throws(SimDMAFault) in
            try iommu.store(UInt32(head), bus: elem)
            try iommu.store(written, bus: elem + 4)
        }
        usedIdx &+= 1
    }

    /// Publish used->idx (release: the elements before it are visible first).
    func publishUsed(_ iommu: SimIOMMU) throws(SimVirtqueueError) {
        let idx = usedIdx
        try dma { () throws(SimDMAFault) in try iommu.storeRelease16(idx, bus: used + 2) }
    }
}

/// Copies between host memory and the buffers of one chain, through the
/// IOMMU: a buffer outside every DMA mapping is a device error, never a
/// host crash.
extension [SimSegment] {
    /// Total bytes of the buffers.
    var byteCount: Int { reduce(0) { $0 + Int($1.length) } }

    /// Copy out of the buffers into `out`, starting `skip` bytes in.
    func gather(skip: Int = 0, into out: UnsafeMutableRawBufferPointer, _ iommu: SimIOMMU) throws(SimVirtqueueError) {
        var skip = skip, done = 0
        for s in self where done < out.count {
            let len = Int(s.length)
            if skip >= len {
                skip -= len
                continue
            }
            let n = Swift.min(len - skip, out.count - done)
            do throws(SimDMAFault) {
                try iommu.read(bus: s.bus &+ UInt64(skip), into: UnsafeMutableRawBufferPointer(rebasing: out[done..<done + n]))
            } catch { throw .dma(error) }
            done += n
            skip = 0
        }
    }

    /// Copy `src` into the buffers, starting `skip` bytes in.
    func scatter(skip: Int = 0, from src: UnsafeRawBufferPointer, _ iommu: SimIOMMU) throws(SimVirtqueueError) {
        var skip = skip, done = 0
        for s in self where done < src.count {
            let len = Int(s.length)
            if skip >= len {
                skip -= len
                continue
            }
            let n = Swift.min(len - skip, src.count - done)
            do throws(SimDMAFault) {
                try iommu.write(bus: s.bus &+ UInt64(skip), from: UnsafeRawBufferPointer(rebasing: src[done..<done + n]))
            } catch { throw .dma(error) }
            done += n
            skip = 0
        }
    }
}
