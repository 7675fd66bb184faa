/*
 * e2port_io.c — libext2fs's io_manager over the glue's disks
 * (husk/glue/disk.h): the component never opens a file. open() takes the
 * name of a registered disk (the blkfile component's image, or a block
 * server in another process registered by the server), and every read,
 * write and flush is a disk_transfer on the calling thread.
 *
 * libext2fs addresses the channel in its own block size (set_blksize),
 * with a negative count meaning bytes; the disk has a block size of its
 * own (512 to 64 KiB) and a largest transfer. Requests aligned to the
 * disk's blocks go straight through, split at max_transfer; an unaligned
 * head or tail (a 1 KiB superblock on a 4 KiB disk) goes through a bounce
 * block: read, patch, write.
 *
 * A write-through cache of single blocks (E2PORT_CACHE_SLOTS, direct
 * mapped by block number) keeps the metadata libext2fs reads again and
 * again (directory blocks, inode table blocks, extent blocks) from costing
 * a disk request each time. Writes go to the disk first and then update
 * (whole blocks) or drop (partial ones) the cached copies, so the disk is
 * always current: what libext2fs wrote has reached the disk, and flush()
 * asks the disk to make it durable. A failed write drops its range.
 *
 * A batch (e2port_io_batch_begin/_end, around one file write of the fs
 * server, under the file system's lock) defers single-block writes: they
 * land in the cache marked dirty, and the end of the batch writes the
 * dirty blocks in block order, a run of consecutive blocks as one disk
 * request. libext2fs writes a file one block at a time (and the inode
 * block between them); a batch turns a 1 MiB write into a few requests.
 * Inside a batch the cache is the truth: a read hits it, a slot that must
 * be reused is written out first, and anything that is not a single-block
 * write or read (multi-block transfers, write_byte, flush, a new block
 * size) ends the batch's deferral first. The disk is current again when
 * the batch ends, before the call returns.
 */
#include "e2port_private.h"

#define E2PORT_CACHE_SLOTS 1024u

struct e2port_slot {
    uint64_t block;
    bool valid;
    bool dirty;  /* in a batch: written to the cache only */
    bool listed; /* its number is in the channel's dirty list */
};

struct e2port_chan {
    struct disk_ref *disk;
    struct disk_info info;
    bool read_only;
    uint8_t *bounce; /* one disk block */
    struct e2port_io_counts counts;
    /* The cache, for blocks of cache_bs bytes (the channel's block size
     * when it was allocated; a new block size empties it). */
    uint32_t cache_bs;
    uint8_t *cache_data; /* E2PORT_CACHE_SLOTS * cache_bs */
    struct e2port_slot *slots;
    bool batching;
    uint32_t ndirty;
    uint32_t *dirty; /* slot numbers of slots made dirty in the batch (each once), ndirty of them */
};

static void e2port_cache_free(struct e2port_chan *c) {
    if (c->cache_data != NULL) ext2fs_free_mem(&c->cache_data);
    if (c->slots != NULL) ext2fs_free_mem(&c->slots);
    if (c->dirty != NULL) ext2fs_free_mem(&c->dirty);
    c->cache_bs = 0;
    c->ndirty = 0;
}

/* The cache for the channel's current block size (allocated on first
 * use); NULL when memory is short (then there is no cache). */
static bool e2port_cache_ready(struct e2port_chan *c, int block_size) {
    if (block_size <= 0) return false;
    if (c->cache_bs == (uint32_t)block_size) return true;
    e2port_cache_free(c);
    if (ext2fs_get_memzero(E2PORT_CACHE_SLOTS * sizeof *c->slots, &c->slots)) return false;
    if (ext2fs_get_mem(E2PORT_CACHE_SLOTS * sizeof *c->dirty, &c->dirty)) {
        ext2fs_free_mem(&c->slots);
        return false;
    }
    if (ext2fs_get_mem((unsigned long)E2PORT_CACHE_SLOTS * (unsigned long)block_size, &c->cache_data)) {
        ext2fs_free_mem(&c->slots);
        ext2fs_free_mem(&c->dirty);
        return false;
    }
    c->ndirty = 0;
    c->cache_bs = (uint32_t)block_size;
    return true;
}

