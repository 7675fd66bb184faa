import Glibc
import HypercallABI
import Hypercalls
import PlatformC

/// Interrupt delivery, modelled on what vfio-pci gives a user-space driver:
/// one eventfd per granted vector, the device "sends" an interrupt by adding
/// 1 to it. INTx is level-triggered and, as vfio does, masked each time it
/// fires until the driver acknowledges (unmasks); an unmask while the device
/// still asserts its line fires again at once.
extension SimPCIFunction {
    static let msixEnable: UInt16 = 1 << 15

    // MARK: HostDevice side

    func enableInterrupts(kinds: UInt32, want: Int) throws(HypError) -> InterruptSet {
        guard want >= 1 else { throw .inval("want \(want) vectors") }
        return try lock.withLock { () throws(HypError) -> InterruptSet in
            guard mode == 0 else { throw HypError(HUSK_EBUSY, "interrupts already enabled") }
            let kind: UInt32, count: Int
            if kinds & HUSK_IRQ_MSIX != 0 && msixVectors > 0 {
                kind = HUSK_IRQ_MSIX
                count = min(want, msixVectors)
            } else if kinds & HUSK_IRQ_MSI != 0 && msiVectors > 0 {
                kind = HUSK_IRQ_MSI
                count = min(want, msiVectors)
            } else if kinds & HUSK_IRQ_INTX != 0 && supportsINTx {
                kind = HUSK_IRQ_INTX
                count = 1
            } else {
                throw .nodev("\(identityValue.address) has none of the interrupt kinds 0x\(String(kinds, radix: 16))")
            }
            var fds: [Int32] = []
            for _ in 0..<count {
                let fd = husk_eventfd_nonblocking()
                if fd < 0 {
                    let e = errno
                    for f in fds { Glibc.close(f) }
                    throw HypError.fromErrno(e, "eventfd")
                }
                fds.append(fd)
            }
            mode = kind
            eventFDs = fds
            // Reflect the enable in config space as the kernel would.
            switch kind {
            case HUSK_IRQ_MSIX:
                config.set16(msixCap + 2, config.get16(msixCap + 2) | SimPCIFunction.msixEnable)
            case HUSK_IRQ_MSI:
                let mme = UInt16(Int.bitWidth - 1 - count.leadingZeroBitCount) << 4
                config.set16(msiCap + 2, config.get16(msiCap + 2) | 1 | mme)
            default:
                intxMasked = false
                fireINTxIfDue()  // a line already asserted fires now
            }
            return InterruptSet(kind: kind, eventFDs: fds)
        }
    }

    func acknowledgeInterrupt(vector: Int) throws(HypError) {
        try lock.withLock { () throws(HypError) in
            guard mode != 0 else { return }
            guard vector >= 0, vector < eventFDs.count else { throw .inval("vector \(vector)") }
            guard mode == HUSK_IRQ_INTX else { return }  // no-op for MSI/MSI-X
            intxMasked = false
            fireINTxIfDue()
        }
    }

    func disableInterrupts() {
        lock.withLock {
            for fd in eventFDs { Glibc.close(fd) }
            eventFDs = []
            if msixCap != 0 { config.set16(msixCap + 2, config.get16(msixCap + 2) & ~SimPCIFunction.msixEnable) }
            if msiCap != 0 { config.set16(msiCap + 2, config.get16(msiCap + 2) & ~0x0071) }
            mode = 0
            intxMasked = false
        }
    }

    // MARK: device side

    /// The enabled kind (HUSK_IRQ_*) or 0: devices pick MSI-X/MSI vectors or
    /// their INTx-style status register from it.
    var interruptMode: UInt32 { lock.withLock { mode } }

    /// Number of eventfd signals delivered so far.
    var interruptsDelivered: Int { lock.withLock { delivered } }

    /// Send message-signalled vector `vector`. False if not deliverable (no
    /// MSI/MSI-X enabled, or vector not granted): the event is lost, as a
    /// message to an unprogrammed vector would be.
    @discardableResult
    func signal(vector: Int) -> Bool {
        lock.withLock {
            guard mode == HUSK_IRQ_MSIX || mode == HUSK_IRQ_MSI,
                vector >= 0, vector < eventFDs.count
            else { return false }
            kick(eventFDs[vector])
            return true
        }
    }

    /// The device drives its INTx line (also kept when MSI is in use: the
    /// PCI status bit shows it, delivery only happens in INTx mode).
    func setINTxLevel(_ asserted: Bool) {
        lock.withLock {
            intxLevel = asserted
            let status = config.get16(PCIReg.status)
            config.set16(PCIReg.status, asserted ? status | PCIReg.statusINTx : status & ~PCIReg.statusINTx)
            fireINTxIfDue()
        }
    }

    /// Caller holds lock.
    func fireINTxIfDue() {
        guard mode == HUSK_IRQ_INTX, intxLevel, !intxMasked, !eventFDs.isEmpty,
            config.command & PCIReg.cmdINTxDisable == 0
        else { return }
        intxMasked = true
        kick(eventFDs[0])
    }

    /// Caller holds lock.
    private func kick(_ fd: Int32) {
        var one: UInt64 = 1
        _ = Glibc.write(fd, &one, 8)  // non-blocking; cannot overflow in practice
        delivered += 1
    }

    // MARK: MSI-X table and PBA (a BAR region the device routes here)

    /// The table is stored so drivers can program and read it back, but as
    /// with vfio, delivery goes through the eventfds, not the table's
    /// addresses or mask bits. The PBA reads as zero.
    func msixRead(offset: Int, width: Int) -> UInt64 {
        lock.withLock {
            guard offset >= 0, offset + width <= msixTable.count else { return 0 }
            var v: UInt64 = 0
            for i in 0..<width { v |= UInt64(msixTable[offset + i]) << (8 * i) }
            return v
        }
    }

    func msixWrite(offset: Int, width: Int, value: UInt64) {
        lock.withLock {
            guard offset >= 0, offset + width <= msixTable.count else { return }
            for i in 0..<width { msixTable[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
        }
    }
}
