import GlueAPI
import HypercallABI
import XCTest

/// callout(9): deadlines, periodic re-arming, stop/halt semantics and the
/// clean-up Glue.componentFinished does for callouts left running.
final class CalloutTests: XCTestCase {
    private static let tick: @convention(c) (UnsafeMutableRawPointer?) -> Void = { Recorder.from($0).tick() }

    func testOneShotFiresOnceAtOrAfterDeadline() throws {
        let rec = Recorder()
        try GlueHarness.run {
            let c = UnsafeMutablePointer<callout_t>.allocate(capacity: 1)
            XCTAssertEqual(glue_callout_init(c, Self.tick, rec.arg), HUSK_OK)
            XCTAssertFalse(glue_callout_pending(c))
            let start = glue_uptime_ns()
            glue_callout_schedule(c, 30_000_000)
            XCTAssertTrue(glue_callout_pending(c))
            XCTAssertTrue(GlueHarness.waitUntil { rec.count >= 1 })
            _ = glue_sleep_ns(100_000_000)  // a second firing would show by now
            XCTAssertEqual(rec.count, 1)
            XCTAssertGreaterThanOrEqual(rec.times[0], start + 30_000_000)
            XCTAssertFalse(glue_callout_pending(c))
            glue_callout_destroy(c)
        }
    }

    func testRescheduleReplacesDeadline() throws {
        let rec = Recorder()
        try GlueHarness.run {
            let c = UnsafeMutablePointer<callout_t>.allocate(capacity: 1)
            XCTAssertEqual(glue_callout_init(c, Self.tick, rec.arg), HUSK_OK)
            let start = glue_uptime_ns()
            glue_callout_schedule(c, 10_000_000)
            glue_callout_schedule(c, 80_000_000)  // replaces the 10 ms one
            XCTAssertTrue(GlueHarness.waitUntil { rec.count >= 1 })
            _ = glue_sleep_ns(50_000_000)
            XCTAssertEqual(rec.count, 1)
            XCTAssertGreaterThanOrEqual(rec.times[0], start + 80_000_000)
            glue_callout_destroy(c)
        }
    }

    func testPeriodicFiresRepeatedlyUntilHalted() throws {
        let rec = Recorder()
        try GlueHarness.run {
            let c = UnsafeMutablePointer<callout_t>.allocate(capacity: 1)
            XCTAssertEqual(glue_callout_init(c, Self.tick, rec.arg), HUSK_OK)
            let start = glue_uptime_ns()
            glue_callout_schedule_periodic(c, 10_000_000)
            XCTAssertTrue(GlueHarness.waitUntil { rec.count >= 5 })
            _ = glue_callout_halt(c)
            let n = rec.count
            _ = glue_sleep_ns(60_000_000)
            XCTAssertEqual(rec.count, n, "a halted periodic callout fired again")
            let t = rec.times
            XCTAssertGreaterThanOrEqual(t[0], start + 10_000_000)
            for i in 1..<t.count { XCTAssertGreaterThan(t[i], t[i - 1]) }
            glue_callout_destroy(c)
        }
    }

    func testStopCancelsPendingAndReportsIt() throws {
        let rec = Recorder()
        try GlueHarness.run {
            let c = UnsafeMutablePointer<callout_t>.allocate(capacity: 1)
            XCTAssertEqual(glue_callout_init(c, Self.tick, rec.arg), HUSK_OK)
            glue_callout_schedule(c, 1_000_000_000)  // far enough that a slow machine still stops it first
            XCTAssertTrue(glue_callout_stop(c), "stop of a pending callout returns true")
            XCTAssertFalse(glue_callout_stop(c), "stop of an idle callout returns false")
            XCTAssertFalse(glue_callout_pending(c))
            _ = glue_sleep_ns(150_000_000)
            XCTAssertEqual(rec.count, 0)
            glue_callout_destroy(c)
        }
    }

    private static let slow: @convention(c) (UnsafeMutableRawPointer?) -> Void = { arg in
        let r = Recorder.from(arg)
        r.set("started")
        _ = glue_sleep_ns(300_000_000)
        r.set("finished")
    }

    func testHaltWaitsForRunningHandlerButStopDoesNot() throws {
        let rec = Recorder()
        try GlueHarness.run {
            let c = UnsafeMutablePointer<callout_t>.allocate(capacity: 1)
            XCTAssertEqual(glue_callout_init(c, Self.slow, rec.arg), HUSK_OK)
            glue_callout_schedule(c, 0)
            XCTAssertTrue(GlueHarness.waitUntil { rec.has("started") })
            XCTAssertFalse(glue_callout_stop(c), "running, not pending")
            XCTAssertFalse(rec.has("finished"), "stop must not wait for the handler")
            XCTAssertFalse(glue_callout_halt(c))
            XCTAssertTrue(rec.has("finished"), "halt returned while the handler still ran")
            glue_callout_destroy(c)
        }
    }

    func testComponentFinishedStopsLeftoverCallouts() throws {
        let rec = Recorder()
        try GlueHarness.run {
            let c = UnsafeMutablePointer<callout_t>.allocate(capacity: 1)
            XCTAssertEqual(glue_callout_init(c, Self.tick, rec.arg), HUSK_OK)
            glue_callout_schedule_periodic(c, 5_000_000)
            XCTAssertTrue(GlueHarness.waitUntil { rec.count >= 2 })
            // No halt, no destroy: the host's shutdown must clean up.
        }
        let n = rec.count
        usleep(50_000)
        XCTAssertEqual(rec.count, n, "callout kept firing after its component finished")
    }
}
