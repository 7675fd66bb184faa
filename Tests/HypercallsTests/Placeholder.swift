import XCTest
final class HypercallsTestsPlaceholder: XCTestCase { func testBuilds() {} }
