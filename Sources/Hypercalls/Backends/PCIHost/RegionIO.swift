// Shared with UIOBackend: keep Sources/{VFIO,UIO}Backend/Shared/ identical.
import Glibc
import HypercallABI
import Hypercalls
import PCIHostC
import PlatformC

/// Little-endian accesses of 1, 2, 4 or 8 bytes at an offset of a file that
/// forwards reads and writes to a device: a VFIO region, a sysfs `config` or
/// I/O-port `resourceN` file. One pread/pwrite per access, so the device sees
/// one access of the asked width.
public enum RegionIO {
    public static func read(fd: Int32, offset: UInt64, width: Int, what: @autoclosure () -> String) throws(HypError) -> UInt64 {
        var value: UInt64 = 0
        let n = withUnsafeMutableBytes(of: &value) { pread(fd, $0.baseAddress, width, off_t(truncatingIfNeeded: offset)) }
        if n != width {
            let e = n < 0 ? errno : EIO
            throw HypError(HUSK_EIO, "\(what()): read of \(width) bytes at 0x\(String(offset, radix: 16)) failed: \(errnoString(e))")
        }
        return UInt64(littleEndian: value)
    }

    public static func write(fd: Int32, offset: UInt64, width: Int, value: UInt64, what: @autoclosure () -> String) throws(HypError) {
        var le = value.littleEndian
        let n = withUnsafeBytes(of: &le) { pwrite(fd, $0.baseAddress, width, off_t(truncatingIfNeeded: offset)) }
        if n != width {
            let e = n < 0 ? errno : EIO
            throw HypError(HUSK_EIO, "\(what()): write of \(width) bytes at 0x\(String(offset, radix: 16)) failed: \(errnoString(e))")
        }
    }
}

/// One access of `width` bytes to mapped MMIO.
public enum MMIO {
    public static func read(_ p: UnsafeMutableRawPointer, width: Int) -> UInt64 {
        switch width {
        case 1: return UInt64(husk_mmio_read8(p))
        case 2: return UInt64(husk_mmio_read16(p))
        case 4: return UInt64(husk_mmio_read32(p))
        default: return husk_mmio_read64(p)
        }
    }

    public static func write(_ p: UnsafeMutableRawPointer, width: Int, value: UInt64) {
        switch width {
        case 1: husk_mmio_write8(p, UInt8(truncatingIfNeeded: value))
        case 2: husk_mmio_write16(p, UInt16(truncatingIfNeeded: value))
        case 4: husk_mmio_write32(p, UInt32(truncatingIfNeeded: value))
        default: husk_mmio_write64(p, value)
        }
    }
}

/// An eventfd the backend owns; -1 never escapes.
public func makeEventFD() throws(HypError) -> Int32 {
    let fd = husk_eventfd(0)
    if fd < 0 {
        throw HypError.fromErrno(errno, "eventfd: \(errnoString(errno))")
    }
    return fd
}
