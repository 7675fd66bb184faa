import GlueAPI
import HypercallABI
import XCTest

/// bus_dma: CPU -> bus translation and its refusals, on the sim backend
/// (whose IOMMU makes bus addresses differ from CPU addresses).
final class BusDMATests: XCTestCase {
    func testLoadTranslatesInsideDMAMemory() throws {
        try GlueHarness.run(backend: "sim") {
            var seg = bus_dma_segment_t()
            XCTAssertEqual(glue_bus_dmamem_alloc(8192, 0, 0, &seg), HUSK_OK)
            XCTAssertNotNil(seg.ds_vaddr)
            XCTAssertEqual(seg.ds_len, 8192)
            var map: bus_dmamap_t?
            XCTAssertEqual(glue_bus_dmamap_create(8192, 0, &map), HUSK_OK)
            XCTAssertEqual(glue_bus_dmamap_load(map, seg.ds_vaddr! + 100, 200), HUSK_OK)
            XCTAssertEqual(map!.pointee.dm_nsegs, 1)
            XCTAssertEqual(map!.pointee.dm_mapsize, 200)
            XCTAssertEqual(map!.pointee.dm_segs.ds_addr, seg.ds_addr + 100)
            XCTAssertEqual(glue_bus_dmamap_load(map, seg.ds_vaddr, 10), HUSK_EBUSY, "load of a loaded map")
            glue_bus_dmamap_unload(map)
            XCTAssertEqual(map!.pointee.dm_nsegs, 0)
            XCTAssertEqual(glue_bus_dmamap_load(map, seg.ds_vaddr, 8192), HUSK_OK, "the whole buffer")
            glue_bus_dmamap_unload(map)
            glue_bus_dmamap_destroy(map)
            glue_bus_dmamem_free(&seg)
        }
    }

    func testLoadRefusesWhatIsNotDMAMemory() throws {
        try GlueHarness.run(backend: "sim") {
            var seg = bus_dma_segment_t()
            XCTAssertEqual(glue_bus_dmamem_alloc(4096, 0, 0, &seg), HUSK_OK)
            var map: bus_dmamap_t?
            XCTAssertEqual(glue_bus_dmamap_create(1 << 20, 0, &map), HUSK_OK)
            let plain = glue_kmem_alloc(4096, KM_SLEEP)!
            XCTAssertEqual(glue_bus_dmamap_load(map, plain, 64), HUSK_EINVAL, "kmem memory")
            XCTAssertEqual(glue_bus_dmamap_load(map, seg.ds_vaddr! + 4000, 200), HUSK_EINVAL, "crosses the end")
            XCTAssertEqual(glue_bus_dmamap_load(map, seg.ds_vaddr! + 4096, 1), HUSK_EINVAL, "just past the end")
            XCTAssertEqual(glue_bus_dmamap_load(map, seg.ds_vaddr, 0), HUSK_EINVAL, "empty")
            XCTAssertEqual(glue_bus_dmamap_load(map, nil, 16), HUSK_EINVAL, "NULL")
            XCTAssertEqual(map!.pointee.dm_nsegs, 0, "a failed load leaves the map unloaded")
            glue_kmem_free(plain, 4096)
            glue_bus_dmamap_destroy(map)

            var small: bus_dmamap_t?
            XCTAssertEqual(glue_bus_dmamap_create(128, 0, &small), HUSK_OK)
            XCTAssertEqual(glue_bus_dmamap_load(small, seg.ds_vaddr, 129), HUSK_EINVAL, "above maxsize")
            glue_bus_dmamap_destroy(small)

            // A map whose limit ends below the buffer refuses it.
            var narrow: bus_dmamap_t?
            XCTAssertEqual(glue_bus_dmamap_create(4096, seg.ds_addr + 100, &narrow), HUSK_OK)
            XCTAssertEqual(glue_bus_dmamap_load(narrow, seg.ds_vaddr, 100), HUSK_OK, "ends exactly at the limit")
            glue_bus_dmamap_unload(narrow)
            XCTAssertEqual(glue_bus_dmamap_load(narrow, seg.ds_vaddr, 101), HUSK_EINVAL, "ends above the limit")
            glue_bus_dmamap_destroy(narrow)

            // After free the memory is no longer DMA memory.
            let cpu = seg.ds_vaddr!
            glue_bus_dmamem_free(&seg)
            var m2: bus_dmamap_t?
            XCTAssertEqual(glue_bus_dmamap_create(4096, 0, &m2), HUSK_OK)
            XCTAssertEqual(glue_bus_dmamap_load(m2, cpu, 16), HUSK_EINVAL, "freed DMA memory")
            glue_bus_dmamap_destroy(m2)
        }
    }

    func testAllocationHonoursAddressLimit() throws {
        try GlueHarness.run(backend: "sim") {
            var seg = bus_dma_segment_t()
            XCTAssertEqual(glue_bus_dmamem_alloc(65536, 0, 1 << 28, &seg), HUSK_OK)
            XCTAssertLessThanOrEqual(seg.ds_addr + 65536, 1 << 28)
            XCTAssertEqual(seg.ds_addr % 4096, 0)
            glue_bus_dmamem_free(&seg)
        }
    }
}
