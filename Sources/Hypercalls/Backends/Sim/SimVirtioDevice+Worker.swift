import Hypercalls

/// The device's own thread. It sleeps until a notify write (QueueState.kicked)
/// finds its queue live (FEATURES_OK + DRIVER_OK, queue enabled, not
/// NEEDS_RESET), then drains that queue's available ring through `serve`.
/// It holds no lock while it moves data, and takes the lock to publish each
/// used element, so a reset (epoch bump) can stop it between chains and
/// nothing is published after the reset returned.
extension SimVirtioDevice {
    /// The first notified queue the device may use now. Caller holds lock.
    private var nextDueQueue: Int? { queues.indices.first { queues[$0].kicked && isLive(queue: $0) } }

    func workerLoop() {
        lock.lock()
        while true {
            var due = nextDueQueue
            while !stopping && due == nil {
                lock.wait()
                due = nextDueQueue
            }
            guard !stopping, let index = due else { break }
            queues[index].kicked = false
            var q = queues[index].ring
            let myEpoch = epoch
            workerBusy = true
            lock.unlock()
            drain(index, &q, myEpoch)
            lock.lock()
            workerBusy = false
            if epoch == myEpoch {
                queues[index].ring.lastAvail = q.lastAvail
                queues[index].ring.usedIdx = q.usedIdx
            }
            lock.broadcast()
        }
        lock.unlock()
    }

    private func fail(_ why: String, _ myEpoch: UInt64) {
        lock.withLock { if epoch == myEpoch { deviceErrorLocked(why) } }
    }

    private func drain(_ index: Int, _ q: inout SimVirtqueue, _ myEpoch: UInt64) {
        guard let iommu = function.iommu else { return fail("device not attached to an IOMMU", myEpoch) }
        guard function.busMasterEnabled else { return fail("DMA attempted with bus mastering disabled", myEpoch) }
        do throws(SimVirtqueueError) {
            while true {
                var pending = try q.pendingChains(iommu)
                if pending == 0 { return }
                while pending > 0 {
                    let (head, segments) = try q.popChain(iommu)
                    pending -= 1
                    let written = try serve(queue: index, segments: segments, iommu)
                    // Publish under the lock: a reset either happened before
                    // (epoch changed: drop the result and stop, the reset is
                    // waiting) or waits for this.
                    let current = try lock.withLock { () throws(SimVirtqueueError) -> Bool in
                        guard epoch == myEpoch else { return false }
                        try q.pushUsed(head: head, written: written, iommu)
                        completions[index] += 1
                        return true
                    }
                    if !current { return }
                }
                // One interrupt per batch, unless the driver asked for none.
                let quiet = try q.interruptSuppressed(iommu)
                lock.withLock { if epoch == myEpoch && !quiet { raiseQueueInterruptLocked(index) } }
            }
        } catch {
            fail(error.description, myEpoch)
        }
    }
}
