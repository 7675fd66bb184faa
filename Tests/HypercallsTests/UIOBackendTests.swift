import Foundation
import Glibc
import HypercallABI
import Hypercalls
import PCIHostSupport
import XCTest

@testable import UIOBackend

/// The uio backend without hardware: argument checks, device messages,
/// sysfs parsing, pagemap translation and the huge-page DMA pool. Devices
/// themselves are exercised in the libvirt VM tests.
final class UIOBackendTests: XCTestCase {
    // MARK: Construction

    func testNonexistentDeviceIsENODEVNamingIt() {
        let bdf = PCITestDevices.absentAddress()
        let e = expectError(HUSK_ENODEV) { _ = try UIOBackend(addresses: [bdf]) }
        XCTAssertTrue(e?.detail.contains(bdf) ?? false, e?.detail ?? "")
    }

    func testMalformedAddressIsEINVAL() {
        for bad in ["", "3.0", "0000:00:03.0.1", "0000:0g:03.0", "/dev/uio0"] {
            _ = expectError(HUSK_EINVAL) { _ = try UIOBackend(addresses: [bad], hugepages: 0) }
        }
        _ = expectError(HUSK_EINVAL) { _ = try UIOBackend(addresses: [], hugepages: 0) }
    }

    func testDeviceNotOnUIOSaysHowToBindIt() throws {
        guard let bdf = PCITestDevices.existing(where: { PCISysfs.driver($0) != "uio_pci_generic" }) else {
            throw XCTSkip("every PCI device here is bound to uio_pci_generic")
        }
        let bound = PCISysfs.driver(bdf)
        let e = expectError(bound == nil ? HUSK_ENODEV : HUSK_EBUSY) { _ = try UIOBackend(addresses: [bdf], hugepages: 0) }
        var needles = [bdf, "uio_pci_generic", "driver_override", "drivers_probe"]
        if let bound { needles.append(bound) }
        for n in needles { XCTAssertTrue(e?.detail.contains(n) ?? false, "\(n) missing in: \(e?.detail ?? "")") }
    }

    // MARK: sysfs and pagemap parsing

    func testResourceFileParsing() {
        let text = """
            0x00000000fe000000 0x00000000fe7fffff 0x0000000000042208
            0x0000000000000000 0x0000000000000000 0x0000000000000000
            0x000000000000c000 0x000000000000c01f 0x0000000000040101
            0x0000004000100000 0x000000400017ffff 0x0000000000140204
            0x0000000000000000 0x0000000000000000 0x0000000000000000
            0x0000000000000000 0x0000000000000000 0x0000000000000000
            0x0000000000000000 0x0000000000000000 0x0000000000000000
            """
        let bars = UIOResources.parse(text, mappable: [true, false, true, true, false, false])
        XCTAssertEqual(bars[0], BARInfo(size: 8 << 20, flags: UInt32(HUSK_BAR_MMIO | HUSK_BAR_PREFETCH | HUSK_BAR_MAPPABLE)))
        XCTAssertEqual(bars[1], .absent)
        XCTAssertEqual(bars[2], BARInfo(size: 32, flags: UInt32(HUSK_BAR_PIO)))
        XCTAssertEqual(bars[3], BARInfo(size: 0x80000, flags: UInt32(HUSK_BAR_MMIO | HUSK_BAR_64BIT | HUSK_BAR_MAPPABLE)))
        XCTAssertEqual(bars[4], .absent)
        XCTAssertEqual(UIOResources.parse("", mappable: []), Array(repeating: .absent, count: 6))
    }

    func testPagemapEntryDecoding() {
        XCTAssertEqual(Pagemap.decode(0), .notPresent)
        XCTAssertEqual(Pagemap.decode(1 << 63), .hidden)
        XCTAssertEqual(Pagemap.decode(1 << 63 | 1 << 55 | 0x12345), .frame(0x12345), "soft-dirty and flag bits are not part of the frame")
        XCTAssertEqual(Pagemap.decode(0x12345), .notPresent)
    }

    /// A locked ordinary page translates when the process may see frame
    /// numbers (CAP_SYS_ADMIN); otherwise the error says what is missing.
    func testPagemapTranslatesALockedPage() throws {
        let size = hostPageSize
        guard let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
            p != UnsafeMutableRawPointer(bitPattern: -1)
        else { throw XCTSkip("mmap failed") }
        defer { munmap(p, size) }
        p.storeBytes(of: 0x5a, as: UInt8.self)
        guard mlock(p, size) == 0 else { throw XCTSkip("mlock of one page failed: errno \(errno)") }
        defer { munlock(p, size) }
        let probe = UnsafeRawPointer(p + 123)
        if TestPrivileges.hasSysAdmin {
            let phys = try Pagemap.physicalAddresses(of: [probe])
            XCTAssertEqual(phys.count, 1)
            XCTAssertNotEqual(phys[0] / UInt64(size), 0, "a real frame number")
            XCTAssertEqual(phys[0] % UInt64(size), 123, "the offset within the page is kept")
        } else {
            let e = expectError(HUSK_EACCES) { _ = try Pagemap.physicalAddresses(of: [probe]) }
            XCTAssertTrue(e?.detail.contains("CAP_SYS_ADMIN") ?? false, e?.detail ?? "")
        }
    }

    // MARK: Huge-page DMA pool

