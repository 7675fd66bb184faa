/*
 * blkfile — a host file or block device served as a disk (husk/glue/disk.h):
 * the embedded default of the block server when there is no hardware.
 *
 * init reads the parameters (blkfile_params.c), opens the file through the
 * hypercall block I/O and registers the disk; consumers' requests go to the
 * host's asynchronous blk_submit, one preallocated slot each, and complete
 * on the host's completion thread. FLUSH is the host's blk_flush semantics
 * (fdatasync on posix): durable are the writes completed before it.
 * fini withdraws the disk (which waits for requests in flight) and closes.
 * One instance per process (the state is a static pointer).
 */
#include "husk_component_blkfile.h"
#include "blkfile_private.h"

static struct blkfile_softc *blkfile_sc;

/* Host completion (irq context): give the slot back, then complete the
 * consumer's request. */
static void blkfile_done(struct husk_blk_req *hreq) {
    struct blkfile_slot *slot = hreq->arg;
    struct blkfile_softc *sc = slot->sc;
    struct disk_req *req = slot->req;
    req->status = hreq->status;
    mutex_enter(&sc->lock);
    slot->req = NULL;
    slot->next_free = sc->free_slots;
    sc->free_slots = slot;
    mutex_exit(&sc->lock);
    req->done(req);
}

/* struct disk.submit: the glue has checked op, alignment and range. */
static int blkfile_submit(void *priv, struct disk_req *req) {
    struct blkfile_softc *sc = priv;
    mutex_enter(&sc->lock);
    struct blkfile_slot *slot = sc->free_slots;
    if (slot != NULL) sc->free_slots = slot->next_free;
    mutex_exit(&sc->lock);
    if (slot == NULL) return HUSK_EAGAIN;

    slot->req = req;
    memset(&slot->hreq, 0, sizeof slot->hreq);
    slot->hreq.op = req->op == DISK_OP_READ    ? HUSK_BLK_READ
                    : req->op == DISK_OP_WRITE ? HUSK_BLK_WRITE
                                               : HUSK_BLK_FLUSH;
    slot->hreq.buf = req->data;
    slot->hreq.len = req->op == DISK_OP_FLUSH ? 0 : req->len;
    slot->hreq.offset = req->op == DISK_OP_FLUSH ? 0 : req->offset;
    slot->hreq.done = blkfile_done;
    slot->hreq.arg = slot;
    int32_t r = sc->hyp->blk_submit(sc->ctx, sc->blk, &slot->hreq);
    if (r != HUSK_OK) {
        mutex_enter(&sc->lock);
        slot->req = NULL;
        slot->next_free = sc->free_slots;
        sc->free_slots = slot;
        mutex_exit(&sc->lock);
    }
    return r;
}

/* struct disk.transfer: the host's blocking block I/O on the caller's
 * thread (the glue has checked op, alignment and range). */
static int blkfile_transfer(void *priv, uint32_t op, void *data, uint64_t offset, uint64_t len) {
    struct blkfile_softc *sc = priv;
    switch (op) {
    case DISK_OP_READ: return sc->hyp->blk_read(sc->ctx, sc->blk, data, len, offset);
    case DISK_OP_WRITE: return sc->hyp->blk_write(sc->ctx, sc->blk, data, len, offset);
    case DISK_OP_FLUSH: return sc->hyp->blk_flush(sc->ctx, sc->blk);
    default: return HUSK_EINVAL;
    }
}

static void blkfile_release(struct blkfile_softc *sc) {
    if (sc->registered) disk_unregister(&sc->disk);
    if (sc->blk != 0) (void)sc->hyp->blk_close(sc->ctx, sc->blk);
    if (sc->lock.mtx_handle != 0) mutex_destroy(&sc->lock);
    kmem_free(sc, sizeof *sc);
}

