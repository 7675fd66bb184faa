import Foundation
import Glibc
import Platform
import XCTest

/// A new directory /tmp/PREFIX-XXXXXX (a short path: sun_path holds 107
/// bytes), mode 0755; the caller removes it.
public func temporaryDirectory(prefix: String) throws -> String {
    var t = Array("/tmp/\(prefix)-XXXXXX".utf8CString)
    guard mkdtemp(&t) != nil else { throw TestFailure("mkdtemp /tmp/\(prefix)-XXXXXX: errno \(errno)") }
    let dir = String(decoding: t.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    chmod(dir, 0o755)
    return dir
}

/// A temporaryDirectory removed after the test.
public func scratchDirectory(_ test: XCTestCase, prefix: String = "huskt") throws -> String {
    let dir = try temporaryDirectory(prefix: prefix)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
    return dir
}

/// scratchDirectory as a file URL.
public func scratchURL(_ test: XCTestCase) throws -> URL {
    URL(fileURLWithPath: try scratchDirectory(test, prefix: "husk-it"))
}

/// Poll `cond` every 10 ms for up to `seconds`.
public func waitUntil(_ seconds: Double, _ cond: () throws -> Bool) rethrows -> Bool {
    let end = Date().addingTimeInterval(seconds)
    while Date() < end {
        if try cond() { return true }
        usleep(10_000)
    }
    return try cond()
}

extension Locked {
    /// A result another thread sets once: wait (waitUntil) up to `seconds`
    /// for it; nil if it was not set by then.
    public func wait<T>(_ seconds: Double) -> T? where Value == T? {
        _ = waitUntil(seconds) { get() != nil }
        return get()
    }
}
