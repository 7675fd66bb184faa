import GlueAPI
import HypercallABI
import Synchronization
import XCTest

/// PCI autoconf on the sim backend's edu device: match tables (exact,
/// wildcard, miss), attach arguments, config space and capability walk,
/// detach on unregister.
final class PCITests: XCTestCase {
    /// What the test driver saw; C callbacks reach it through a global
    /// because attach gets no user argument (like a kernel's autoconf).
    static let seen = Mutex<[String]>([])

    private static let attach:
        @convention(c) (UnsafeMutablePointer<pci_attach_args>?, UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Int32 = { pa, softc in
            let p = pa!.pointee
            var msi: UInt32 = 0
            let hasMSI = glue_pci_find_capability(pa, UInt8(PCI_CAP_ID_MSI), &msi)
            let vendorReg = glue_pci_conf_read(pa, 0) & 0xffff
            PCITests.seen.withLock {
                $0.append("attach \(String(p.pa_id.vendor, radix: 16)):\(String(p.pa_id.device, radix: 16))")
                $0.append("config vendor \(String(vendorReg, radix: 16))")
                $0.append("msi \(hasMSI) at \(msi >= 0x40)")
            }
            softc!.pointee = UnsafeMutableRawPointer(bitPattern: 0x5eed)
            return HUSK_OK
        }
    private static let detach: @convention(c) (UnsafeMutableRawPointer?) -> Void = { softc in
        PCITests.seen.withLock { $0.append("detach \(UInt(bitPattern: softc) == 0x5eed)") }
    }

    private func driver(_ ids: [pci_device_id]) -> UnsafeMutablePointer<pci_driver> {
        let table = UnsafeMutablePointer<pci_device_id>.allocate(capacity: ids.count + 1)
        for (i, id) in ids.enumerated() { table[i] = id }
        table[ids.count] = pci_device_id(vendor: 0, device: 0)
        let d = UnsafeMutablePointer<pci_driver>.allocate(capacity: 1)
        d.initialize(
            to: pci_driver(
                name: UnsafePointer(strdup("testdrv")), ids: UnsafePointer(table),
                attach: Self.attach, detach: Self.detach))
        return d
    }

    func testMatchTableSemantics() throws {
        let ids = [
            pci_device_id(vendor: 0x1af4, device: 0x1042),
            pci_device_id(vendor: 0x1234, device: UInt16(PCI_ANY_ID)),
            pci_device_id(vendor: 0, device: 0),
            pci_device_id(vendor: 0x8086, device: 0x100e)
        ]  // after the end marker: ignored
        try ids.withUnsafeBufferPointer { t in
            try GlueHarness.run {
                XCTAssertTrue(glue_pci_match(t.baseAddress, 0x1af4, 0x1042))
                XCTAssertFalse(glue_pci_match(t.baseAddress, 0x1af4, 0x1041))
                XCTAssertTrue(glue_pci_match(t.baseAddress, 0x1234, 0x11e8), "device wildcard")
                XCTAssertFalse(glue_pci_match(t.baseAddress, 0x8086, 0x100e), "entry after the end marker")
                XCTAssertFalse(glue_pci_match(nil, 0x1234, 0x11e8))
            }
        }
    }

    func testRegisterAttachesMatchingDevicesOnly() throws {
        Self.seen.withLock { $0 = [] }
        let miss = driver([pci_device_id(vendor: 0x1af4, device: 0x1042)])
        let hit = driver([pci_device_id(vendor: UInt16(PCI_ANY_ID), device: 0x11e8)])
        try GlueHarness.run(backend: "sim", devices: ["edu"]) {
            var n: UInt32 = 99
            XCTAssertEqual(glue_pci_driver_register(miss, &n), HUSK_OK)
            XCTAssertEqual(n, 0)
            glue_pci_driver_unregister(miss)

            XCTAssertEqual(glue_pci_driver_register(hit, &n), HUSK_OK)
            XCTAssertEqual(n, 1)
            XCTAssertEqual(glue_pci_driver_register(hit, &n), HUSK_EEXIST)
            glue_pci_driver_unregister(hit)
            glue_pci_driver_unregister(hit)  // no-op the second time

            // The device is free again: a second registration attaches anew.
            XCTAssertEqual(glue_pci_driver_register(hit, &n), HUSK_OK)
            XCTAssertEqual(n, 1)
            // Left registered on purpose: componentFinished must detach it.
        }
        XCTAssertEqual(
            Self.seen.withLock { $0 },
            [
                "attach 1234:11e8", "config vendor 1234", "msi true at true", "detach true",
                "attach 1234:11e8", "config vendor 1234", "msi true at true", "detach true"
            ])
    }

    func testRegisterRejectsIncompleteDriver() throws {
        try GlueHarness.run(backend: "sim", devices: ["edu"]) {
            var d = pci_driver()
            XCTAssertEqual(glue_pci_driver_register(&d, nil), HUSK_EINVAL)
        }
    }
}
