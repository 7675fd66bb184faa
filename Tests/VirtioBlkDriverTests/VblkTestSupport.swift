import Foundation
import Glue
import GlueAPI
import HuskHost
import HuskTestSupport
import HypercallABI
import Hypercalls
import VirtioBlkComponent
import XCTest

@testable import SimBackend

/// One ComponentHost on a sim backend with the virtio_blk component loaded:
/// the real host runtime, the real glue, the simulated device. No mocks.
final class VblkRig {
    let backend: SimBackend
    let host: ComponentHost
    private var stopped = false

    init(_ specs: [String], params: [String: String] = [:], file: StaticString = #filePath, line: UInt = #line) throws {
        backend = try SimBackend(specs: specs)
        host = ComponentHost(backend: backend)
        host.load([VblkRig.component], parameters: ["virtio_blk": params])
        XCTAssertEqual(host.refused.map(\.reason), [], "virtio_blk refused", file: file, line: line)
    }

    /// The sim device number i, for its test controls.
    func device(_ i: Int = 0) -> SimVirtioBlk { backend.simDevices[i] as! SimVirtioBlk }

    /// The interrupt mode the sim device was switched to (HUSK_IRQ_*, 0: none).
    func interruptMode(_ i: Int = 0) -> UInt32 { device(i).function.interruptMode }

    func disk(_ name: String = "vblk0", file: StaticString = #filePath, line: UInt = #line) throws -> Glue.Disk {
        try XCTUnwrap(Glue.Disk(named: name), "disk \(name) is not registered (have \(Glue.diskNames()))", file: file, line: line)
    }

    func shutdown() {
        guard !stopped else { return }
        stopped = true
        host.shutdown()
    }
    deinit { shutdown() }

    static var component: ComponentDescriptor {
        let p = UnsafeMutablePointer<husk_component>.allocate(capacity: 1)
        p.initialize(to: husk_component_virtio_blk)
        return ComponentDescriptor(raw: UnsafePointer(p), origin: "test")
    }
}

/// A completion a test thread can wait for.
final class Waiter: @unchecked Sendable {
    // @unchecked: `result` is guarded by `lock`.
    private let lock = NSLock()
    private let sem = DispatchSemaphore(value: 0)
    private var result: Int32?
    func finish(_ status: Int32) {
        lock.withLock { result = status }
        sem.signal()
    }
    func wait(seconds: Double) -> Int32? {
        guard sem.wait(timeout: .now() + seconds) == .success else { return nil }
        return lock.withLock { result }
    }
}

/// Counts completions of many requests in flight.
final class Tally: @unchecked Sendable {
    // @unchecked: all state guarded by `lock`.
    private let lock = NSLock()
    private let sem = DispatchSemaphore(value: 0)
    private(set) var statuses: [Int32] = []
    private var outstanding = 0
    private(set) var maxOutstanding = 0
    func started() {
        lock.withLock {
            outstanding += 1
            maxOutstanding = max(maxOutstanding, outstanding)
        }
    }
    func finish(_ status: Int32) {
        lock.withLock {
            statuses.append(status)
            outstanding -= 1
        }
        sem.signal()
    }
    /// The submission after started() was refused: it is not in flight.
    func refused() { lock.withLock { outstanding -= 1 } }
    var completed: Int { lock.withLock { statuses.count } }
    var peak: Int { lock.withLock { maxOutstanding } }
    var all: [Int32] { lock.withLock { statuses } }
    /// Wait for one completion (any), up to `seconds`.
    @discardableResult func waitOne(seconds: Double = 10) -> Bool { sem.wait(timeout: .now() + seconds) == .success }
}

extension Glue.Disk {
    /// One synchronous request. EAGAIN (queue full, or the driver is
    /// resetting the device) is retried until `seconds` pass.
    func io(
        _ op: Operation, _ buf: UnsafeMutableRawPointer?, offset: UInt64, length: UInt64,
        seconds: Double = 10
    ) -> Int32 {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            let w = Waiter()
            let r = submit(op, data: buf, offset: offset, length: length) { w.finish($0) }
            if r == HUSK_EAGAIN && Date() < deadline {
                usleep(100)
                continue
            }
            if r != HUSK_OK { return r }
            return w.wait(seconds: max(0.1, deadline.timeIntervalSinceNow)) ?? HUSK_ETIMEDOUT
        }
    }

    func write(_ bytes: [UInt8], at offset: UInt64) -> Int32 {
        var b = bytes
        return b.withUnsafeMutableBytes { io(.write, $0.baseAddress, offset: offset, length: UInt64(bytes.count)) }
    }

    func read(_ count: Int, at offset: UInt64) -> (Int32, [UInt8]) {
        var b = [UInt8](repeating: 0xEE, count: count)
        let r = b.withUnsafeMutableBytes { io(.read, $0.baseAddress, offset: offset, length: UInt64(count)) }
        return (r, b)
    }

    func flush() -> Int32 { io(.flush, nil, offset: 0, length: 0) }

    /// Retry a read until it succeeds (the device may be in its reset path).
    func readEventually(_ count: Int, at offset: UInt64, seconds: Double = 10) -> (Int32, [UInt8]) {
        let deadline = Date().addingTimeInterval(seconds)
        var last = read(count, at: offset)
        while last.0 != HUSK_OK && Date() < deadline {
            usleep(1000)
            last = read(count, at: offset)
        }
        return last
    }
}
