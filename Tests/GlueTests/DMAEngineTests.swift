import GlueAPI
import HypercallABI
import XCTest

/// The dma_engine registry with an engine provided by the test itself:
/// names, limits checked by the glue, channels that outlive their engine.
final class DMAEngineTests: XCTestCase {
    /// The fake engine records its calls and completes at once.
    private static let copy:
        @convention(c) (UnsafeMutableRawPointer?, UInt64, UInt64, UInt64, dma_done_fn?, UnsafeMutableRawPointer?) -> Int32 = {
            priv, dst, src, len, done, arg in
            Recorder.from(priv).append(Int(len))
            done?(arg, HUSK_OK)
            return HUSK_OK
        }
    private static let done: dma_done_fn = { arg, status in Recorder.from(arg).set("done \(status)") }

    func testRegistryLifecycle() throws {
        let calls = Recorder(), client = Recorder()
        try GlueHarness.run {
            var e = dma_engine()
            e.name = UnsafePointer(strdup("fake"))
            e.copy = Self.copy
            e.priv = calls.arg
            e.max_len = 1024
            e.max_bus_addr = 1 << 20
            XCTAssertEqual(glue_dma_engine_register(&e), HUSK_OK)
            var twin = e
            XCTAssertEqual(glue_dma_engine_register(&twin), HUSK_EEXIST, "name taken")
            var nameless = dma_engine()
            XCTAssertEqual(glue_dma_engine_register(&nameless), HUSK_EINVAL)

            guard let ch = glue_dma_engine_get(nil) else { return XCTFail("no engine") }
            XCTAssertEqual(glue_dma_engine_copy(ch, 0x1000, 0x2000, 512, Self.done, client.arg), HUSK_OK)
            XCTAssertEqual(calls.values, [512])
            XCTAssertTrue(client.has("done 0"))
            XCTAssertEqual(glue_dma_engine_copy(ch, 0x1000, 0x2000, 1025, Self.done, client.arg), HUSK_EINVAL, "above max_len")
            XCTAssertEqual(
                glue_dma_engine_copy(ch, (1 << 20) - 16, 0x2000, 17, Self.done, client.arg), HUSK_EINVAL, "dst beyond max_bus_addr")
            XCTAssertEqual(
                glue_dma_engine_copy(ch, (1 << 20) - 16, 0x2000, 16, Self.done, client.arg), HUSK_OK, "ends exactly at the limit")
            XCTAssertEqual(calls.values, [512, 16], "refused copies never reach the engine")

            glue_dma_engine_unregister(&e)
            XCTAssertEqual(glue_dma_engine_copy(ch, 0x1000, 0x2000, 8, Self.done, client.arg), HUSK_ENODEV)
            XCTAssertNil(glue_dma_engine_get("fake"))
            glue_dma_engine_put(ch)
            XCTAssertEqual(calls.values, [512, 16])
        }
    }
}
