import Glibc
import HypercallABI
import Hypercalls
import PCIHostSupport
import XCTest

@testable import VFIOBackend

/// The vfio backend without hardware: argument checks, the messages for
/// devices that are not ready, the IOVA allocator and the interrupt choice.
/// Passthrough itself is exercised in the libvirt VM tests.
final class VFIOBackendTests: XCTestCase {
    // MARK: Construction

    func testNonexistentDeviceIsENODEVNamingIt() {
        let bdf = PCITestDevices.absentAddress()
        let e = expectError(HUSK_ENODEV) { _ = try VFIOBackend(addresses: [bdf]) }
        XCTAssertTrue(e?.detail.contains(bdf) ?? false, e?.detail ?? "")
        XCTAssertTrue(e?.detail.contains("/sys/bus/pci/devices") ?? false, e?.detail ?? "")
    }

    func testMalformedAddressIsEINVAL() {
        for bad in [
            "", "zz:00.0", "0000:00:03", "0000:00:20.0", "0000:00:03.8", "0000:100:03.0",
            "../../../etc", "0000:00:03.0/..", "0000-00-03.0"
        ] {
            let e = expectError(HUSK_EINVAL) { _ = try VFIOBackend(addresses: [bad]) }
            XCTAssertTrue(e?.detail.contains("0000:00:03.0") ?? false, "the message shows the expected form: \(e?.detail ?? "")")
        }
    }

    func testEmptyAndDuplicateAddressesAreEINVAL() {
        _ = expectError(HUSK_EINVAL) { _ = try VFIOBackend(addresses: []) }
        _ = expectError(HUSK_EINVAL) { _ = try VFIOBackend(addresses: ["00:03.0", "0000:00:03.0"]) }
    }

    func testAddressesAreNormalised() throws {
        XCTAssertEqual(try PCISysfs.normalize("00:03.0"), "0000:00:03.0")
        XCTAssertEqual(try PCISysfs.normalize("0000:0A:1F.7"), "0000:0a:1f.7")
        XCTAssertEqual(try PCISysfs.normalize("10000:00:00.0"), "10000:00:00.0")
    }

    func testDeviceWithoutIOMMUGroupSaysHowToTurnTheIOMMUOn() throws {
        guard let bdf = PCITestDevices.existing(where: { PCISysfs.iommuGroup($0) == nil }) else {
            throw XCTSkip("every PCI device here has an IOMMU group")
        }
        let e = expectError(HUSK_ENODEV) { _ = try VFIOBackend(addresses: [bdf]) }
        XCTAssertTrue(e?.detail.contains(bdf) ?? false, e?.detail ?? "")
        XCTAssertTrue(e?.detail.contains("intel_iommu=on") ?? false, e?.detail ?? "")
    }

    func testDeviceOnAnotherDriverNamesItAndTheBindCommands() throws {
        guard
            let bdf = PCITestDevices.existing(where: {
                PCISysfs.iommuGroup($0) != nil && PCISysfs.driver($0).map { $0 != "vfio-pci" } == true
            })
        else {
            throw XCTSkip("no PCI device with an IOMMU group bound to a driver other than vfio-pci")
        }
        let driver = PCISysfs.driver(bdf)!
        let e = expectError(HUSK_EBUSY) { _ = try VFIOBackend(addresses: [bdf]) }
        for needle in [bdf, driver, "driver_override", "drivers_probe"] {
            XCTAssertTrue(e?.detail.contains(needle) ?? false, "\(needle) missing in: \(e?.detail ?? "")")
        }
    }

    // MARK: IOVA allocator

    private let page: UInt64 = 4096

