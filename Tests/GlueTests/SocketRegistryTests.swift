import Glibc
import Glue
import GlueAPI
import HypercallABI
import Hypercalls
import Synchronization
import XCTest

/// A socket provider of the test's: sockets that never become ready (so
/// blocking calls wait until something ends them), and a record of what
/// the glue called. Its ops create a glue mutex, which panics on a thread
/// of no component: they pass only if the glue makes the consumer's thread
/// act for the provider.
final class FakeStack: @unchecked Sendable {
    // @unchecked: Mutex-guarded.
    let calls = Mutex<[String]>([])
    let open = Mutex<Int>(0)
    var arg: UnsafeMutableRawPointer { Unmanaged.passUnretained(self).toOpaque() }
    static func from(_ p: UnsafeMutableRawPointer?) -> FakeStack { Unmanaged<FakeStack>.fromOpaque(p!).takeUnretainedValue() }

    func note(_ s: String) { calls.withLock { $0.append(s) } }

    /// What only a thread acting for a component may do.
    static func touchGlue() {
        var m = kmutex_t()
        precondition(GlueAPI.glue_mutex_init(&m, "fake-op") == HUSK_OK)
        GlueAPI.glue_mutex_destroy(&m)
    }

    func provider(name: String) -> socket_provider {
        var p = socket_provider()
        p.name = UnsafePointer(strdup(name))
        p.priv = arg
        p.socket = { priv, family, type, out in
            FakeStack.touchGlue()
            let s = FakeStack.from(priv)
            s.note("socket \(family) \(type)")
            s.open.withLock { $0 += 1 }
            out!.pointee = UnsafeMutableRawPointer.allocate(byteCount: 8, alignment: 8)
            return HUSK_OK
        }
        p.bind = { priv, _, a in
            FakeStack.from(priv).note("bind \(a!.pointee.port)")
            return a!.pointee.port == 80 ? HUSK_EADDRINUSE : HUSK_OK
        }
        p.listen = { _, _, _ in HUSK_OK }
        p.accept = { priv, _, _, _ in
            FakeStack.from(priv).note("accept")
            return HUSK_EAGAIN
        }
        p.connect = { _, _, _ in HUSK_EINPROGRESS }
        p.send = { _, _, _, len, _, sent in
            sent!.pointee = len
            return HUSK_OK
        }
        p.recv = { _, _, _, _, _, _, _ in HUSK_EAGAIN }
        p.shutdown = { _, _, _ in HUSK_OK }
        p.close = { priv, s in
            FakeStack.touchGlue()
            let f = FakeStack.from(priv)
            f.note("close")
            f.open.withLock { $0 -= 1 }
            s!.deallocate()
        }
        p.getname = { _, _, _, out in
            out!.pointee.family = UInt16(SOCKET_AF_INET)
            out!.pointee.port = 7
            return HUSK_OK
        }
        p.setopt = { _, _, option, _ in option == SOCKET_OPT_NODELAY ? HUSK_ENOPROTOOPT : HUSK_OK }
        p.getopt = { _, _, _, v in
            v!.pointee = 0
            return HUSK_OK
        }
        // Never ready: waits the whole timeout (ignoring cancellation, as lwIP does).
        p.poll = { _, items, n, ms in
            FakeStack.touchGlue()
            for i in 0..<Int(n) { items![i].revents = 0 }
            usleep(ms * 1000)
            return HUSK_OK
        }
        return p
    }
}

final class SocketRegistryTests: XCTestCase {
    /// Run `body` on a host thread of no component with a hypercall thread
    /// record, so that it can be cancelled as an RPC worker is.
    /// A host thread of no component with a hypercall thread record, so
    /// that it can be cancelled as an RPC worker is; `body`'s result is kept.
    final class Worker: @unchecked Sendable {
        // @unchecked: `state` locks itself; the rest is set before the thread starts.
        let body: @Sendable () -> String
        let state = Mutex<String?>(nil)
        var handle: husk_handle = 0
        init(_ b: @escaping @Sendable () -> String) { body = b }
        var outcome: String? { state.withLock { $0 } }

        static func start(_ body: @escaping @Sendable () -> String) -> Worker {
            let w = Worker(body)
            let r = HypercallThreads.create(
                ctx: nil, name: "sock-worker",
                fn: { arg in
                    let w = Unmanaged<Worker>.fromOpaque(arg!).takeRetainedValue()
                    let result = w.body()
                    w.state.withLock { $0 = result }
                }, arg: Unmanaged.passRetained(w).toOpaque(), joinable: false, hostThread: true)
            guard case .success(let h) = r else { fatalError("cannot start a worker thread") }
            w.handle = h
            return w
        }
    }

    /// `attempt` made blocking on `sock`, as a string: "ok" or the error.
    static func blockingOutcome(_ sock: Glue.Socket, _ events: UInt32, _ attempt: () throws(Glue.SocketError) -> Void) -> String {
        do throws(Glue.SocketError) {
            try sock.blocking(events, timeoutMs: nil, attempt)
            return "ok"
        } catch { return error.description }
    }

