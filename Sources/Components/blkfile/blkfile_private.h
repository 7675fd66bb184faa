/* blkfile_private.h — prefix blkfile: state and functions shared by the
 * component's files (HUSK_PRIVATE). */
#ifndef BLKFILE_PRIVATE_H
#define BLKFILE_PRIVATE_H

#include <husk/glue.h>
#include <husk/hypercall.h>

#define BLKFILE_DEFAULT_NAME "disk0"
#define BLKFILE_PATH_MAX     4096
#define BLKFILE_NAME_MAX     32
#define BLKFILE_QUEUE_DEPTH  64u        /* host requests in flight at once */
#define BLKFILE_MAX_TRANSFER (4u << 20) /* largest single read/write */

/* One host request slot; slots are preallocated so that submit (irq
 * context: it must not allocate) only takes one from the free list. */
struct blkfile_slot {
    struct husk_blk_req hreq;
    struct disk_req *req; /* the consumer's request being served */
    struct blkfile_softc *sc;
    struct blkfile_slot *next_free;
};

struct blkfile_softc {
    husk_ctx *ctx;
    const struct husk_hyp *hyp;
    char path[BLKFILE_PATH_MAX];
    char name[BLKFILE_NAME_MAX];
    bool read_only;
    bool direct;
    uint32_t block_size; /* 0 = the host's sector size */
    husk_handle blk;
    struct disk disk;
    bool registered;
    kmutex_t lock; /* guards free_slots */
    struct blkfile_slot *free_slots;
    struct blkfile_slot slots[BLKFILE_QUEUE_DEPTH];
};

HUSK_PRIVATE int32_t blkfile_read_params(struct blkfile_softc *sc);

#endif