static int32_t blkfile_init(husk_ctx *ctx, const struct husk_hyp *hyp) {
    if ((hyp->features & HUSK_FEAT_BLK) == 0) {
        glue_logf(LOG_ERR, "this host has no block I/O (HUSK_FEAT_BLK)");
        return HUSK_ENOTSUP;
    }
    struct blkfile_softc *sc = kmem_zalloc(sizeof *sc, KM_SLEEP);
    sc->ctx = ctx;
    sc->hyp = hyp;
    int32_t r = blkfile_read_params(sc);
    if (r == HUSK_OK) r = mutex_init(&sc->lock, "blkfile");
    if (r != HUSK_OK) {
        blkfile_release(sc);
        return r;
    }

    uint32_t flags = (sc->read_only ? HUSK_BLK_RDONLY : HUSK_BLK_RDWR) | (sc->direct ? HUSK_BLK_DIRECT : 0u);
    struct husk_blk_info info;
    r = hyp->blk_open(ctx, sc->path, flags, &sc->blk, &info);
    if (r != HUSK_OK) {
        sc->blk = 0;
        glue_logf(LOG_ERR, "cannot open %s%s: %s", sc->path, sc->read_only ? " read-only" : "", glue_strerror(r));
        blkfile_release(sc);
        return r;
    }
    uint32_t bs = sc->block_size != 0 ? sc->block_size : (info.sector_size < 512 ? 512u : info.sector_size);
    if (bs < info.sector_size) {
        glue_logf(LOG_ERR, "block_size %u is below the device's sector size %u", bs, info.sector_size);
        blkfile_release(sc);
        return HUSK_EINVAL;
    }
    uint64_t blocks = info.size / bs;
    if (blocks == 0) {
        glue_logf(LOG_ERR, "%s is smaller than one %u-byte block (%llu bytes)", sc->path, bs,
                  (unsigned long long)info.size);
        blkfile_release(sc);
        return HUSK_EINVAL;
    }
    if (info.size % bs != 0)
        glue_dev_logf(LOG_WARN, sc->path, "the last %llu bytes are not a whole block and are not served",
                      (unsigned long long)(info.size % bs));

    for (uint32_t i = 0; i < BLKFILE_QUEUE_DEPTH; i++) {
        sc->slots[i].sc = sc;
        sc->slots[i].next_free = i + 1 < BLKFILE_QUEUE_DEPTH ? &sc->slots[i + 1] : NULL;
    }
    sc->free_slots = &sc->slots[0];

    sc->disk.name = sc->name;
    sc->disk.info.block_count = blocks;
    sc->disk.info.block_size = bs;
    sc->disk.info.flags = DISK_F_FLUSH | (sc->read_only || info.read_only ? DISK_F_READONLY : 0u);
    sc->disk.info.max_transfer = BLKFILE_MAX_TRANSFER;
    sc->disk.info.queue_depth = BLKFILE_QUEUE_DEPTH;
    sc->disk.submit = blkfile_submit;
    sc->disk.transfer = blkfile_transfer;
    sc->disk.priv = sc;
    r = disk_register(&sc->disk);
    if (r != HUSK_OK) {
        glue_logf(LOG_ERR, "cannot register disk '%s': %s", sc->name, glue_strerror(r));
        blkfile_release(sc);
        return r;
    }
    sc->registered = true;
    glue_logf(LOG_INFO, "disk '%s': %s, %llu blocks of %u bytes%s%s", sc->name, sc->path, (unsigned long long)blocks,
              bs, sc->disk.info.flags & DISK_F_READONLY ? ", read-only" : "", sc->direct ? ", direct I/O" : "");
    blkfile_sc = sc;
    return HUSK_OK;
}

static void blkfile_fini(husk_ctx *ctx) {
    struct blkfile_softc *sc = blkfile_sc;
    blkfile_sc = NULL;
    if (sc != NULL) blkfile_release(sc);
}

HUSK_COMPONENT(blkfile) = {
    .abi_major = HUSK_ABI_MAJOR,
    .abi_minor = 0,
    .name = "blkfile",
    .description = "serve a host file or block device as a disk (the block server's default)",
    .kind = HUSK_KIND_DRIVER,
    .depends = NULL,
    .init = blkfile_init,
    .run = NULL,
    .fini = blkfile_fini,
};
