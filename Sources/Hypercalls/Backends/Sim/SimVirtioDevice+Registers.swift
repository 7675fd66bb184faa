import Hypercalls

/// Register side of a sim virtio device: BAR1 (MSI-X table/PBA) and BAR4
/// (common cfg, ISR, device cfg, notify). Accesses of an unexpected width or
/// offset read 0 and are ignored on write, as QEMU does.
extension SimVirtioDevice {
    public func barRead(bar: Int, offset: UInt64, width: UInt32) throws(HypError) -> UInt64 {
        try function.checkBAR(bar, offset, width)
        let w = Int(width)
        if bar == SimVirtioLayout.msixBAR {
            return offset < UInt64(SimVirtioLayout.pbaOffset) ? function.msixRead(offset: Int(offset), width: w) : 0
        }
        return lock.withLock {
            let rel = offset & 0xFFF
            switch offset & ~0xFFF {
            case SimVirtioLayout.common: return commonRead(rel, w)
            case SimVirtioLayout.isr:
                guard rel == 0 else { return 0 }
                // Reading ISR status clears it and deasserts INTx (4.1.4.5).
                let v = isr
                isr = 0
                function.setINTxLevel(false)
                return UInt64(v)
            case SimVirtioLayout.device:
                let bytes = deviceConfigLocked()
                var v: UInt64 = 0
                for i in 0..<w where Int(rel) + i < bytes.count { v |= UInt64(bytes[Int(rel) + i]) << (8 * i) }
                return v
            default: return 0
            }
        }
    }

    public func barWrite(bar: Int, offset: UInt64, width: UInt32, value: UInt64) throws(HypError) {
        try function.checkBAR(bar, offset, width)
        let w = Int(width)
        if bar == SimVirtioLayout.msixBAR {
            if offset < UInt64(SimVirtioLayout.pbaOffset) { function.msixWrite(offset: Int(offset), width: w, value: value) }
            return
        }
        lock.withLock {
            let rel = offset & 0xFFF
            switch offset & ~0xFFF {
            case SimVirtioLayout.common: commonWrite(rel, w, value)
            case SimVirtioLayout.notify:
                // The queue is named by the address (its queue_notify_off
                // times the multiplier), as QEMU does; the value is the same
                // index and is not needed.
                let index = Int(rel / UInt64(SimVirtioLayout.notifyMultiplier))
                guard index < queues.count else { return }
                if drainsOnNotify(queue: index) {
                    queues[index].kicked = true
                    lock.broadcast()
                }
            default: break  // ISR and device config are read-only
            }
        }
    }

    // MARK: common configuration (caller holds lock)

    private var selectedQueue: Int? {
        let q = Int(regs.queueSelect)
        return q < queues.count ? q : nil
    }

    /// 64-bit queue address fields: one 8-byte access or two 4-byte halves.
    private func half(_ value: UInt64, _ rel: UInt64, _ base: UInt64, _ w: Int) -> UInt64? {
        if rel == base && w == 8 { return value }
        if rel == base && w == 4 { return value & 0xFFFF_FFFF }
        if rel == base + 4 && w == 4 { return value >> 32 }
        return nil
    }

    private func merge(_ old: UInt64, _ rel: UInt64, _ base: UInt64, _ w: Int, _ v: UInt64) -> UInt64? {
        if rel == base && w == 8 { return v }
        if rel == base && w == 4 { return (old & ~0xFFFF_FFFF) | (v & 0xFFFF_FFFF) }
        if rel == base + 4 && w == 4 { return (old & 0xFFFF_FFFF) | (v << 32) }
        return nil
    }

    func commonRead(_ rel: UInt64, _ w: Int) -> UInt64 {
        let q = selectedQueue
        switch (rel, w) {
        case (0x00, 4): return UInt64(regs.deviceFeatureSelect)
        case (0x04, 4): return featureWord(offered, regs.deviceFeatureSelect)
        case (0x08, 4): return UInt64(regs.driverFeatureSelect)
        case (0x0C, 4): return featureWord(regs.driverFeatures, regs.driverFeatureSelect)
        case (0x10, 2): return UInt64(regs.msixConfig)
        case (0x12, 2): return UInt64(queues.count)
        case (0x14, 1): return UInt64(regs.status)
        case (0x15, 1): return UInt64(configGeneration)
        case (0x16, 2): return UInt64(regs.queueSelect)
        case (0x18, 2): return q.map { UInt64(queues[$0].ring.size) } ?? 0
        case (0x1A, 2): return q.map { UInt64(queues[$0].vector) } ?? UInt64(Virtio.noVector)
        case (0x1C, 2): return q.map { queues[$0].enabled ? 1 : 0 } ?? 0
        case (0x1E, 2): return q.map { UInt64($0) } ?? 0  // queue_notify_off
        default:
            guard let q else { return 0 }
            let ring = queues[q].ring
            return half(ring.desc, rel, 0x20, w) ?? half(ring.avail, rel, 0x28, w) ?? half(ring.used, rel, 0x30, w) ?? 0
        }
    }

