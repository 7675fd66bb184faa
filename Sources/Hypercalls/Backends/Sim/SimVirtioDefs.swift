/// VIRTIO 1.x constants the sim virtio devices need (PCI transport, 4.1;
/// block device, 5.2). Named after the spec. The network device's own are
/// in SimVirtioNetDefs.swift.
enum Virtio {
    // device_status bits
    static let acknowledge: UInt8 = 1, driver: UInt8 = 2, driverOK: UInt8 = 4, featuresOK: UInt8 = 8
    static let needsReset: UInt8 = 0x40, failed: UInt8 = 0x80
    // feature bits
    static let fVersion1: UInt64 = 1 << 32, fAccessPlatform: UInt64 = 1 << 33
    static let blkFSegMax: UInt64 = 1 << 2, blkFRO: UInt64 = 1 << 5
    static let blkFBlkSize: UInt64 = 1 << 6, blkFFlush: UInt64 = 1 << 9
    // vendor capability cfg_type
    static let capCommon: UInt8 = 1, capNotify: UInt8 = 2, capISR: UInt8 = 3, capDevice: UInt8 = 4
    static let noVector: UInt16 = 0xFFFF
    // ISR bits
    static let isrQueue: UInt8 = 1, isrConfig: UInt8 = 2
    // block request types and status
    static let blkTIn: UInt32 = 0, blkTOut: UInt32 = 1, blkTFlush: UInt32 = 4, blkTGetID: UInt32 = 8
    static let blkSOK: UInt8 = 0, blkSIOErr: UInt8 = 1, blkSUnsupp: UInt8 = 2
    static let blkIDBytes = 20
}

/// The modern-transport layout every sim virtio device shares, like QEMU's:
/// BAR1 holds the MSI-X table and PBA, BAR4 (64-bit, prefetchable) holds
/// four 4 KiB regions. What differs per device (queue count, device config
/// length) is in SimVirtioDevice.Shape.
enum SimVirtioLayout {
    static let msixBAR = 1, msixBARSize: UInt64 = 0x1000, pbaOffset = 0x800
    static let modernBAR = 4, modernBARSize: UInt64 = 0x4000
    static let common: UInt64 = 0x0000, commonLength: UInt64 = 0x38
    static let isr: UInt64 = 0x1000
    static let device: UInt64 = 0x2000
    /// Queue i is notified at notify + i * notifyMultiplier (queue_notify_off
    /// reads i), as QEMU lays it out.
    static let notify: UInt64 = 0x3000, notifyMultiplier: UInt32 = 4
}
