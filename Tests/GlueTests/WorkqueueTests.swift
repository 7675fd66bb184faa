import GlueAPI
import HypercallABI
import XCTest

/// workqueue(9): FIFO order, at-most-once queueing, drain semantics.
final class WorkqueueTests: XCTestCase {
    /// A work item with its index, reachable from the C callback.
    final class Item: @unchecked Sendable {
        // @unchecked: `wk` is owned by the workqueue while queued (the API's
        // rule); index and recorder are immutable.
        let wk = UnsafeMutablePointer<work>.allocate(capacity: 1)
        let index: Int
        let rec: Recorder
        init(_ i: Int, _ r: Recorder) {
            index = i
            rec = r
            wk.initialize(to: work())
        }
        var arg: UnsafeMutableRawPointer { Unmanaged.passUnretained(self).toOpaque() }
    }
    private static let record: work_fn_t = { _, arg in
        let item = Unmanaged<Item>.fromOpaque(arg!).takeUnretainedValue()
        item.rec.append(item.index)
    }
    private static let recordSlowly: work_fn_t = { _, arg in
        _ = glue_sleep_ns(1_000_000)
        let item = Unmanaged<Item>.fromOpaque(arg!).takeUnretainedValue()
        item.rec.append(item.index)
    }
    private static let block: work_fn_t = { _, arg in
        let item = Unmanaged<Item>.fromOpaque(arg!).takeUnretainedValue()
        item.rec.set("blocker running")
        GlueHarness.waitUntil { item.rec.has("release") }
    }

    func testSingleThreadRunsInEnqueueOrderAndDrainWaits() throws {
        let rec = Recorder()
        let items = (0..<200).map { Item($0, rec) }
        try GlueHarness.run {
            var wq: OpaquePointer?
            XCTAssertEqual(glue_workqueue_create(&wq, "wq-fifo", 1), HUSK_OK)
            for it in items { XCTAssertTrue(glue_workqueue_enqueue(wq, it.wk, Self.record, it.arg)) }
            glue_workqueue_drain(wq)
            XCTAssertEqual(rec.values, Array(0..<200))
            glue_workqueue_destroy(wq)
        }
    }

    func testItemQueuedAtMostOnce() throws {
        let rec = Recorder()
        let blocker = Item(-1, rec), item = Item(7, rec)
        try GlueHarness.run {
            var wq: OpaquePointer?
            XCTAssertEqual(glue_workqueue_create(&wq, "wq-once", 1), HUSK_OK)
            XCTAssertTrue(glue_workqueue_enqueue(wq, blocker.wk, Self.block, blocker.arg))
            XCTAssertTrue(GlueHarness.waitUntil { rec.has("blocker running") })
            XCTAssertTrue(glue_workqueue_enqueue(wq, item.wk, Self.record, item.arg))
            XCTAssertFalse(glue_workqueue_enqueue(wq, item.wk, Self.record, item.arg), "queued twice")
            rec.set("release")
            glue_workqueue_drain(wq)
            XCTAssertEqual(rec.values, [7])
            // Once it ran, the item may be queued again.
            XCTAssertTrue(glue_workqueue_enqueue(wq, item.wk, Self.record, item.arg))
            glue_workqueue_drain(wq)
            XCTAssertEqual(rec.values, [7, 7])
            glue_workqueue_destroy(wq)
        }
    }

    func testDrainWithSeveralThreadsWaitsForAll() throws {
        let rec = Recorder()
        let items = (0..<60).map { Item($0, rec) }
        try GlueHarness.run {
            var wq: OpaquePointer?
            XCTAssertEqual(glue_workqueue_create(&wq, "wq-multi", 4), HUSK_OK)
            for it in items { XCTAssertTrue(glue_workqueue_enqueue(wq, it.wk, Self.recordSlowly, it.arg)) }
            glue_workqueue_drain(wq)
            XCTAssertEqual(rec.values.sorted(), Array(0..<60))
            glue_workqueue_destroy(wq)
        }
    }

    func testCreateRejectsBadThreadCounts() throws {
        try GlueHarness.run {
            var wq: OpaquePointer?
            XCTAssertEqual(glue_workqueue_create(&wq, "wq-bad", 0), HUSK_EINVAL)
            XCTAssertEqual(glue_workqueue_create(&wq, "wq-bad", 65), HUSK_EINVAL)
        }
    }

    func testComponentFinishedDestroysLeftoverQueue() throws {
        let rec = Recorder()
        let items = (0..<10).map { Item($0, rec) }
        try GlueHarness.run {
            var wq: OpaquePointer?
            XCTAssertEqual(glue_workqueue_create(&wq, "wq-leak", 2), HUSK_OK)
            for it in items { _ = glue_workqueue_enqueue(wq, it.wk, Self.recordSlowly, it.arg) }
            // Not drained, not destroyed: shutdown drains and stops it.
        }
        XCTAssertEqual(rec.values.sorted(), Array(0..<10))
    }
}
