import Foundation
import Glibc
import Glue
import GlueAPI
import HuskTestSupport
import Platform
import RPCClient
import RPCEcho
import RPCInterfaces
import RPCServer
import RPCTransport
import RPCWire
import XCTest

/// Issue 3, signal propagation (client → server), events (server → client),
/// reconnect + idempotent retry + ESTALE, caller credentials through the
/// glue. Real `husk echo serve` processes over real sockets.
final class RPCSignalTests: XCTestCase {

    // MARK: client → server: a signal interrupting a call

    func testSignalWithoutSARestartCancelsTheCall() throws {
        let dir = try scratchDir(self)
        let server = try EchoServerProcess(self, dir: dir)
        let c = try EchoSession.connect(path: server.socket)
        installCountingHandler(SIGALRM, flags: 0)
        let before = caught(SIGALRM)
        let killedAt = Locked<UInt64>(0)
        signalLater(pthread_self(), SIGALRM, afterMs: 300, at: killedAt)
        let start = monotonicNanos()
        var status: Int32 = 0
        do {
            _ = try c.sleep(ms: 2000)
            XCTFail("sleep(2000) should have been interrupted")
        } catch { status = error.status }
        let end = monotonicNanos()
        XCTAssertEqual(status, RPCStatus.intr, "EINTR expected")
        XCTAssertEqual(caught(SIGALRM), before + 1, "the application's handler ran")
        let afterSignalMs = Double(end - killedAt.get()) / 1e6
        print("RPCSignalTests: EINTR returned \(afterSignalMs) ms after SIGALRM")
        XCTAssertLessThan(afterSignalMs, 150, "returned \(afterSignalMs) ms after the signal")
        XCTAssertLessThan(Double(end - start) / 1e6, 1500)
        XCTAssertTrue(server.waitForLog("cancelled by the client"), "server log: \(server.log)")
        // The connection is still good, and the eventfd left no stale wake-up.
        XCTAssertGreaterThanOrEqual(try c.sleep(ms: 50), 50)
    }

    func testSignalWithSARestartKeepsWaitingForTheSameRequest() throws {
        let dir = try scratchDir(self)
        let server = try EchoServerProcess(self, dir: dir)
        let c = try EchoSession.connect(path: server.socket)
        installCountingHandler(SIGALRM, flags: Int32(SA_RESTART))
        defer { installCountingHandler(SIGALRM, flags: 0) }
        let before = caught(SIGALRM)
        let killedAt = Locked<UInt64>(0)
        signalLater(pthread_self(), SIGALRM, afterMs: 300, at: killedAt)
        let slept = try c.sleep(ms: 1500)
        XCTAssertGreaterThanOrEqual(slept, 1500, "the full sleep")
        XCTAssertEqual(caught(SIGALRM), before + 1, "the handler ran during the call")
        XCTAssertFalse(server.log.contains("cancelled by the client"), server.log)
        let st = try c.rpc.stats()
        XCTAssertEqual(st.operations.first { $0.interface == 1 && $0.operation == 4 }?.calls, 1, "never re-sent")
    }

    func testTaskCancellationCancelsAnAsyncCall() async throws {
        let dir = try scratchDir(self)
        let server = try EchoServerProcess(self, dir: dir)
        let c = try RPCClient.connect(path: server.socket, require: [(Echo.interfaceID, Echo.interfaceVersion)])
        let payload = EchoSession.sleepPayload(ms: 2000)
        let task = Task { () async throws -> RPCResponse in
            try await c.call(interface: Echo.interfaceID, operation: EchoHandler.Op.sleep, payload: payload)
        }
        try await Task.sleep(nanoseconds: 200_000_000)
        let start = monotonicNanos()
        task.cancel()
        let result = await task.result
        let ms = Double(monotonicNanos() - start) / 1e6
        switch result {
        case .success: XCTFail("the cancelled call should not complete")
        case .failure(let e): XCTAssertEqual((e as? RPCError)?.status, RPCStatus.intr)
        }
        XCTAssertLessThan(ms, 500)
        XCTAssertTrue(server.waitForLog("cancelled by the client"), server.log)
        // An uncancelled async call completes normally.
        let r = try await c.call(interface: Echo.interfaceID, operation: EchoHandler.Op.sleep, payload: EchoSession.sleepPayload(ms: 20))
        XCTAssertGreaterThanOrEqual(try EchoSession.decodeSleepReply(r.payload), 20)
    }

    // MARK: server → client: events delivered as signals

