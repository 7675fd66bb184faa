import Foundation
import Glue
import GlueAPI
import HuskHost
import HuskTestSupport
import HypercallABI
import Hypercalls
import Synchronization
import VirtioNetComponent
import XCTest

@testable import SimBackend

/// One ComponentHost on a sim backend with the virtio_net component loaded:
/// the real host runtime, the real glue, the simulated NICs. No mocks.
final class VnetRig {
    let backend: SimBackend
    let host: ComponentHost
    private var stopped = false

    init(_ specs: [String], params: [String: String] = [:], file: StaticString = #filePath, line: UInt = #line) throws {
        backend = try SimBackend(specs: specs)
        host = ComponentHost(backend: backend)
        host.load([VnetRig.component], parameters: ["virtio_net": params])
        XCTAssertEqual(host.refused.map(\.reason), [], "virtio_net refused", file: file, line: line)
    }

    /// The sim NIC number i, for its test controls.
    func nic(_ i: Int = 0) -> SimVirtioNet { backend.simDevices[i] as! SimVirtioNet }

    func shutdown() {
        guard !stopped else { return }
        stopped = true
        host.shutdown()
    }
    deinit { shutdown() }

    static var component: ComponentDescriptor {
        let p = UnsafeMutablePointer<husk_component>.allocate(capacity: 1)
        p.initialize(to: husk_component_virtio_net)
        return ComponentDescriptor(raw: UnsafePointer(p), origin: "test")
    }

    /// A link name no other test of this process uses (links are per process).
    static func link(_ tag: String = #function) -> String {
        let n = counter.withLock { c -> Int in
            c += 1
            return c
        }
        return "vn\(n)-" + tag.prefix(while: { $0.isLetter || $0.isNumber }).prefix(20)
    }
    private static let counter = Mutex<Int>(0)
}

/// A consumer of one interface in the registry, as a network stack would
/// be: it records the frames it receives and the link changes, and either
/// gives each frame back at once (copying it) or holds it until told.
final class Port: @unchecked Sendable {
    // @unchecked: mutable state guarded by `cond`; `ref` and `mac` are set in init.
    private let cond = NSCondition()
    private var received: [[UInt8]] = []
    private var held: [UnsafeMutableRawPointer] = []
    private(set) var links: [UInt32] = []
    private var ref: OpaquePointer?
    var hold = false
    let name: String
    private(set) var mac: [UInt8] = []

    init(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        self.name = name
        var c = netif_consumer()
        c.input = { arg, frame, len in Unmanaged<Port>.fromOpaque(arg!).takeUnretainedValue().arrived(frame!, len) }
        c.link = { arg, link in Unmanaged<Port>.fromOpaque(arg!).takeUnretainedValue().linked(link) }
        c.arg = Unmanaged.passUnretained(self).toOpaque()
        var r: OpaquePointer?
        // Frames that arrive before `ref` is stored wait on the condition's lock.
        cond.lock()
        let status = glue_netif_open(name, &c, &r)
        ref = r
        cond.unlock()
        guard status == HUSK_OK, let r else {
            throw TestFailure("cannot open \(name): \(status) (have \(Glue.netifNames()))")
        }
        var info = netif_info()
        glue_netif_info(r, &info)
        mac = withUnsafeBytes(of: info.mac) { Array($0) }
    }

    var info: netif_info {
        var i = netif_info()
        glue_netif_info(ref, &i)
        return i
    }

    private func arrived(_ frame: UnsafeMutableRawPointer, _ len: Int) {
        cond.lock()
        received.append(Array(UnsafeRawBufferPointer(start: frame, count: len)))
        let keep = hold
        if keep { held.append(frame) }
        let r = ref
        cond.broadcast()
        cond.unlock()
        if !keep { glue_netif_rx_done(r, frame) }
    }

    private func linked(_ link: UInt32) {
        cond.lock()
        links.append(link)
        cond.broadcast()
        cond.unlock()
    }

    /// Give back every frame held.
    func returnAll() {
        cond.lock()
        let frames = held
        held = []
        cond.unlock()
        for f in frames { glue_netif_rx_done(ref, f) }
    }

    var heldCount: Int { cond.withLock { held.count } }
    var frames: [[UInt8]] { cond.withLock { received } }
    var linkChanges: [UInt32] { cond.withLock { links } }

    /// Wait until `count` frames have arrived in total.
    @discardableResult
    func waitFrames(_ count: Int, seconds: Double = 10) -> Bool { wait(seconds) { self.received.count >= count } }

    /// Wait until the link callbacks reported exactly `links`, in order.
    @discardableResult
    func waitLinks(_ links: [UInt32], seconds: Double = 10) -> Bool {
        wait(seconds) { self.links.count >= links.count } && linkChanges == links
    }

    private func wait(_ seconds: Double, _ done: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        cond.lock()
        defer { cond.unlock() }
        while !done() {
            if !cond.wait(until: deadline) { return done() }
        }
        return true
    }

    /// Send one frame; EAGAIN (queue full, device resetting) is retried for
    /// `seconds`.
    @discardableResult
    func send(_ frame: [UInt8], seconds: Double = 10) -> Int32 {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            let r = frame.withUnsafeBytes { glue_netif_send(ref, $0.baseAddress, frame.count) }
            if r != HUSK_EAGAIN || Date() >= deadline { return r }
            usleep(50)
        }
    }

    func close() {
        returnAll()
        glue_netif_close(ref)
    }

    /// Close without giving the held frames back: glue_netif_close returns
    /// them to the provider.
    func closeHoldingFrames() {
        glue_netif_close(ref)
        cond.withLock { held = [] }
    }
}

/// An Ethernet frame from `src` to `dst` of `len` bytes, type 0x88b5 (local
/// experimental), the sequence number in its first payload bytes.
func etherFrame(to dst: [UInt8], from src: [UInt8], seq: Int, len: Int = 64) -> [UInt8] {
    var f = dst + src + [0x88, 0xb5]
    f += withUnsafeBytes(of: UInt32(truncatingIfNeeded: seq).bigEndian) { Array($0) }
    f += (0..<max(0, len - f.count)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ seq) }
    return Array(f.prefix(len))
}

/// The sequence number etherFrame put in a frame.
func sequence(_ frame: [UInt8]) -> Int {
    Int(frame[14..<18].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
}
