import Glibc
import HypercallABI
import Hypercalls
import PCIHostSupport

/// Virtual-to-physical translation through /proc/self/pagemap: one 64-bit
/// entry per virtual page; bit 63 = present, bits 0-54 = page frame number.
/// Since Linux 4.0 the frame number reads as 0 without CAP_SYS_ADMIN, so the
/// uio backend translates its pool at start-up, before dropping privileges.
enum Pagemap {
    static let path = "/proc/self/pagemap"
    static let presentBit: UInt64 = 1 << 63
    static let frameMask: UInt64 = (1 << 55) - 1

    enum Entry: Equatable {
        case notPresent
        case hidden  // present, but the kernel hid the frame number
        case frame(UInt64)
    }

    static func decode(_ entry: UInt64) -> Entry {
        guard entry & presentBit != 0 else { return .notPresent }
        let pfn = entry & frameMask
        return pfn == 0 ? .hidden : .frame(pfn)
    }

    /// Physical addresses of the given virtual addresses (each must be in a
    /// resident, locked page of this process).
    static func physicalAddresses(of addresses: [UnsafeRawPointer]) throws(HypError) -> [UInt64] {
        let fd: FD
        do {
            fd = try FD(path: path, flags: O_RDONLY)
        } catch {
            throw HypError.fromErrno(error.errno, "open \(path): \(error.message)")
        }
        let page = UInt64(hostPageSize)
        var out: [UInt64] = []
        for va in addresses {
            let v = UInt64(UInt(bitPattern: va))
            let raw = try RegionIO.read(fd: fd.raw, offset: v / page * 8, width: 8, what: path)
            switch decode(raw) {
            case .notPresent:
                throw HypError(HUSK_EFAULT, "page at 0x\(String(v, radix: 16)) is not resident: touch and mlock it before translating")
            case .hidden:
                throw HypError(
                    HUSK_EACCES,
                    "\(path) hides physical addresses from this process: reading them needs CAP_SYS_ADMIN; run the uio backend as root (it translates its DMA pool at start-up, before any privilege drop)"
                )
            case .frame(let pfn):
                out.append(pfn * page + v % page)
            }
        }
        return out
    }
}