    func testEventIsDeliveredAsASignalAfterTheDelay() throws {
        let dir = try scratchDir(self)
        let server = try EchoServerProcess(self, dir: dir)
        let c = try EchoSession.connect(path: server.socket)
        installCountingHandler(SIGUSR2, flags: Int32(SA_RESTART))
        let got = Locked<UInt64>(0)
        c.rpc.onEvent = { h, body in
            if h.interface == Echo.interfaceID && h.operation == EchoHandler.Op.notify && body == [UInt8(SIGUSR2), 0, 0, 0] {
                got.set(monotonicNanos())
            }
        }
        // Process-directed: the event names the signal (registration 0).
        c.rpc.registerEventSignal(interface: Echo.interfaceID, operation: EchoHandler.Op.notify, signal: 0, target: .process)
        var before = caught(SIGUSR2)
        let start = monotonicNanos()
        try c.notify(delayMs: 300, signal: UInt32(SIGUSR2))
        XCTAssertEqual(caught(SIGUSR2), before, "not before the delay")
        var end = monotonicNanos() + 5_000_000_000
        while caught(SIGUSR2) == before && monotonicNanos() < end { usleep(5_000) }
        let ms = Double(monotonicNanos() - start) / 1e6
        XCTAssertEqual(caught(SIGUSR2), before + 1, "signal delivered")
        XCTAssertGreaterThanOrEqual(ms, 290)
        XCTAssertNotEqual(got.get(), 0, "onEvent saw the event and its payload")

        // Thread-directed, with the client's own choice of signal.
        c.rpc.registerEventSignal(interface: Echo.interfaceID, operation: EchoHandler.Op.notify, signal: SIGUSR2, target: .currentThread)
        before = caught(SIGUSR2)
        try c.notify(delayMs: 100, signal: 0)
        end = monotonicNanos() + 5_000_000_000
        while caught(SIGUSR2) == before && monotonicNanos() < end { usleep(5_000) }
        XCTAssertEqual(caught(SIGUSR2), before + 1, "signal delivered to this thread")
        c.rpc.unregisterEventSignal(interface: Echo.interfaceID, operation: EchoHandler.Op.notify)
        before = caught(SIGUSR2)
        try c.notify(delayMs: 10, signal: UInt32(SIGUSR2))
        usleep(300_000)
        XCTAssertEqual(caught(SIGUSR2), before, "no signal once unregistered")
    }

    // MARK: death, reconnect, idempotent retry, ESTALE

    /// A client of `server` that reconnects (for up to 10 s) after the server died.
    private func reconnectingClient(_ server: EchoServerProcess) throws -> RPCClient {
        try RPCClient.connect(
            path: server.socket, require: [(Echo.interfaceID, Echo.interfaceVersion)], reconnect: .init(timeoutSeconds: 10))
    }

    func testReconnectRetriesOnlyIdempotentCallsAndStaleHandles() throws {
        let dir = try scratchDir(self)
        var server = try EchoServerProcess(self, dir: dir)
        let rpc = try reconnectingClient(server)
        let c = EchoSession(rpc)
        let plain = try EchoSession.connect(path: server.socket)  // no reconnect option
        try c.ping()
        let epoch1 = rpc.server.epoch
        XCTAssertNotEqual(epoch1, 0)
        // A handle (opened object) from this server start.
        let objFD = try c.open(name: "obj")
        let obj = EchoSession(try RPCClient.adopt(fd: objFD, require: [(Echo.interfaceID, 1)], parent: rpc))
        try obj.ping()
        XCTAssertEqual(obj.rpc.server.epoch, epoch1, "opened objects carry the same epoch")

        // In flight at the death: a non-idempotent sleep and an idempotent stat
        // (sent while the server is stopped, so it is surely in flight).
        let sleepResult = Locked<Int32?>(nil)
        HostThread.start(name: "t-sleep", detached: true, blockSignals: true) {
            do throws(RPCError) {
                _ = try c.sleep(ms: 60_000)
                sleepResult.set(0)
            } catch { sleepResult.set(error.status) }
        }
        usleep(200_000)
        server.stop()
        let statResult = Locked<Int32?>(nil)
        HostThread.start(name: "t-stat", detached: true, blockSignals: true) {
            do throws(RPCError) {
                _ = try c.stat()
                statResult.set(0)
            } catch { statResult.set(error.status) }
        }
        usleep(200_000)
        server.kill9()
        XCTAssertEqual(sleepResult.wait(5), RPCStatus.connreset, "non-idempotent call fails with ECONNRESET")
        XCTAssertThrowsError(try plain.ping()) { XCTAssertEqual(($0 as? RPCError)?.status, RPCStatus.connreset) }
        usleep(300_000)  // the idempotent stat is retrying to connect meanwhile
        server = try EchoServerProcess(self, dir: dir)
        XCTAssertEqual(statResult.wait(10), 0, "idempotent call retried on the new connection")
        XCTAssertEqual(rpc.reconnectCount, 1)
        XCTAssertNotEqual(rpc.server.epoch, epoch1, "a new server start, a new epoch")
        // The new server saw exactly one stat (the retry) and no sleep.
        let st = try rpc.stats()
        XCTAssertEqual(st.operations.first { $0.interface == 1 && $0.operation == 3 }?.calls, 1)
        XCTAssertNil(st.operations.first { $0.interface == 1 && $0.operation == 4 })
        // Non-idempotent calls after the reconnect work (they were never sent before).
        XCTAssertGreaterThanOrEqual(try c.sleep(ms: 5), 5)
        // The handle from before the restart is stale.
        XCTAssertThrowsError(try obj.ping()) { XCTAssertEqual(($0 as? RPCError)?.status, RPCStatus.stale, "\($0)") }
        // A client without the reconnect option stays dead.
        XCTAssertThrowsError(try plain.ping()) { XCTAssertEqual(($0 as? RPCError)?.status, RPCStatus.connreset) }
    }