    func testHugePagePoolCarvesPhysicallyContiguousBuffers() throws {
        guard TestPrivileges.hasSysAdmin else {
            throw XCTSkip("the DMA pool needs CAP_SYS_ADMIN to read physical addresses from /proc/self/pagemap")
        }
        let reservation = try HugePageReservation(pages: 2)
        defer { reservation.restore() }
        try checkPool()
    }

    private func checkPool() throws {
        let huge = UInt64(HugePagePool.hugePageSize)
        let pool = try HugePagePool(pages: 2)
        XCTAssertEqual(pool.physical.count, 2)
        for p in pool.physical {
            XCTAssertNotEqual(p, 0)
            XCTAssertEqual(p % huge, 0, "huge pages are 2 MiB aligned physically")
        }
        // A small buffer: zeroed, writable, and its bus address is the
        // physical address the kernel reports for its CPU address.
        let a = try pool.allocate(size: 100, alignment: 4096, maxBusAddress: 0)
        XCTAssertEqual(a.bus % 4096, 0)
        XCTAssertEqual(a.cpu.load(as: UInt64.self), 0)
        a.cpu.storeBytes(of: 0xdead_beef, as: UInt64.self)
        XCTAssertEqual(try Pagemap.physicalAddresses(of: [UnsafeRawPointer(a.cpu)]), [a.bus])
        // Alignment, and buffers never straddle huge pages that are not
        // physically contiguous.
        let b = try pool.allocate(size: 64 << 10, alignment: 1 << 20, maxBusAddress: 0)
        XCTAssertEqual(b.bus % (1 << 20), 0)
        XCTAssertEqual(try Pagemap.physicalAddresses(of: [UnsafeRawPointer(b.cpu + (64 << 10) - 1)]), [b.bus + (64 << 10) - 1])
        let whole = try pool.allocate(size: Int(huge), alignment: Int(huge), maxBusAddress: 0)
        XCTAssertEqual(whole.bus % huge, 0)
        XCTAssertTrue(pool.physical.contains(whole.bus))
        // The pool is full now: 2 pages, one whole, the other partly used.
        let tooBig = expectError(HUSK_ENOMEM) { _ = try pool.allocate(size: Int(huge), alignment: 4096, maxBusAddress: 0) }
        XCTAssertFalse(tooBig?.detail.isEmpty ?? true)
        // A limit below the pool is refused.
        let lowest = pool.physical.min()!
        _ = expectError(HUSK_ENOMEM) { _ = try pool.allocate(size: 4096, alignment: 4096, maxBusAddress: lowest) }
        // Free and reuse.
        try pool.free(whole)
        _ = expectError(HUSK_EBADF) { try pool.free(whole) }
        let again = try pool.allocate(size: Int(huge), alignment: Int(huge), maxBusAddress: 0)
        XCTAssertEqual(again.bus, whole.bus)
        XCTAssertEqual(again.cpu.load(as: UInt64.self), 0, "reused memory is zeroed again")
        // More than 2 MiB works only if the two pages are contiguous.
        try pool.free(again)
        try pool.free(a)
        try pool.free(b)
        let contiguous = pool.physical[1] == pool.physical[0] + huge
        do {
            let big = try pool.allocate(size: Int(huge) + 4096, alignment: 4096, maxBusAddress: 0)
            XCTAssertTrue(contiguous, "a buffer larger than a huge page needs contiguous pages")
            try pool.free(big)
        } catch {
            XCTAssertFalse(contiguous, "\(error)")
            XCTAssertEqual(error.code, HUSK_ENOMEM)
        }
    }
}

enum TestPrivileges {
    /// CAP_SYS_ADMIN (bit 21) in the effective set: pagemap shows frames.
    static var hasSysAdmin: Bool {
        guard let bytes = try? String(decoding: readAll("/proc/self/status"), as: UTF8.self),
            let line = bytes.split(separator: "\n").first(where: { $0.hasPrefix("CapEff:") }),
            let caps = UInt64(line.dropFirst("CapEff:".count).trimmingCharacters(in: .whitespacesAndNewlines), radix: 16)
        else { return false }
        return caps & (1 << 21) != 0
    }

    static func readAll(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw POSIXError(.ENOENT) }
        defer { close(fd) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            out += buf[0..<n]
        }
        return out
    }
}

/// Makes `pages` free 2 MiB huge pages available for a test by raising
/// /proc/sys/vm/nr_hugepages (as root), and puts the old value back.
struct HugePageReservation {
    static let control = "/proc/sys/vm/nr_hugepages"
    let oldTotal: Int?

    init(pages: Int) throws {
        func free() -> Int {
            let text = String(decoding: (try? TestPrivileges.readAll("/proc/meminfo")) ?? [], as: UTF8.self)
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("HugePages_Free:") }) ?? ""
            return Int(line.dropFirst("HugePages_Free:".count).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        }
        let have = free()
        if have >= pages {
            oldTotal = nil
            return
        }
        guard getuid() == 0, let text = try? TestPrivileges.readAll(Self.control),
            let total = Int(String(decoding: text, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        else {
            throw XCTSkip("needs \(pages) free huge pages (have \(have)); as root the test reserves them itself")
        }
        oldTotal = total
        Self.write(total + pages - have)
        if free() < pages {
            restore()
            throw XCTSkip("the kernel could not reserve \(pages) huge pages (memory too fragmented?)")
        }
    }

    func restore() {
        if let oldTotal { Self.write(oldTotal) }
    }

    private static func write(_ n: Int) {
        let fd = open(control, O_WRONLY)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let s = Array("\(n)\n".utf8)
        _ = s.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
    }
}