/* After a write of [block, block + n) (n whole blocks of data, or `bytes`
 * bytes when data is NULL or the write is partial): update whole cached
 * blocks from data, drop the rest. */
static void e2port_cache_written(struct e2port_chan *c, uint64_t block, uint64_t bytes, const uint8_t *data) {
    if (c->cache_bs == 0 || bytes == 0) return;
    uint64_t bs = c->cache_bs;
    uint64_t n = (bytes + bs - 1) / bs;
    if (n > E2PORT_CACHE_SLOTS) {
        for (uint32_t i = 0; i < E2PORT_CACHE_SLOTS; i++) {
            struct e2port_slot *sl = &c->slots[i];
            if (sl->valid && sl->block >= block && sl->block < block + n) sl->valid = false;
        }
        return;
    }
    for (uint64_t i = 0; i < n; i++) {
        struct e2port_slot *sl = &c->slots[(block + i) % E2PORT_CACHE_SLOTS];
        if (!sl->valid || sl->block != block + i) continue;
        if (data != NULL && (i + 1) * bs <= bytes)
            memcpy(c->cache_data + ((block + i) % E2PORT_CACHE_SLOTS) * bs, data + i * bs, bs);
        else
            sl->valid = false;
    }
}

static errcode_t e2port_errcode(int r) {
    /* HUSK_E* codes are errno values, which libext2fs passes through. */
    return r == HUSK_OK ? 0 : (errcode_t)r;
}

/* Whole disk blocks, split at max_transfer. */
static int e2port_direct(struct e2port_chan *c, uint32_t op, uint8_t *data, uint64_t offset, uint64_t len) {
    uint64_t max = c->info.max_transfer != 0 ? c->info.max_transfer : len;
    while (len > 0) {
        uint64_t n = len < max ? len : max;
        int r = disk_transfer(c->disk, op, data, offset, n);
        if (r != HUSK_OK) return r;
        data += n;
        offset += n;
        len -= n;
    }
    return HUSK_OK;
}

/* Any byte range: aligned middle directly, partial blocks via the bounce block. */
static int e2port_rw(struct e2port_chan *c, bool write, uint8_t *data, uint64_t offset, uint64_t len) {
    uint64_t bs = c->info.block_size;
    uint64_t end = offset + len;
    if (end < offset || end > c->info.block_count * bs) return HUSK_EIO; /* past the end of the disk */
    if (write && c->read_only) return HUSK_EROFS;
    uint32_t op = write ? DISK_OP_WRITE : DISK_OP_READ;
    while (offset < end) {
        uint64_t in_block = offset % bs;
        if (in_block == 0 && end - offset >= bs) {
            uint64_t n = (end - offset) / bs * bs;
            int r = e2port_direct(c, op, data, offset, n);
            if (r != HUSK_OK) return r;
            data += n;
            offset += n;
            continue;
        }
        uint64_t start = offset - in_block;
        uint64_t n = bs - in_block < end - offset ? bs - in_block : end - offset;
        int r = disk_transfer(c->disk, DISK_OP_READ, c->bounce, start, bs);
        if (r != HUSK_OK) return r;
        if (write) {
            memcpy(c->bounce + in_block, data, n);
            r = disk_transfer(c->disk, DISK_OP_WRITE, c->bounce, start, bs);
            if (r != HUSK_OK) return r;
        } else {
            memcpy(data, c->bounce + in_block, n);
        }
        data += n;
        offset += n;
    }
    return HUSK_OK;
}

static errcode_t e2port_close(io_channel channel);

/* Write one dirty slot to the disk (it stays cached, clean). */
static int e2port_slot_out(struct e2port_chan *c, uint32_t i) {
    struct e2port_slot *sl = &c->slots[i];
    uint64_t bs = c->cache_bs;
    int r = e2port_rw(c, true, c->cache_data + (uint64_t)i * bs, sl->block * bs, bs);
    if (r != HUSK_OK) {
        sl->valid = false;
    } else {
        c->counts.writes++;
        c->counts.bytes_written += bs;
    }
    sl->dirty = false;
    return r;
}

