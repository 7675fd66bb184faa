import XCTest
final class SimBackendTestsPlaceholder: XCTestCase { func testBuilds() {} }
