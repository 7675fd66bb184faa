import Glibc

/// Request data memory, page-aligned: a provider opened with O_DIRECT
/// (blkfile direct=1) hands the pointer straight to the kernel, which
/// refuses unaligned buffers.
final class AlignedBuffer: @unchecked Sendable {
    // @unchecked: the bytes are handed to exactly one owner at a time (the
    // reader fills them, the provider uses them, the sender sends them).
    static let alignment = 4096
    let pointer: UnsafeMutableRawPointer
    let count: Int

    /// nil when memory is short (the request then fails with ENOMEM).
    init?(count: Int, zeroed: Bool = false) {
        var p: UnsafeMutableRawPointer?
        guard count > 0, posix_memalign(&p, Self.alignment, count) == 0, let p else { return nil }
        if zeroed { memset(p, 0, count) }
        pointer = p
        self.count = count
    }

    deinit { free(pointer) }
}
