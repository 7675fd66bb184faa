import EduComponent
import GlueAPI
import HuskHost
import HypercallABI
import XCTest

/// The edu driver end to end on the sim backend's edu model: another
/// component borrows its dma_engine and copies through the device.
final class EduDriverTests: XCTestCase {
    private static let done: dma_done_fn = { arg, status in
        let r = Recorder.from(arg)
        r.append(Int(status))
    }

    private var edu: ComponentDescriptor {
        let p = UnsafeMutablePointer<husk_component>.allocate(capacity: 1)
        p.initialize(to: husk_component_edu)
        return ComponentDescriptor(raw: UnsafePointer(p), origin: "test")
    }

    func testCopiesThroughTheEduEngine() throws {
        let rec = Recorder()
        try GlueHarness.run(backend: "sim", devices: ["edu"], with: [edu]) {
            guard let ch = glue_dma_engine_get("edu") else { return XCTFail("edu did not register its engine") }
            var maxLen: UInt64 = 0, maxBus: UInt64 = 0
            glue_dma_chan_limits(ch, &maxLen, &maxBus)
            XCTAssertEqual(maxBus, 1 << 28)
            XCTAssertGreaterThanOrEqual(maxLen, 4096)
            XCTAssertEqual(String(cString: glue_dma_chan_name(ch)), "edu")

            let len: UInt64 = 3 * 4096 + 17  // four chunks, the last one short
            var seg = bus_dma_segment_t()
            XCTAssertEqual(glue_bus_dmamem_alloc(2 * len, 0, maxBus, &seg), HUSK_OK)
            let src = seg.ds_vaddr!.assumingMemoryBound(to: UInt8.self)
            for i in 0..<Int(len) { src[i] = UInt8(truncatingIfNeeded: i &* 31 &+ 5) }
            XCTAssertEqual(glue_dma_engine_copy(ch, seg.ds_addr + len, seg.ds_addr, len, Self.done, rec.arg), HUSK_OK)
            XCTAssertTrue(GlueHarness.waitUntil { rec.values.count == 1 })
            XCTAssertEqual(rec.values, [0])
            XCTAssertEqual(memcmp(src, src + Int(len), Int(len)), 0, "copied bytes differ")

            // The glue refuses what the engine cannot reach, without calling it.
            XCTAssertEqual(glue_dma_engine_copy(ch, 1 << 28, seg.ds_addr, 16, Self.done, rec.arg), HUSK_EINVAL)
            XCTAssertEqual(glue_dma_engine_copy(ch, seg.ds_addr, seg.ds_addr, 0, Self.done, rec.arg), HUSK_EINVAL)
            XCTAssertEqual(glue_dma_engine_copy(ch, seg.ds_addr, seg.ds_addr, maxLen + 1, Self.done, rec.arg), HUSK_EINVAL)
            XCTAssertNil(glue_dma_engine_get("no-such-engine"))
            glue_bus_dmamem_free(&seg)
            glue_dma_engine_put(ch)
        }
        XCTAssertEqual(rec.values, [0], "no completion for refused copies")
    }
}
