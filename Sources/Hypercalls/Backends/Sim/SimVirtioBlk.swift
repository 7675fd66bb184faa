import HypercallABI
import Hypercalls
import Platform

/// Counters a test can read (SimVirtioBlk.stats).
public struct SimVirtioBlkStats: Sendable, Equatable {
    /// Requests completed (used-ring elements written), any status.
    public var requests = 0
    /// FLUSH requests completed.
    public var flushes = 0
    /// Interrupts raised (queue and configuration change), delivered or not.
    public var interrupts = 0
    /// Device errors (DEVICE_NEEDS_RESET set): bad DMA, malformed rings.
    public var deviceErrors = 0
}

/// A VIRTIO 1.x block device on the modern PCI transport (SimVirtioDevice):
/// one request queue, served on the device's thread (SimVirtioBlk+Request.swift),
/// over a SimBlockStore.
///
/// `@unchecked Sendable`: as SimVirtioDevice, every mutable field is guarded by `lock`.
public final class SimVirtioBlk: SimVirtioDevice, @unchecked Sendable {
    static let queueMax: UInt16 = 256
    let store: SimBlockStore

    // -- guarded by lock --
    var pendingIOErrors = 0
    var flushCount = 0

    /// A disk held in memory (`virtio-blk:size=...`).
    public convenience init(
        memoryBytes: UInt64, blockSize: Int = 512, readOnly: Bool = false,
        cache: SimCacheMode = .volatile
    ) throws(HypError) {
        try self.init(
            store: SimBlockStore(
                memoryBytes: memoryBytes, blockSize: blockSize,
                readOnly: readOnly, cacheMode: cache))
    }

    /// A disk backed by an existing image file (`virtio-blk:image=...`).
    public convenience init(
        imagePath: String, blockSize: Int = 512, readOnly: Bool = false,
        cache: SimCacheMode = .volatile
    ) throws(HypError) {
        try self.init(
            store: SimBlockStore(
                path: imagePath, blockSize: blockSize,
                readOnly: readOnly, cacheMode: cache))
    }

    init(store: SimBlockStore) throws(HypError) {
        guard store.blockSize == 512 || store.blockSize == 4096 else {
            throw .inval("blksize \(store.blockSize): valid values are 512, 4096")
        }
        self.store = store
        let offered =
            Virtio.fVersion1 | Virtio.fAccessPlatform | Virtio.blkFSegMax | Virtio.blkFBlkSize
            | Virtio.blkFFlush | (store.readOnly ? Virtio.blkFRO : 0)
        let id = PCIIdentity(
            vendor: 0x1af4, device: 0x1042, subVendor: 0x1af4, subDevice: 0x0002,
            classCode: 0x018000, revision: 1, address: "sim:?")
        super.init(
            shape: Shape(
                identity: id, offered: offered, queueCount: 1, queueMax: SimVirtioBlk.queueMax,
                deviceConfigLength: 0x24, threadName: "sim-vblk"))
    }

    // MARK: test controls

    public var stats: SimVirtioBlkStats {
        lock.withLock {
            SimVirtioBlkStats(requests: completions[0], flushes: flushCount, interrupts: interruptCount, deviceErrors: deviceErrorCount)
        }
    }
    /// Capacity in bytes.
    public var capacityBytes: UInt64 { store.capacity }
    /// Sectors written but not yet flushed (volatile cache).
    public var unflushedSectors: Int { store.unflushedSectors }

    /// The next `count` requests complete with VIRTIO_BLK_S_IOERR, doing nothing.
    public func injectIOErrors(count: Int) { lock.withLock { pendingIOErrors = max(0, count) } }

    /// A power loss: in-flight work stops, the device resets (status reads 0,
    /// queues disabled), and every write not yet flushed is lost. The backing
    /// file keeps exactly what earlier FLUSH requests made durable.
    public func powerCut() {
        lock.withLock { resetLocked() }
        store.dropUnflushed()
    }

    // MARK: SimVirtioDevice

    /// struct virtio_blk_config up to num_queues; only capacity, seg_max and
    /// blk_size are offered.
    override func deviceConfigLocked() -> [UInt8] {
        let geometry: [UInt8] = [0, 0, 0, 0]
        let topology: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0]
        return le64(store.capacity / 512) + le32(0) + le32(UInt32(SimVirtioBlk.queueMax - 2)) + geometry
            + le32(UInt32(store.blockSize)) + topology + [0, 0] + le16(1)
    }

    override func serve(queue index: Int, segments: [SimSegment], _ iommu: SimIOMMU) throws(SimVirtqueueError) -> UInt32 {
        try serveRequest(segments, iommu)
    }

    override func shutdownDevice() { store.close() }
}
