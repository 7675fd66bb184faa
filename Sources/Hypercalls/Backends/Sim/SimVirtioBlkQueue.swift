/// Device side of SimVirtioBlk's request queue, on the device's own thread.
/// The thread sleeps until a notify write (kickPending) finds the device
/// live (FEATURES_OK + DRIVER_OK, queue enabled, not NEEDS_RESET), then
/// drains the available ring. It holds no lock while it moves data, and takes
/// the lock to publish each used element, so a reset (epoch bump) can stop it
/// between requests and nothing is published after the reset returned.
extension SimVirtioBlk {
    /// Biggest single request accepted (larger ones complete with IOERR),
    /// so that a hostile chain cannot make the host allocate without bound.
    static let maxRequestBytes = 64 << 20

    private var live: Bool {
        let need = Virtio.featuresOK | Virtio.driverOK
        return regs.status & need == need && regs.status & Virtio.needsReset == 0 && queueEnabled
    }

    func workerLoop() {
        lock.lock()
        while true {
            while !stopping && !(kickPending && live) { lock.wait() }
            if stopping { break }
            kickPending = false
            var q = queue
            let myEpoch = epoch
            workerBusy = true
            lock.unlock()
            drain(&q, myEpoch)
            lock.lock()
            workerBusy = false
            if epoch == myEpoch {
                queue.lastAvail = q.lastAvail
                queue.usedIdx = q.usedIdx
            }
            lock.broadcast()
        }
        lock.unlock()
    }

    private func fail(_ why: String, _ myEpoch: UInt64) {
        lock.withLock { if epoch == myEpoch { deviceErrorLocked(why) } }
    }

    private func drain(_ q: inout SimVirtqueue, _ myEpoch: UInt64) {
        guard let iommu = function.iommu else { return fail("device not attached to an IOMMU", myEpoch) }
        guard function.busMasterEnabled else { return fail("DMA attempted with bus mastering disabled", myEpoch) }
        do throws(SimVirtqueueError) {
            while true {
                let availIdx = try q.availIndex(iommu)
                if availIdx == q.lastAvail { return }
                guard availIdx &- q.lastAvail <= q.size else {
                    throw .malformed("avail idx \(availIdx) is more than \(q.size) ahead of \(q.lastAvail)")
                }
                while q.lastAvail != availIdx {
                    let (head, segments) = try q.popChain(iommu)
                    let written = try serve(segments, iommu)
                    // Publish under the lock: a reset either happened before
                    // (epoch changed: drop the result) or waits for this.
                    try lock.withLock { () throws(SimVirtqueueError) in
                        guard epoch == myEpoch else { return }
                        try q.pushUsed(head: head, written: written, iommu)
                        counters.requests += 1
                    }
                }
                // One interrupt per batch, unless the driver asked for none.
                let quiet = try q.interruptSuppressed(iommu)
                lock.withLock { if epoch == myEpoch && !quiet { raiseQueueInterruptLocked() } }
            }
        } catch {
            fail(error.description, myEpoch)
        }
    }

    // MARK: one request

