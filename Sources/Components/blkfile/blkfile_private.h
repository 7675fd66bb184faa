/* blkfile's state, shared by its files. */
#ifndef BLKFILE_PRIVATE_H
#define BLKFILE_PRIVATE_H

#include <husk/glue.h>
#include <husk/hypercall.h>

#define BF_DEFAULT_NAME  "disk0"
#define BF_PATH_MAX      4096
#define BF_NAME_MAX      32
#define BF_QUEUE_DEPTH   64u          /* host requests in flight at once */
#define BF_MAX_TRANSFER  (4u << 20)   /* largest single read/write */

/* One host request slot; slots are preallocated so that submit (irq
 * context: it must not allocate) only takes one from the free list. */
struct bf_slot {
    struct husk_blk_req hreq;
    struct disk_req *req;          /* the consumer's request being served */
    struct bf_softc *sc;
    struct bf_slot *next_free;
};

struct bf_softc {
    husk_ctx *ctx;
    const struct husk_hyp *hyp;
    char path[BF_PATH_MAX];
    char name[BF_NAME_MAX];
    bool read_only;
    bool direct;
    uint32_t block_size;           /* 0 = the host's sector size */
    husk_handle blk;
    struct disk disk;
    bool registered;
    kmutex_t lock;                 /* guards free_slots */
    struct bf_slot *free_slots;
    struct bf_slot slots[BF_QUEUE_DEPTH];
};

GLUE_PRIVATE int32_t bf_read_params(struct bf_softc *sc);
GLUE_PRIVATE const char *bf_errname(int32_t err);

#endif
