/// Device side of SimVirtioBlk's request queue, on the device's own thread
/// (SimVirtioDevice+Worker.swift drains the ring and calls `serve` for each
/// chain, without the lock).
extension SimVirtioBlk {
    /// Biggest single request accepted (larger ones complete with IOERR),
    /// so that a hostile chain cannot make the host allocate without bound.
    static let maxRequestBytes = 64 << 20

    // MARK: one request

    /// Serve one request chain: header (16 readable bytes: type u32,
    /// reserved u32, sector u64), data, status byte (last writable byte).
    /// Returns the bytes written into the driver's buffers.
    func serveRequest(_ segments: [SimSegment], _ iommu: SimIOMMU) throws(SimVirtqueueError) -> UInt32 {
        let readable = segments.filter { !$0.writable }
        let writable = segments.filter { $0.writable }
        let inBytes = readable.byteCount
        let outBytes = writable.byteCount
        guard inBytes >= 16, outBytes >= 1 else {
            throw .malformed("request without header or status byte (\(inBytes) readable, \(outBytes) writable bytes)")
        }
        let header = UnsafeMutableRawBufferPointer.allocate(byteCount: 16, alignment: 8)
        defer { header.deallocate() }
        try readable.gather(into: header, iommu)
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
                        try writable.scatter(from: UnsafeRawBufferPointer(data), iommu)
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
                    try readable.gather(skip: 16, into: data, iommu)
                    if !store.write(offset: offset, from: UnsafeRawBufferPointer(data)) { status = Virtio.blkSIOErr }
                } else {
                    status = Virtio.blkSIOErr
                }
            case Virtio.blkTFlush:
                if !store.flush() { status = Virtio.blkSIOErr }
                lock.withLock { flushCount += 1 }
            case Virtio.blkTGetID:
                // The serial number: NUL-padded, not NUL-terminated when 20 long.
                let id = UnsafeMutableRawBufferPointer.allocate(byteCount: Virtio.blkIDBytes, alignment: 1)
                defer { id.deallocate() }
                id.initializeMemory(as: UInt8.self, repeating: 0)
                for (i, c) in ("husk-sim-blk " + function.identity.address).utf8.prefix(Virtio.blkIDBytes).enumerated() { id[i] = c }
                let n = min(Virtio.blkIDBytes, outBytes - 1)
                try writable.scatter(from: UnsafeRawBufferPointer(rebasing: id[0..<n]), iommu)
                dataWritten = n
            default:
                status = Virtio.blkSUnsupp
            }
        }
        let statusByte = UnsafeMutableRawBufferPointer.allocate(byteCount: 1, alignment: 1)
        defer { statusByte.deallocate() }
        statusByte[0] = status
        try writable.scatter(skip: outBytes - 1, from: UnsafeRawBufferPointer(statusByte), iommu)
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
}
