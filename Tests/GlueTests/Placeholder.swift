import XCTest
final class GluePlaceholderTests: XCTestCase { func testGlueModuleLinks() {} }
