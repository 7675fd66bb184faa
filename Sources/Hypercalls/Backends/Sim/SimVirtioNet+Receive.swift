import Hypercalls

/// Receive side of SimVirtioNet. A frame is placed into receiveq1 on the
/// thread that delivers it (the peer NIC's device thread, the TAP reader, a
/// test), under this device's lock: the copy is short, and the lock keeps it
/// ordered against resets and register accesses. It never waits for the
/// driver: without a buffer for it the frame is dropped and counted.
extension SimVirtioNet {
    private enum Placement {
        case placed(buffers: Int)
        case noBuffers
        case bufferTooSmall
    }

    /// A frame from the wire, without virtio_net_hdr.
    func receiveFromWire(_ frame: UnsafeRawBufferPointer) {
        lock.withLock { receiveLocked(frame) }
    }

    private func receiveLocked(_ frame: UnsafeRawBufferPointer) {
        let rx = VirtioNet.receiveQueue
        guard linkUpState, isLive(queue: rx) else {
            netCounters.rxNotReady += 1
            return
        }
        guard frame.count <= maxFrameLength else {
            netCounters.rxOversize += 1
            return
        }
        guard let iommu = function.iommu else { return deviceErrorLocked("device not attached to an IOMMU") }
        guard function.busMasterEnabled else { return deviceErrorLocked("DMA attempted with bus mastering disabled") }
        // Header and frame as one stream: with MRG_RXBUF it is cut across
        // buffers at arbitrary points.
        let stream = UnsafeMutableRawBufferPointer.allocate(byteCount: VirtioNet.hdrBytes + frame.count, alignment: 16)
        defer { stream.deallocate() }
        stream.initializeMemory(as: UInt8.self, repeating: 0)
        if let base = frame.baseAddress { (stream.baseAddress! + VirtioNet.hdrBytes).copyMemory(from: base, byteCount: frame.count) }
        var ring = queues[rx].ring
        do throws(SimVirtqueueError) {
            let placement =
                negotiated(VirtioNet.fMrgRxbuf)
                ? try placeMerged(stream, &ring, iommu) : try placeWhole(stream, &ring, iommu)
            switch placement {
            case .noBuffers:
                netCounters.rxNoBuffers += 1
            case .bufferTooSmall:
                netCounters.rxBufferTooSmall += 1
            case .placed(let buffers):
                queues[rx].ring = ring
                completions[rx] += buffers
                netCounters.rxFrames += 1
                netCounters.rxBytes += frame.count
                if try !ring.interruptSuppressed(iommu) { raiseQueueInterruptLocked(rx) }
            }
        } catch {
            deviceErrorLocked(error.description)
        }
    }

    /// Without MRG_RXBUF: one chain holds header and frame (num_buffers 1).
    private func placeWhole(
        _ stream: UnsafeMutableRawBufferPointer, _ ring: inout SimVirtqueue, _ iommu: SimIOMMU
    ) throws(SimVirtqueueError) -> Placement {
        guard try ring.pendingChains(iommu) > 0 else { return .noBuffers }
        let (head, segments) = try ring.popChain(iommu)
        try requireWritable(segments)
        guard segments.byteCount >= stream.count else { return .bufferTooSmall }  // ring not saved: stays posted
        stream.storeBytes(of: UInt16(1).littleEndian, toByteOffset: VirtioNet.hdrNumBuffersOffset, as: UInt16.self)
        try segments.scatter(from: UnsafeRawBufferPointer(stream), iommu)
        try ring.pushUsed(head: head, written: UInt32(stream.count), iommu)
        return .placed(buffers: 1)
    }

    /// With MRG_RXBUF: as many chains as the stream needs, filled in order;
    /// num_buffers says how many. All their used elements are published
    /// together, or none are taken if the ring runs out first.
    private func placeMerged(
        _ stream: UnsafeMutableRawBufferPointer, _ ring: inout SimVirtqueue, _ iommu: SimIOMMU
    ) throws(SimVirtqueueError) -> Placement {
        var pending = try ring.pendingChains(iommu)
        var chains: [(head: UInt16, segments: [SimSegment], bytes: Int)] = []
        var remaining = stream.count
        while remaining > 0 {
            guard pending > 0 else { return .noBuffers }  // ring not saved: nothing taken
            let (head, segments) = try ring.popChain(iommu)
            pending -= 1
            try requireWritable(segments)
            let capacity = segments.byteCount
            if chains.isEmpty && capacity < VirtioNet.hdrBytes {
                throw .malformed("receive buffer of \(capacity) bytes cannot hold the \(VirtioNet.hdrBytes)-byte virtio_net_hdr")
            }
            let bytes = min(capacity, remaining)
            chains.append((head, segments, bytes))
            remaining -= bytes
        }
        stream.storeBytes(of: UInt16(chains.count).littleEndian, toByteOffset: VirtioNet.hdrNumBuffersOffset, as: UInt16.self)
        var offset = 0
        for c in chains {
            try c.segments.scatter(from: UnsafeRawBufferPointer(rebasing: stream[offset..<offset + c.bytes]), iommu)
            try ring.addUsed(head: c.head, written: UInt32(c.bytes), iommu)
            offset += c.bytes
        }
        try ring.publishUsed(iommu)
        return .placed(buffers: chains.count)
    }

    private func requireWritable(_ segments: [SimSegment]) throws(SimVirtqueueError) {
        guard segments.allSatisfy(\.writable) else { throw .malformed("receive chain with a device-readable buffer") }
    }
}