static struct e2port_chan *e2port_sort_chan; /* qsort's comparison has no context; callers hold the fs lock */

static int e2port_by_block(const void *a, const void *b) {
    uint64_t x = e2port_sort_chan->slots[*(const uint32_t *)a].block;
    uint64_t y = e2port_sort_chan->slots[*(const uint32_t *)b].block;
    return x < y ? -1 : x > y ? 1 : 0;
}

/* Write every dirty slot, consecutive blocks in consecutive slots as one
 * request. On a failure the slots not written are dropped from the cache
 * and the first error is returned. */
static int e2port_settle(struct e2port_chan *c) {
    if (c->ndirty == 0) return HUSK_OK;
    uint64_t bs = c->cache_bs;
    /* Slots written out early (to hold another block) are listed but clean. */
    uint32_t kept = 0;
    for (uint32_t i = 0; i < c->ndirty; i++) {
        struct e2port_slot *sl = &c->slots[c->dirty[i]];
        sl->listed = false;
        if (sl->dirty) c->dirty[kept++] = c->dirty[i];
    }
    c->ndirty = kept;
    e2port_sort_chan = c;
    qsort(c->dirty, c->ndirty, sizeof *c->dirty, e2port_by_block);
    int first = HUSK_OK;
    uint32_t i = 0;
    while (i < c->ndirty) {
        uint32_t s0 = c->dirty[i], n = 1;
        while (i + n < c->ndirty && c->dirty[i + n] == s0 + n && c->slots[s0 + n].block == c->slots[s0].block + n) n++;
        int r = first == HUSK_OK
                    ? e2port_rw(c, true, c->cache_data + (uint64_t)s0 * bs, c->slots[s0].block * bs, (uint64_t)n * bs)
                    : first;
        for (uint32_t k = 0; k < n; k++) {
            struct e2port_slot *sl = &c->slots[s0 + k];
            sl->dirty = false;
            if (r != HUSK_OK) sl->valid = false;
        }
        if (r == HUSK_OK) {
            c->counts.writes++;
            c->counts.bytes_written += (uint64_t)n * bs;
        } else if (first == HUSK_OK) {
            first = r;
        }
        i += n;
    }
    c->ndirty = 0;
    return first;
}

void e2port_io_batch_begin(io_channel channel) {
    struct e2port_chan *c = channel->private_data;
    c->batching = e2port_cache_ready(c, channel->block_size);
}

errcode_t e2port_io_batch_end(io_channel channel) {
    struct e2port_chan *c = channel->private_data;
    c->batching = false;
    return e2port_errcode(e2port_settle(c));
}

static errcode_t e2port_open(const char *name, int flags, io_channel *out) {
    if (name == NULL) return EXT2_ET_BAD_DEVICE_NAME;
    struct disk_ref *disk = disk_open(name);
    if (disk == NULL) {
        glue_logf(LOG_ERR, "no disk '%s' in the disk registry", name);
        return ENODEV;
    }
    io_channel io = NULL;
    struct e2port_chan *c = NULL;
    errcode_t err = ext2fs_get_memzero(sizeof *io, &io);
    if (!err) err = ext2fs_get_memzero(sizeof *c, &c);
    if (!err) err = ext2fs_get_mem(strlen(name) + 1, &io->name);
    if (!err) {
        disk_info_get(disk, &c->info);
        err = ext2fs_get_mem(c->info.block_size, &c->bounce);
    }
    if (err) {
        if (io != NULL) ext2fs_free_mem(&io->name);
        if (c != NULL) ext2fs_free_mem(&c->bounce);
        ext2fs_free_mem(&c);
        ext2fs_free_mem(&io);
        disk_close(disk);
        return err;
    }
    c->disk = disk;
    c->read_only = (flags & IO_FLAG_RW) == 0 || (c->info.flags & DISK_F_READONLY) != 0;
    if ((flags & IO_FLAG_RW) != 0 && (c->info.flags & DISK_F_READONLY) != 0) {
        (void)e2port_close(io); /* io->name is not set yet: close frees NULL */
        return EROFS;
    }
    strcpy(io->name, name);
    io->magic = EXT2_ET_MAGIC_IO_CHANNEL;
    io->manager = e2port_io_manager;
    io->block_size = 1024;
    io->refcount = 1;
    io->private_data = c;
    *out = io;
    return 0;
}