    func testAllocatorNeverHandsOutZeroAndHonoursAlignment() {
        var a = IOVAAllocator(usable: [.init(first: 0, last: (1 << 39) - 1)], granule: page)
        let first = a.allocate(size: 100, alignment: 0)
        XCTAssertEqual(first, page, "IOVA 0 is reserved; the size is rounded to a page")
        for align in [UInt64(8192), 1 << 16, 1 << 21, 1 << 30] {
            let b = a.allocate(size: page, alignment: align)
            XCTAssertNotNil(b)
            XCTAssertEqual((b ?? 1) % align, 0, "aligned to \(align)")
        }
        XCTAssertNil(a.allocate(size: page, alignment: 3 * page), "alignment must be a power of two")
        XCTAssertNil(a.allocate(size: 0, alignment: 0))
    }

    func testAllocatorHonoursMaxBusAddress() {
        var a = IOVAAllocator(usable: [.init(first: 1 << 32, last: (1 << 40) - 1), .init(first: 0, last: 0xffff_ffff)], granule: page)
        let limit: UInt64 = 1 << 32
        var got: [UInt64] = []
        for _ in 0..<16 {
            guard let b = a.allocate(size: 1 << 20, alignment: 0, limit: limit) else { return XCTFail("allocation below 4 GiB failed") }
            XCTAssertLessThanOrEqual(b + (1 << 20), limit)
            got.append(b)
        }
        XCTAssertNil(a.allocate(size: 1 << 20, alignment: 0, limit: 1 << 20), "nothing fits below 1 MiB any more")
        XCTAssertNil(a.allocate(size: 1 << 33, alignment: 0, limit: limit), "too big for the limit")
        XCTAssertNotNil(a.allocate(size: 1 << 33, alignment: 0), "fits without a limit")
    }

    func testAllocatorReusesFreedSpaceAndMergesNeighbours() {
        var a = IOVAAllocator(usable: [.init(first: 0x10000, last: 0x10000 + 16 * 4096 - 1)], granule: page)
        let total = a.freeBytes
        let x = a.allocate(size: 4 * page, alignment: 0)!
        let y = a.allocate(size: 4 * page, alignment: 0)!
        let z = a.allocate(size: 8 * page, alignment: 0)!
        XCTAssertEqual([x, y, z], [0x10000, 0x14000, 0x18000])
        XCTAssertNil(a.allocate(size: page, alignment: 0), "exhausted")
        XCTAssertEqual(a.release(y), 4 * page)
        XCTAssertEqual(a.allocate(size: 2 * page, alignment: 0), y, "freed space is reused")
        XCTAssertNil(a.release(y + page), "only bases handed out can be released")
        a.release(y)
        a.release(x)
        a.release(z)
        XCTAssertNil(a.release(z), "double free is refused")
        XCTAssertEqual(a.freeBytes, total)
        XCTAssertEqual(a.free.count, 1, "neighbours merge back into one range")
        XCTAssertEqual(a.allocate(size: 16 * page, alignment: 0), 0x10000)
        XCTAssertEqual(a.allocationCount, 1)
    }

    func testAllocatorExhaustsAndRecovers() {
        var a = IOVAAllocator(usable: [.init(first: 0, last: 64 * 4096 - 1)], granule: page)
        var bases: [UInt64] = []
        while let b = a.allocate(size: page, alignment: 0) { bases.append(b) }
        XCTAssertEqual(bases.count, 63, "64 pages minus the reserved page 0")
        XCTAssertEqual(Set(bases).count, bases.count)
        a.release(bases[10])
        XCTAssertEqual(a.allocate(size: page, alignment: 0), bases[10])
        XCTAssertNil(a.allocate(size: page, alignment: 0))
    }

