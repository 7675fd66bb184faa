import RPCEcho
import XCTest

final class CRC32CTests: XCTestCase {
    /// Known answers (RFC 3720 appendix B.4 and the usual check value), so
    /// the server's checksum is right and not merely equal to the client's.
    func testKnownAnswers() {
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0, count: 32)), 0x8A91_36AA)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)), 0x62A8_AB43)
        XCTAssertEqual(CRC32C.checksum((0..<32).map { UInt8($0) }), 0x46DD_794E)
        XCTAssertEqual(CRC32C.checksum([]), 0)
    }

    /// Chaining with a seed equals one pass, at every split (odd lengths
    /// exercise the tail bytes after the 8-byte steps).
    func testSeedChainsAtAnySplit() {
        let data = (0..<61).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        let whole = CRC32C.checksum(data)
        for cut in 0...data.count {
            let a = data[..<cut].withUnsafeBytes { CRC32C.checksum($0) }
            let b = data[cut...].withUnsafeBytes { CRC32C.checksum($0, seed: a) }
            XCTAssertEqual(b, whole, "split at \(cut)")
        }
    }
}