    /// The async call takes the same path as the synchronous one: after the
    /// server died and came back, an idempotent async call reconnects and
    /// succeeds, and a handle from before is stale for async calls too.
    func testAsyncCallsRetryLikeSynchronousOnes() async throws {
        let dir = try scratchDir(self)
        var server = try EchoServerProcess(self, dir: dir)
        let rpc = try reconnectingClient(server)
        _ = try await rpc.call(interface: Echo.interfaceID, operation: 1, idempotent: true)
        let objFD = try EchoSession(rpc).open(name: "obj")
        let obj = try RPCClient.adopt(fd: objFD, require: [(Echo.interfaceID, 1)], parent: rpc)
        server.kill9()
        XCTAssertTrue(waitUntil(5) { !rpc.isConnected }, "the client notices the death")
        server = try EchoServerProcess(self, dir: dir)
        _ = try await rpc.call(interface: Echo.interfaceID, operation: 3, idempotent: true)
        XCTAssertEqual(rpc.reconnectCount, 1, "the idempotent async call reconnected")
        do {
            _ = try await obj.call(interface: Echo.interfaceID, operation: 1, idempotent: true)
            XCTFail("a handle from before the restart must be stale")
        } catch {
            XCTAssertEqual(error.status, RPCStatus.stale, "\(error)")
        }
        _ = server
    }

    /// The path the async call used to lack: a server that stays away longer
    /// than one reconnect window makes start() itself fail with ECONNRESET.
    /// Both calls must then behave alike: a non-idempotent call fails, an
    /// idempotent one gets one more window (the retry after start() failed)
    /// and gets through if the server is back within it.
    func testSynchronousCallOutlastsAReconnectWindow() async throws {
        try await assertIdempotentCallOutlastsAReconnectWindow(Self.synchronousPing)
    }

    func testAsyncCallOutlastsAReconnectWindow() async throws {
        try await assertIdempotentCallOutlastsAReconnectWindow(Self.asyncPing)
    }

    /// A plain function, so that overload resolution picks the synchronous call.
    private static func synchronousPing(_ rpc: RPCClient, idempotent: Bool) throws(RPCError) {
        _ = try rpc.call(interface: Echo.interfaceID, operation: EchoHandler.Op.ping, payload: [], descriptors: [], idempotent: idempotent)
    }

    private static func asyncPing(_ rpc: RPCClient, idempotent: Bool) async throws(RPCError) {
        _ = try await rpc.call(interface: Echo.interfaceID, operation: EchoHandler.Op.ping, idempotent: idempotent)
    }

