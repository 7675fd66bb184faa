import Hypercalls

/// Transmit side of SimVirtioNet, on the device thread (SimVirtioDevice+Worker.swift
/// drains transmitq1 and calls `serve` for each chain, without the lock).
/// Each chain is a virtio_net_hdr and one frame, device-readable only; the
/// device writes nothing back (used len 0).
extension SimVirtioNet {
    func transmit(_ segments: [SimSegment], _ iommu: SimIOMMU) throws(SimVirtqueueError) -> UInt32 {
        guard segments.allSatisfy({ !$0.writable }) else {
            throw .malformed("transmit chain with a device-writable buffer")
        }
        let total = segments.byteCount
        guard total >= VirtioNet.hdrBytes else {
            throw .malformed("transmit chain of \(total) bytes is shorter than the \(VirtioNet.hdrBytes)-byte virtio_net_hdr")
        }
        let frameLength = total - VirtioNet.hdrBytes
        // Checked before copying, so a hostile chain cannot make the host
        // allocate without bound.
        guard frameLength >= VirtioNet.ethHeaderBytes, frameLength <= maxFrameLength else {
            count { $0.txErrors += 1 }
            return 0
        }
        let header = UnsafeMutableRawBufferPointer.allocate(byteCount: VirtioNet.hdrBytes, alignment: 8)
        defer { header.deallocate() }
        try segments.gather(into: header, iommu)
        // No checksum or segmentation offload was offered: a driver that asks
        // for one would send a frame the wire cannot carry as it is.
        guard header[0] == 0, header[1] == VirtioNet.gsoNone else {
            count { $0.txErrors += 1 }
            return 0
        }
        let frame = UnsafeMutableRawBufferPointer.allocate(byteCount: frameLength, alignment: 16)
        defer { frame.deallocate() }
        try segments.gather(skip: VirtioNet.hdrBytes, into: frame, iommu)

        let (up, medium) = lock.withLock { (linkUpState, self.medium) }
        guard up else {
            count { $0.txLinkDown += 1 }
            return 0
        }
        switch medium?.carry(UnsafeRawBufferPointer(frame), from: self) ?? .noPeer {
        case .delivered:
            count {
                $0.txFrames += 1
                $0.txBytes += frameLength
            }
        case .noPeer:
            count { $0.txNoPeer += 1 }
        }
        return 0
    }

    private func count(_ update: (inout SimVirtioNetStats) -> Void) {
        lock.withLock { update(&netCounters) }
    }
}