static errcode_t e2port_close(io_channel channel) {
    EXT2_CHECK_MAGIC(channel, EXT2_ET_MAGIC_IO_CHANNEL);
    if (--channel->refcount > 0) return 0;
    struct e2port_chan *c = channel->private_data;
    (void)e2port_settle(c);
    disk_close(c->disk);
    e2port_cache_free(c);
    ext2fs_free_mem(&c->bounce);
    ext2fs_free_mem(&c);
    ext2fs_free_mem(&channel->name);
    ext2fs_free_mem(&channel);
    return 0;
}

static errcode_t e2port_set_blksize(io_channel channel, int blksize) {
    EXT2_CHECK_MAGIC(channel, EXT2_ET_MAGIC_IO_CHANNEL);
    if (blksize <= 0) return EXT2_ET_INVALID_ARGUMENT;
    if (blksize != channel->block_size) {
        struct e2port_chan *c = channel->private_data;
        int r = e2port_settle(c);
        e2port_cache_free(c); /* blocks change meaning */
        if (r != HUSK_OK) return e2port_errcode(r);
    }
    channel->block_size = blksize;
    return 0;
}

/* count > 0: blocks of the channel's size; count < 0: -count bytes. */
static uint64_t e2port_bytes(io_channel channel, int count) {
    return count < 0 ? (uint64_t)(-(int64_t)count) : (uint64_t)count * (uint64_t)channel->block_size;
}

static errcode_t e2port_read_blk64(io_channel channel, unsigned long long block, int count, void *data) {
    EXT2_CHECK_MAGIC(channel, EXT2_ET_MAGIC_IO_CHANNEL);
    struct e2port_chan *c = channel->private_data;
    uint64_t len = e2port_bytes(channel, count);
    uint64_t bs = (uint64_t)channel->block_size;
    bool one = len == bs && e2port_cache_ready(c, channel->block_size);
    struct e2port_slot *sl = one ? &c->slots[block % E2PORT_CACHE_SLOTS] : NULL;
    uint8_t *cached = one ? c->cache_data + (block % E2PORT_CACHE_SLOTS) * bs : NULL;
    if (sl != NULL && sl->valid && sl->block == block) {
        memcpy(data, cached, bs);
        c->counts.cache_hits++;
        return 0;
    }
    int r = HUSK_OK;
    if (sl != NULL && sl->valid && sl->dirty) {
        r = e2port_slot_out(c, (uint32_t)(block % E2PORT_CACHE_SLOTS)); /* the slot is about to hold another block */
    } else if (sl == NULL) {
        r = e2port_settle(c); /* a multi-block read may cover dirty blocks */
    }
    if (r == HUSK_OK) r = e2port_rw(c, false, data, block * bs, len);
    if (r == HUSK_OK && sl != NULL) {
        memcpy(cached, data, bs);
        sl->block = block;
        sl->valid = true;
    }
    if (r != HUSK_OK) {
        if (channel->read_error != NULL)
            return channel->read_error(channel, (unsigned long)block, count, data, (size_t)len, 0, e2port_errcode(r));
        return e2port_errcode(r);
    }
    c->counts.reads++;
    c->counts.bytes_read += len;
    return 0;
}