    private func featureWord(_ bits: UInt64, _ select: UInt32) -> UInt64 {
        switch select {
        case 0: return bits & 0xFFFF_FFFF
        case 1: return bits >> 32
        default: return 0
        }
    }

    func commonWrite(_ rel: UInt64, _ w: Int, _ v: UInt64) {
        let q = selectedQueue
        let vector = UInt16(truncatingIfNeeded: v)
        let acceptedVector = Int(vector) < function.msixVectors ? vector : Virtio.noVector
        switch (rel, w) {
        case (0x00, 4): regs.deviceFeatureSelect = UInt32(truncatingIfNeeded: v)
        case (0x08, 4): regs.driverFeatureSelect = UInt32(truncatingIfNeeded: v)
        case (0x0C, 4):
            // Features are fixed once FEATURES_OK was accepted.
            guard regs.status & Virtio.featuresOK == 0 else { return }
            let word = v & 0xFFFF_FFFF
            switch regs.driverFeatureSelect {
            case 0: regs.driverFeatures = (regs.driverFeatures & ~0xFFFF_FFFF) | word
            case 1: regs.driverFeatures = (regs.driverFeatures & 0xFFFF_FFFF) | (word << 32)
            default: break
            }
        case (0x10, 2): regs.msixConfig = acceptedVector
        case (0x14, 1): writeStatus(UInt8(truncatingIfNeeded: v))
        case (0x16, 2): regs.queueSelect = vector
        case (0x18, 2):
            // The driver may shrink the queue to a power of two; other values
            // are ignored (as QEMU ignores them).
            let size = UInt16(truncatingIfNeeded: v)
            if let q, !queues[q].enabled, size > 0, size <= shape.queueMax, size & (size - 1) == 0 { queues[q].ring.size = size }
        case (0x1A, 2): if let q { queues[q].vector = acceptedVector }
        case (0x1C, 2): if let q, v == 1, !queues[q].enabled { enableQueue(q) }
        default:
            guard let q, !queues[q].enabled else { return }
            if let d = merge(queues[q].ring.desc, rel, 0x20, w, v) {
                queues[q].ring.desc = d
            } else if let a = merge(queues[q].ring.avail, rel, 0x28, w, v) {
                queues[q].ring.avail = a
            } else if let u = merge(queues[q].ring.used, rel, 0x30, w, v) {
                queues[q].ring.used = u
            }
        }
    }

    private func enableQueue(_ q: Int) {
        if let problem = queues[q].ring.validate() {
            deviceErrorLocked("queue \(q) enable: \(problem)")
            return
        }
        queues[q].ring.lastAvail = 0
        queues[q].ring.usedIdx = 0
        queues[q].enabled = true
        lock.broadcast()
    }

    /// device_status handshake (3.1.1). Writing 0 resets; FEATURES_OK is
    /// kept only if the driver's features are a subset of what was offered
    /// and include VERSION_1 (and ACCESS_PLATFORM where the device requires
    /// it); DEVICE_NEEDS_RESET belongs to the device.
    private func writeStatus(_ value: UInt8) {
        if value == 0 {
            resetLocked()
            return
        }
        var new = value & ~Virtio.needsReset
        if new & Virtio.featuresOK != 0 && regs.status & Virtio.featuresOK == 0 {
            let f = regs.driverFeatures
            let required = Virtio.fVersion1 | (shape.requiresAccessPlatform ? Virtio.fAccessPlatform : 0)
            if f & ~offered != 0 || f & required != required { new &= ~Virtio.featuresOK }
        }
        regs.status = new | (regs.status & Virtio.needsReset)
        lock.broadcast()
    }
}