    /// Serve one request chain: header (16 readable bytes: type u32,
    /// reserved u32, sector u64), data, status byte (last writable byte).
    /// Returns the bytes written into the driver's buffers.
    private func serve(_ segments: [SimSegment], _ iommu: SimIOMMU) throws(SimVirtqueueError) -> UInt32 {
        let readable = segments.filter { !$0.writable }
        let writable = segments.filter { $0.writable }
        let inBytes = readable.reduce(0) { $0 + Int($1.length) }
        let outBytes = writable.reduce(0) { $0 + Int($1.length) }
        guard inBytes >= 16, outBytes >= 1 else {
            throw .malformed("request without header or status byte (\(inBytes) readable, \(outBytes) writable bytes)")
        }
        let header = UnsafeMutableRawBufferPointer.allocate(byteCount: 16, alignment: 8)
        defer { header.deallocate() }
        try gather(readable, skip: 0, into: header, iommu)
        let type = UInt32(littleEndian: header.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
        let sector = UInt64(littleEndian: header.loadUnaligned(fromByteOffset: 8, as: UInt64.self))

        var status = Virtio.blkSOK
        var dataWritten = 0
        let injected = lock.withLock { () -> Bool in
            guard pendingIOErrors > 0 else { return false }
            pendingIOErrors -= 1
            return true
        }
        if injected {
            status = Virtio.blkSIOErr
        } else {
            switch type {
            case Virtio.blkTIn:
                let length = outBytes - 1
                if let offset = checkRange(sector, length) {
                    let data = UnsafeMutableRawBufferPointer.allocate(byteCount: length, alignment: 16)
                    defer { data.deallocate() }
                    if store.read(offset: offset, into: data) {
                        try scatter(writable, from: UnsafeRawBufferPointer(data), iommu)
                        dataWritten = length
                    } else {
                        status = Virtio.blkSIOErr
                    }
                } else {
                    status = Virtio.blkSIOErr
                }
            case Virtio.blkTOut:
                let length = inBytes - 16
                if !store.readOnly, let offset = checkRange(sector, length) {
                    let data = UnsafeMutableRawBufferPointer.allocate(byteCount: length, alignment: 16)
                    defer { data.deallocate() }
                    try gather(readable, skip: 16, into: data, iommu)
                    if !store.write(offset: offset, from: UnsafeRawBufferPointer(data)) { status = Virtio.blkSIOErr }
                } else {
                    status = Virtio.blkSIOErr
                }
            case Virtio.blkTFlush:
                if !store.flush() { status = Virtio.blkSIOErr }
                lock.withLock { counters.flushes += 1 }
            case Virtio.blkTGetID:
                // The serial number: NUL-padded, not NUL-terminated when 20 long.
                let id = UnsafeMutableRawBufferPointer.allocate(byteCount: Virtio.blkIDBytes, alignment: 1)
                defer { id.deallocate() }
                id.initializeMemory(as: UInt8.self, repeating: 0)
                for (i, c) in ("husk-sim-blk " + function.identity.address).utf8.prefix(Virtio.blkIDBytes).enumerated() { id[i] = c }
                let n = min(Virtio.blkIDBytes, outBytes - 1)
                try scatter(writable, from: UnsafeRawBufferPointer(rebasing: id[0..<n]), iommu)
                dataWritten = n
            default:
                status = Virtio.blkSUnsupp
            }
        }
        let statusByte = UnsafeMutableRawBufferPointer.allocate(byteCount: 1, alignment: 1)
        defer { statusByte.deallocate() }
        statusByte[0] = status
        try scatter(writable, skip: outBytes - 1, from: UnsafeRawBufferPointer(statusByte), iommu)
        return UInt32(dataWritten + 1)
    }

    /// Byte offset of a transfer, or nil if it leaves the disk, is not
    /// aligned to the logical block size, or is too big.
    private func checkRange(_ sector: UInt64, _ length: Int) -> UInt64? {
        let (offset, overflow) = sector.multipliedReportingOverflow(by: 512)
        let block = UInt64(store.blockSize)
        guard !overflow, length <= SimVirtioBlk.maxRequestBytes, offset % block == 0,
            UInt64(length) % block == 0, offset <= store.capacity,
            UInt64(length) <= store.capacity - offset
        else { return nil }
        return offset
    }

    /// Copy from the readable buffers, starting `skip` bytes in.
    private func gather(
        _ segs: [SimSegment], skip: Int, into out: UnsafeMutableRawBufferPointer,
        _ iommu: SimIOMMU
    ) throws(SimVirtqueueError) {
        var skip = skip, done = 0
        for s in segs where done < out.count {
            let len = Int(s.length)
            if skip >= len {
                skip -= len
                continue
            }
            let n = min(len - skip, out.count - done)
            do { try iommu.read(bus: s.bus &+ UInt64(skip), into: UnsafeMutableRawBufferPointer(rebasing: out[done..<done + n])) } catch {
                throw .dma(error)
            }
            done += n
            skip = 0
        }
    }

    /// Copy into the writable buffers, starting `skip` bytes in.
    private func scatter(
        _ segs: [SimSegment], skip: Int = 0, from src: UnsafeRawBufferPointer,
        _ iommu: SimIOMMU
    ) throws(SimVirtqueueError) {
        var skip = skip, done = 0
        for s in segs where done < src.count {
            let len = Int(s.length)
            if skip >= len {
                skip -= len
                continue
            }
            let n = min(len - skip, src.count - done)
            do { try iommu.write(bus: s.bus &+ UInt64(skip), from: UnsafeRawBufferPointer(rebasing: src[done..<done + n])) } catch {
                throw .dma(error)
            }
            done += n
            skip = 0
        }
    }
}