static errcode_t e2port_write_blk64(io_channel channel, unsigned long long block, int count, const void *data) {
    EXT2_CHECK_MAGIC(channel, EXT2_ET_MAGIC_IO_CHANNEL);
    struct e2port_chan *c = channel->private_data;
    uint64_t len = e2port_bytes(channel, count);
    int r = HUSK_OK;
    if (c->batching && c->cache_bs == (uint32_t)channel->block_size && len == c->cache_bs) {
        uint32_t i = (uint32_t)(block % E2PORT_CACHE_SLOTS);
        struct e2port_slot *sl = &c->slots[i];
        if (sl->valid && sl->dirty && sl->block != block) r = e2port_slot_out(c, i);
        if (r == HUSK_OK) {
            memcpy(c->cache_data + (uint64_t)i * len, data, len);
            sl->block = block;
            sl->valid = true;
            sl->dirty = true;
            if (!sl->listed) {
                sl->listed = true;
                c->dirty[c->ndirty++] = i;
            }
            return 0;
        }
    }
    if (r == HUSK_OK) r = e2port_settle(c);
    /* e2port_rw takes a non-const pointer for both directions; a write only reads it. */
    if (r == HUSK_OK) r = e2port_rw(c, true, (uint8_t *)(uintptr_t)data, block * (uint64_t)channel->block_size, len);
    e2port_cache_written(c, block, len, r == HUSK_OK ? data : NULL);
    if (r != HUSK_OK) {
        if (channel->write_error != NULL)
            return channel->write_error(channel, (unsigned long)block, count, data, (size_t)len, 0, e2port_errcode(r));
        return e2port_errcode(r);
    }
    c->counts.writes++;
    c->counts.bytes_written += len;
    return 0;
}

static errcode_t e2port_read_blk(io_channel channel, unsigned long block, int count, void *data) {
    return e2port_read_blk64(channel, block, count, data);
}

static errcode_t e2port_write_blk(io_channel channel, unsigned long block, int count, const void *data) {
    return e2port_write_blk64(channel, block, count, data);
}

static errcode_t e2port_write_byte(io_channel channel, unsigned long offset, int size, const void *data) {
    EXT2_CHECK_MAGIC(channel, EXT2_ET_MAGIC_IO_CHANNEL);
    struct e2port_chan *c = channel->private_data;
    if (size < 0) return EXT2_ET_INVALID_ARGUMENT;
    int r = e2port_settle(c);
    if (r == HUSK_OK) r = e2port_rw(c, true, (uint8_t *)(uintptr_t)data, offset, (uint64_t)size);
    /* Bytes, not blocks: drop every cached block the range touches. */
    if (c->cache_bs != 0 && size > 0) {
        uint64_t first = offset / c->cache_bs, last = (offset + (uint64_t)size - 1) / c->cache_bs;
        e2port_cache_written(c, first, (last - first + 1) * c->cache_bs, NULL);
    }
    if (r != HUSK_OK) return e2port_errcode(r);
    c->counts.writes++;
    c->counts.bytes_written += (uint64_t)size;
    return 0;
}

static errcode_t e2port_flush(io_channel channel) {
    EXT2_CHECK_MAGIC(channel, EXT2_ET_MAGIC_IO_CHANNEL);
    struct e2port_chan *c = channel->private_data;
    int r = e2port_settle(c);
    if (r != HUSK_OK) return e2port_errcode(r);
    if (c->read_only || (c->info.flags & DISK_F_FLUSH) == 0) return 0;
    c->counts.flushes++;
    return e2port_errcode(disk_transfer(c->disk, DISK_OP_FLUSH, NULL, 0, 0));
}

static errcode_t e2port_set_option(io_channel channel, const char *option, const char *arg) {
    return EXT2_ET_INVALID_ARGUMENT;
}

/* zeroout: unsupported (libext2fs then writes zero blocks itself). */
static errcode_t e2port_zeroout(io_channel channel, unsigned long long block, unsigned long long count) {
    return EXT2_ET_UNIMPLEMENTED;
}

void e2port_io_counts(io_channel channel, struct e2port_io_counts *out) {
    struct e2port_chan *c = channel->private_data;
    *out = c->counts;
}

static struct struct_io_manager e2port_manager = {
    .magic = EXT2_ET_MAGIC_IO_MANAGER,
    .name = "husk glue disk",
    .open = e2port_open,
    .close = e2port_close,
    .set_blksize = e2port_set_blksize,
    .read_blk = e2port_read_blk,
    .write_blk = e2port_write_blk,
    .flush = e2port_flush,
    .write_byte = e2port_write_byte,
    .set_option = e2port_set_option,
    .read_blk64 = e2port_read_blk64,
    .write_blk64 = e2port_write_blk64,
    .zeroout = e2port_zeroout,
};

io_manager e2port_io_manager = &e2port_manager;
