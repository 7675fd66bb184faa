/*
 * husk/glue/bus_dma.h — memory a device can reach (NetBSD bus_dma(9),
 * reduced to what drivers here need).
 *
 * bus_dmamem_alloc gives one physically/IOVA-contiguous buffer with both a
 * CPU pointer and a bus address (hyp->dma_alloc: under an IOMMU the two
 * differ). A DMA map translates a range of such memory to the bus address
 * a device is programmed with, checking that the range is DMA memory and
 * fits the device's address limit. bus_dmamap_sync orders CPU accesses
 * against the device around a transfer.
 *
 * Differences from NetBSD, and why: one call allocates and maps (the host
 * returns both addresses at once); a map has one segment (every buffer is
 * bus-contiguous); no tag (one DMA address space per host).
 */
#ifndef HUSK_GLUE_BUS_DMA_H
#define HUSK_GLUE_BUS_DMA_H

#include <husk/glue/base.h>
#include <husk/glue/barrier.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bus_dma_segment {
    bus_addr_t ds_addr; /* bus address: program the device with this */
    bus_size_t ds_len;
    void *ds_vaddr;        /* CPU address */
    husk_handle ds_handle; /* glue-private */
    husk_ctx *ds_ctx;      /* glue-private: owning component */
} bus_dma_segment_t;

struct glue_dmamap {
    bus_size_t dm_maxsize; /* largest load accepted */
    bus_addr_t dm_maxaddr; /* loads must end at or below this bus address (0: any) */
    bus_size_t dm_mapsize; /* bytes loaded, 0 when unloaded */
    uint32_t dm_nsegs;     /* 0 or 1 */
    uint32_t dm_reserved;
    bus_dma_segment_t dm_segs[1];
};
typedef struct glue_dmamap *bus_dmamap_t;

/* [blocks: no] [irq: no] Zeroed DMA memory of size bytes, bus address
 * aligned to align (power of two; 0 = page size), wholly below maxaddr
 * (0: no limit) — pass the device's DMA limit here. 0, HUSK_EINVAL,
 * HUSK_ENOMEM, HUSK_ENODEV (host without DMA). */
int glue_bus_dmamem_alloc(bus_size_t size, bus_size_t align, bus_addr_t maxaddr, bus_dma_segment_t *seg);
/* [blocks: no] [irq: no] Free; the device must no longer use it. */
void glue_bus_dmamem_free(bus_dma_segment_t *seg);

/* [blocks: no] [irq: no] A map for loads of at most maxsize bytes that must
 * lie below bus address maxaddr (0: no limit). 0, HUSK_EINVAL, HUSK_ENOMEM. */
int glue_bus_dmamap_create(bus_size_t maxsize, bus_addr_t maxaddr, bus_dmamap_t *out);
/* [blocks: no] [irq: yes] Translate [buf, buf+len) to a bus address in
 * dm_segs[0]. 0; HUSK_EINVAL if len is 0 or above dm_maxsize, if the range
 * is not inside one DMA buffer (any component's) or ends above dm_maxaddr;
 * HUSK_EBUSY if the map is loaded. */
int glue_bus_dmamap_load(bus_dmamap_t map, void *buf, bus_size_t len);
/* [blocks: no] [irq: yes] Forget the load. */
void glue_bus_dmamap_unload(bus_dmamap_t map);
/* [blocks: no] [irq: no] Free the map. NULL is ignored. */
void glue_bus_dmamap_destroy(bus_dmamap_t map);

/* ---- Synchronisation around a transfer. PRE* before starting the device,
 * POST* after seeing it finish (interrupt or status register).
 *   PREWRITE:  the CPU filled the buffer, the device will read it: the
 *              CPU's stores must be visible before the doorbell write.
 *   PREREAD:   the device will write it: earlier CPU stores to it must not
 *              land after the device's.
 *   POSTREAD:  the device wrote it: the CPU's later loads must not be
 *              satisfied before the completion was observed.
 *   POSTWRITE: nothing to do on coherent hosts.
 * [blocks: no] [irq: yes] */
#define BUS_DMASYNC_PREREAD   0x01
#define BUS_DMASYNC_POSTREAD  0x02
#define BUS_DMASYNC_PREWRITE  0x04
#define BUS_DMASYNC_POSTWRITE 0x08
static inline void bus_dmamap_sync(bus_dmamap_t map, bus_addr_t offset, bus_size_t len, int ops) {
    (void)map;
    (void)offset;
    (void)len;
    if (ops & (BUS_DMASYNC_PREREAD | BUS_DMASYNC_PREWRITE)) dev_wmb();
    if (ops & BUS_DMASYNC_POSTREAD) dev_rmb();
}

static inline int bus_dmamem_alloc(bus_size_t size, bus_size_t align, bus_addr_t maxaddr, bus_dma_segment_t *seg) {
    return glue_bus_dmamem_alloc(size, align, maxaddr, seg);
}
static inline void bus_dmamem_free(bus_dma_segment_t *seg) { glue_bus_dmamem_free(seg); }
static inline int bus_dmamap_create(bus_size_t maxsize, bus_addr_t maxaddr, bus_dmamap_t *out) {
    return glue_bus_dmamap_create(maxsize, maxaddr, out);
}
static inline int bus_dmamap_load(bus_dmamap_t map, void *buf, bus_size_t len) {
    return glue_bus_dmamap_load(map, buf, len);
}
static inline void bus_dmamap_unload(bus_dmamap_t map) { glue_bus_dmamap_unload(map); }
static inline void bus_dmamap_destroy(bus_dmamap_t map) { glue_bus_dmamap_destroy(map); }

#ifdef __cplusplus
}
#endif

#endif
