/*
 * husk/glue/disk.h — a registry of block devices ("disks"), in the spirit of
 * NetBSD's disk(9) + strategy routine and Hurd's device interface: a block
 * component (a driver such as virtio_blk, or the file-backed blkfile)
 * registers each device it serves under a name; a server (the block server,
 * the NBD frontend, a file system) opens it by name and submits requests.
 *
 * Providers register a struct disk. Consumers never see it: they hold a
 * struct disk_ref from disk_open, so a provider can unregister (device
 * detached, component unloaded) while consumers still hold references; their
 * submissions then fail with HUSK_ENODEV.
 *
 * Requests carry CPU addresses. A provider whose device needs bus addresses
 * (a DMA engine, virtio) copies through buffers of its own DMA memory; a
 * provider over host I/O (blkfile) uses the memory as it is.
 *
 * Cross-component calls: submit runs on the consumer's thread and `done` on
 * the provider's completion thread (irq context): both must only use objects
 * created earlier, and must not block.
 */
#ifndef HUSK_GLUE_DISK_H
#define HUSK_GLUE_DISK_H

#include <husk/glue/base.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Request operations. */
#define DISK_OP_READ  1u
#define DISK_OP_WRITE 2u
#define DISK_OP_FLUSH 3u /* durable: every write completed before the flush was submitted */

/* disk_info.flags */
#define DISK_F_READONLY 1u /* writes fail with HUSK_EROFS */
#define DISK_F_FLUSH    2u /* the device has a volatile cache; FLUSH reaches the medium */
#define DISK_F_DISCARD  4u /* reserved: no DISK_OP for it yet */

struct disk_info {
    uint64_t block_count;  /* device size in blocks */
    uint32_t block_size;   /* bytes per block: 512 or a power of two up to 64 KiB */
    uint32_t flags;        /* DISK_F_* */
    uint32_t max_transfer; /* largest READ/WRITE in bytes, a multiple of block_size (0: no limit) */
    uint32_t queue_depth;  /* requests the provider accepts at once before HUSK_EAGAIN (0: no limit) */
};

struct disk_req;
typedef void (*disk_done_fn)(struct disk_req *req);

/* One request. The consumer owns it and its data; from a successful submit
 * until `done` has been called the provider may use both, the consumer must
 * not touch them. */
struct disk_req {
    uint32_t op;       /* DISK_OP_* */
    int32_t status;    /* out: 0, HUSK_EIO, HUSK_EROFS, HUSK_ENOTSUP, HUSK_EINTR, ... */
    void *data;        /* READ/WRITE: len bytes of CPU memory */
    uint64_t offset;   /* bytes; a multiple of block_size */
    uint64_t len;      /* bytes; a multiple of block_size, > 0, <= max_transfer (READ/WRITE) */
    disk_done_fn done; /* called exactly once, in irq context */
    void *arg;         /* for the consumer */
    uint64_t provider_private[4];
};

#define DISK_NAME_MAX 31u /* bytes of a disk name, without the NUL */

/* [blocks: no] [irq: yes] Is s a disk name of 1..max_len (<= DISK_NAME_MAX)
 * bytes of [A-Za-z0-9_.-]? The rule disk_register applies; providers that
 * take names from parameters check them with it first. */
static inline bool disk_name_valid(const char *s, size_t max_len) {
    size_t n = 0;
    for (; s[n] != '\0'; n++) {
        char c = s[n];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
                  c == '-';
        if (!ok || n >= max_len) return false;
    }
    return n > 0;
}

struct disk {
    const char *name;      /* unique among registered disks: disk_name_valid(name, DISK_NAME_MAX) */
    struct disk_info info; /* fixed while registered */
    /* [blocks: no] [irq: yes] Start req (already checked against info by the
     * glue: op, alignment, range, read-only, max_transfer). Return 0 and
     * call req->done exactly once later; or return an error (HUSK_EAGAIN:
     * queue full, retry after a completion) and never call done. */
    int (*submit)(void *priv, struct disk_req *req);
    void *priv; /* first argument of submit and transfer */
    /* [blocks: yes] [irq: no] Optional (NULL if absent): carry out one
     * request (op DISK_OP_*, checked by the glue like submit's) on the
     * calling thread and return its status. For providers whose I/O is a
     * blocking host call anyway (blkfile): a consumer that waits for the
     * result saves two thread hand-offs per request. */
    int (*transfer)(void *priv, uint32_t op, void *data, uint64_t offset, uint64_t len);
};

struct disk_ref; /* a consumer's reference; opaque */

/* [blocks: no] [irq: no] Offer d (the struct must stay valid until
 * unregistered). 0, HUSK_EINVAL (bad name, no submit, block size not a power
 * of two in 512..65536, max_transfer not a multiple of it), HUSK_EEXIST. */
int glue_disk_register(const struct disk *d);
/* [blocks: yes] [irq: no] Withdraw d: new submissions fail with
 * HUSK_ENODEV; returns once no call is inside d->submit and every request
 * it accepted has completed (the provider must keep completing them). */
void glue_disk_unregister(const struct disk *d);

/* [blocks: no] [irq: no] A reference to the disk called name, or NULL. */
struct disk_ref *glue_disk_open(const char *name);
/* [blocks: no] [irq: no] Release a reference. NULL is ignored. */
void glue_disk_close(struct disk_ref *ref);
/* [blocks: no] [irq: yes] The disk's geometry (fixed while it is registered). */
void glue_disk_info(const struct disk_ref *ref, struct disk_info *out);
/* [blocks: no] [irq: yes] Check req and start it (see struct disk.submit):
 * 0 and done is called later; or HUSK_ENODEV (disk gone), HUSK_EINVAL (bad
 * op, unaligned, out of range, len 0 or above max_transfer), HUSK_EROFS,
 * HUSK_EAGAIN (provider queue full); done is then never called. */
int glue_disk_submit(struct disk_ref *ref, struct disk_req *req);

/* [blocks: yes] [irq: no] Carry out one request and wait for it: through
 * the provider's transfer on this thread when it has one, else submit and
 * wait for done. Same checks and errors as glue_disk_submit, plus the
 * request's own status. */
int glue_disk_transfer(struct disk_ref *ref, uint32_t op, void *data, uint64_t offset, uint64_t len);

static inline int disk_register(const struct disk *d) { return glue_disk_register(d); }
static inline void disk_unregister(const struct disk *d) { glue_disk_unregister(d); }
static inline struct disk_ref *disk_open(const char *name) { return glue_disk_open(name); }
static inline void disk_close(struct disk_ref *r) { glue_disk_close(r); }
static inline void disk_info_get(const struct disk_ref *r, struct disk_info *o) { glue_disk_info(r, o); }
static inline int disk_submit(struct disk_ref *r, struct disk_req *q) { return glue_disk_submit(r, q); }
static inline int disk_transfer(struct disk_ref *r, uint32_t op, void *d, uint64_t off, uint64_t len) {
    return glue_disk_transfer(r, op, d, off, len);
}

#ifdef __cplusplus
}
#endif

#endif