    private func assertIdempotentCallOutlastsAReconnectWindow(
        _ call: (RPCClient, _ idempotent: Bool) async throws(RPCError) -> Void
    ) async throws {
        let dir = try scratchDir(self)
        var server = try EchoServerProcess(self, dir: dir)
        // Wide enough that a loaded machine still brings the server back
        // well inside the second window and well after the first.
        let window = 1.5
        let rpc = try RPCClient.connect(
            path: server.socket, require: [(Echo.interfaceID, Echo.interfaceVersion)], reconnect: .init(timeoutSeconds: window))
        try await call(rpc, false)
        server.kill9()
        XCTAssertTrue(waitUntil(5) { !rpc.isConnected }, "the client notices the death")
        // The new server is up but unreachable: with its socket renamed,
        // every dial fails (ENOENT, which the client reports as ECONNRESET)
        // until the socket is put back. No call runs meanwhile, so no
        // reconnect can slip in between the start and the rename.
        server = try EchoServerProcess(self, dir: dir)
        let socket = server.socket, hidden = server.socket + ".hidden"
        XCTAssertEqual(rename(socket, hidden), 0)
        do {
            try await call(rpc, false)
            XCTFail("a non-idempotent call must fail when its reconnect window expires")
        } catch {
            XCTAssertEqual(error.status, RPCStatus.connreset, "\(error)")
        }
        XCTAssertEqual(rpc.reconnectCount, 0)
        // Back halfway through the second window: only the retry after
        // start() gave up can get there.
        let start = monotonicNanos()
        HostThread.start(name: "t-unhide", detached: true) {
            usleep(useconds_t(1.5 * window * 1e6))
            rename(hidden, socket)
        }
        try await call(rpc, true)
        XCTAssertGreaterThan(Double(monotonicNanos() - start) / 1e9, window, "the call outlasted a failed reconnect window")
        XCTAssertEqual(rpc.reconnectCount, 1, "the idempotent call reconnected")
        _ = server
    }

    func testDeadServerWithoutRestartFailsFastWithECONNRESET() throws {
        let dir = try scratchDir(self)
        let server = try EchoServerProcess(self, dir: dir)
        let rpc = try RPCClient.connect(path: server.socket, reconnect: .init(timeoutSeconds: 0.5))
        let c = EchoSession(rpc)
        try c.ping()
        server.kill9()
        let start = monotonicNanos()
        XCTAssertThrowsError(try c.ping()) { XCTAssertEqual(($0 as? RPCError)?.status, RPCStatus.connreset) }
        XCTAssertLessThan(Double(monotonicNanos() - start) / 1e9, 3)
    }

    // MARK: caller credentials through the glue

    func testCallerCredentialsReachTheGlue() throws {
        var cred = glue_cred()
        XCTAssertEqual(glue_caller_cred(&cred), Int32(HUSK_ENOENT), "no call served on the test thread")
        let dir = try scratchDir(self)
        var config = RPCServer.Configuration(name: "cred-test")
        config.log = { _, _ in }
        let server = RPCServer(configuration: config, handlers: [CredHandler()])
        try server.listen(path: "\(dir)/c.sock")
        defer { server.shutdown(deadline: 1, grace: 1) }
        let rpc = try RPCClient.connect(path: "\(dir)/c.sock", require: [(CredHandler.id, 1)])
        let r = try rpc.call(interface: CredHandler.id, operation: 1, payload: [], descriptors: [], idempotent: true)
        let fields: [UInt32] = r.payload.withUnsafeBytes { b in
            var rd = PayloadReader(b)
            var out: [UInt32] = []
            while let v = rd.u32() { out.append(v) }
            return out
        }
        XCTAssertGreaterThanOrEqual(fields.count, 5)
        XCTAssertEqual(fields[0], 0, "glue_caller_cred status")
        XCTAssertEqual(fields[1], getuid())
        XCTAssertEqual(fields[2], getgid())
        var groups = [gid_t](repeating: 0, count: 256)
        let n = getgroups(256, &groups)
        XCTAssertEqual(Int(fields[3]), min(Int(n), Int(GLUE_CRED_MAX_GROUPS)))
        XCTAssertEqual(Array(fields[5...]), Array(groups.prefix(Int(fields[3]))).map { UInt32($0) })
        XCTAssertEqual(fields[4], 1, "glue_caller_has_gid(primary gid)")
        XCTAssertEqual(glue_caller_cred(&cred), Int32(HUSK_ENOENT), "still nothing here")
    }
}

/// A handler that reads the caller's identity back through the C glue function.
final class CredHandler: RPCInterfaceHandler, @unchecked Sendable {
    static let id: UInt32 = 77
    var interfaceID: UInt32 { Self.id }
    var interfaceVersion: UInt32 { 1 }
    var interfaceName: String { "cred" }
    var operationNames: [UInt32: String] { [1: "who"] }
    func dispatch(operation: UInt32, payload: UnsafeRawBufferPointer, call: any RPCCall) -> RPCReplyBody {
        var c = glue_cred()
        let st = glue_caller_cred(&c)
        var w = PayloadWriter()
        w.u32(UInt32(bitPattern: st))
        w.u32(c.uid)
        w.u32(c.gid)
        w.u32(c.ngroups)
        w.u32(GlueAPI.glue_caller_has_gid(c.gid) ? 1 : 0)
        withUnsafeBytes(of: &c.groups) { raw in
            let g = raw.bindMemory(to: UInt32.self)
            for i in 0..<Int(c.ngroups) { w.u32(g[i]) }
        }
        return RPCReplyBody(payload: w.bytes)
    }
}