    func testAllocatorKeepsOutOfHolesAndDoesNotStraddleRanges() {
        // The x86 MSI window is not usable IOVA space.
        var a = IOVAAllocator(usable: [.init(first: 0, last: 0xfedf_ffff), .init(first: 0xfef0_0000, last: 0xffff_ffff)], granule: page)
        let b = a.allocate(size: 1 << 20, alignment: 1 << 20, limit: 0xfef0_0000 + (1 << 20))
        XCTAssertNotNil(b)
        var c = IOVAAllocator(usable: [.init(first: 0x1000, last: 0x1fff), .init(first: 0x2000, last: 0x2fff)], granule: page)
        XCTAssertNil(c.allocate(size: 2 * page, alignment: 0), "adjacent usable ranges are not joined")
        XCTAssertEqual(c.allocate(size: page, alignment: 0), 0x1000)
        XCTAssertEqual(c.allocate(size: page, alignment: 0), 0x2000)
        c.release(0x1000)
        c.release(0x2000)
        XCTAssertEqual(c.free.count, 2, "and are not joined on free either")
        var top = IOVAAllocator(usable: [.init(first: UInt64.max - 0xffff, last: .max)], granule: page)
        XCTAssertNotNil(top.allocate(size: page, alignment: 0), "the top of the address space is usable")
        XCTAssertNil(top.allocate(size: 1 << 20, alignment: 0), "without overflowing")
    }

    // MARK: Interrupts and BARs

    func testInterruptChoicePrefersMSIXThenMSIThenINTx() {
        let all: [UInt32: UInt32] = [UInt32(HUSK_IRQ_INTX): 1, UInt32(HUSK_IRQ_MSI): 1, UInt32(HUSK_IRQ_MSIX): 8]
        let any = UInt32(HUSK_IRQ_INTX | HUSK_IRQ_MSI | HUSK_IRQ_MSIX)
        XCTAssertEqual(VFIOIRQ.choose(kinds: any, want: 4, available: all)?.kind, UInt32(HUSK_IRQ_MSIX))
        XCTAssertEqual(VFIOIRQ.choose(kinds: any, want: 4, available: all)?.count, 4)
        XCTAssertEqual(VFIOIRQ.choose(kinds: any, want: 32, available: all)?.count, 8, "clipped to what the device has")
        XCTAssertEqual(VFIOIRQ.choose(kinds: UInt32(HUSK_IRQ_INTX | HUSK_IRQ_MSI), want: 4, available: all)?.kind, UInt32(HUSK_IRQ_MSI))
        let intx = VFIOIRQ.choose(kinds: UInt32(HUSK_IRQ_INTX), want: 4, available: all)
        XCTAssertEqual(intx?.kind, UInt32(HUSK_IRQ_INTX))
        XCTAssertEqual(intx?.count, 1, "INTx is always one vector")
        XCTAssertNil(VFIOIRQ.choose(kinds: UInt32(HUSK_IRQ_MSIX), want: 1, available: [UInt32(HUSK_IRQ_INTX): 1]))
        XCTAssertEqual(VFIOIRQ.index(ofKind: UInt32(HUSK_IRQ_MSIX)), 2)
        XCTAssertEqual(VFIOIRQ.requestIndex, 4)
    }

    func testBARKindFromConfigRegister() {
        XCTAssertEqual(PCISysfs.barKindFlags(register: 0xc001), UInt32(HUSK_BAR_PIO))
        XCTAssertEqual(PCISysfs.barKindFlags(register: 0xfe00_0000), UInt32(HUSK_BAR_MMIO))
        XCTAssertEqual(PCISysfs.barKindFlags(register: 0x0000_000c), UInt32(HUSK_BAR_MMIO | HUSK_BAR_64BIT | HUSK_BAR_PREFETCH))
    }
}

/// PCI addresses of this machine, for tests that need a present or an
/// absent device.
enum PCITestDevices {
    static func all() -> [String] {
        guard let dir = opendir("/sys/bus/pci/devices") else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let e = readdir(dir) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            if !name.hasPrefix(".") { names.append(name) }
        }
        return names.sorted()
    }

    static func existing(where pred: (String) -> Bool) -> String? { all().first(where: pred) }

    /// A well-formed address no device here has.
    static func absentAddress() -> String {
        let present = Set(all())
        for fn in 0...7 {
            let a = "0000:ff:1f.\(fn)"
            if !present.contains(a) { return a }
        }
        return "fffe:ff:1f.7"
    }
}