    func testRegistrationRulesAndOpsActForTheProvider() throws {
        let fake = FakeStack()
        try GlueHarness.run {
            var p = fake.provider(name: "fake")
            XCTAssertEqual(GlueAPI.glue_socket_provider_register(&p), HUSK_OK)
            var twin = fake.provider(name: "fake")
            XCTAssertEqual(GlueAPI.glue_socket_provider_register(&twin), HUSK_EEXIST)
            var bad = fake.provider(name: "no poll")
            XCTAssertEqual(GlueAPI.glue_socket_provider_register(&bad), HUSK_EINVAL, "a space in the name")
            var nopoll = fake.provider(name: "nopoll")
            nopoll.poll = nil
            XCTAssertEqual(GlueAPI.glue_socket_provider_register(&nopoll), HUSK_EINVAL)
            XCTAssertEqual(Glue.socketProviderNames(), ["fake"])

            // From a thread of no component: the glue acts for the provider.
            let t = Worker.start {
                guard let stack = Glue.SocketStack(named: "fake") else { return "no provider" }
                var results: [String] = []
                do throws(Glue.SocketError) {
                    let s = try stack.socket(family: Glue.SocketAddress.inet, type: UInt32(SOCKET_STREAM))
                    let a = Glue.SocketAddress(family: Glue.SocketAddress.inet, address: [0, 0, 0, 0], port: 80)!
                    do throws(Glue.SocketError) { try s.bind(a) } catch { results.append("bind \(error)") }
                    do throws(Glue.SocketError) { try s.setOption(UInt32(SOCKET_OPT_NODELAY), 1) } catch {
                        results.append("nodelay \(error)")
                    }
                    do throws(Glue.SocketError) { _ = try s.accept() } catch { results.append("accept \(error)") }
                    results.append("name \((try? s.name(peer: false))?.description ?? "?")")
                    s.close()
                    do throws(Glue.SocketError) { _ = try s.accept() } catch { results.append("closed \(error)") }
                } catch { results.append("socket \(error)") }
                return results.joined(separator: ", ")
            }
            XCTAssertTrue(GlueHarness.waitUntil { t.outcome != nil })
            XCTAssertEqual(t.outcome, "bind EADDRINUSE, nodelay ENOPROTOOPT, accept EAGAIN, name 0.0.0.0:7, closed EBADF")
            XCTAssertEqual(fake.open.withLock { $0 }, 0)
            GlueAPI.glue_socket_provider_unregister(&p)
            XCTAssertNil(Glue.SocketStack(named: "fake"))
        }
    }

    /// A blocked accept ends with EINTR soon after its thread is cancelled,
    /// although the provider's poll ignores cancellation; a blocked recv
    /// ends with EBADF when another thread closes the socket.
    func testBlockedCallsEndOnCancelAndOnClose() throws {
        let fake = FakeStack()
        try GlueHarness.run {
            var p = fake.provider(name: "fake")
            XCTAssertEqual(GlueAPI.glue_socket_provider_register(&p), HUSK_OK)
            let stack = Glue.SocketStack(named: "fake")!
            let listener = try! stack.socket(family: Glue.SocketAddress.inet, type: UInt32(SOCKET_STREAM))
            let worker = Worker.start {
                Self.blockingOutcome(listener, SOCKET_POLLIN) { () throws(Glue.SocketError) in _ = try listener.accept() }
            }
            usleep(200_000)
            XCTAssertNil(worker.outcome, "still blocked")
            let cancelled = GlueAPI.glue_uptime_ns()
            XCTAssertEqual(HypercallThreads.cancel(worker.handle), HUSK_OK)
            XCTAssertTrue(GlueHarness.waitUntil { worker.outcome != nil })
            let took = (GlueAPI.glue_uptime_ns() - cancelled) / 1_000_000
            XCTAssertEqual(worker.outcome, "EINTR")
            XCTAssertLessThan(took, 1000, "noticed within a few wait slices (\(took) ms)")

            let conn = try! stack.socket(family: Glue.SocketAddress.inet6, type: UInt32(SOCKET_STREAM))
            let reader = Worker.start {
                let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: 16, alignment: 8)
                defer { buf.deallocate() }
                return Self.blockingOutcome(conn, SOCKET_POLLIN) { () throws(Glue.SocketError) in _ = try conn.receive(into: buf) }
            }
            usleep(100_000)
            conn.close()
            XCTAssertTrue(GlueHarness.waitUntil { reader.outcome != nil })
            XCTAssertEqual(reader.outcome, "EBADF")

            // A timeout, then the withdrawal closes what is left.
            do throws(Glue.SocketError) {
                _ = try listener.wait(for: UInt32(SOCKET_POLLIN), timeoutMs: 50)
                XCTFail("nothing is ever ready")
            } catch { XCTAssertEqual(error.code, HUSK_ETIMEDOUT) }
            XCTAssertEqual(fake.open.withLock { $0 }, 1)
            GlueAPI.glue_socket_provider_unregister(&p)
            XCTAssertEqual(fake.open.withLock { $0 }, 0, "unregister closed the listener")
            do throws(Glue.SocketError) {
                _ = try listener.accept()
                XCTFail("closed")
            } catch { XCTAssertEqual(error.code, HUSK_EBADF) }
        }
    }
}
