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
 * block: read, patch, write. No cache: the host below (page cache, the
 * block server) has one, and an uncached channel keeps fsync simple: what
 * libext2fs wrote has reached the disk; flush() asks the disk to make it
 * durable.
 */
#include "e2port_private.h"

struct e2port_chan {
    struct disk_ref *disk;
    struct disk_info info;
    bool read_only;
    uint8_t *bounce; /* one disk block */
    struct e2port_io_counts counts;
};

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
    disk_close(c->disk);
    ext2fs_free_mem(&c->bounce);
    ext2fs_free_mem(&c);
    ext2fs_free_mem(&channel->name);
    ext2fs_free_mem(&channel);
    return 0;
}

static errcode_t e2port_set_blksize(io_channel channel, int blksize) {
    EXT2_CHECK_MAGIC(channel, EXT2_ET_MAGIC_IO_CHANNEL);
    if (blksize <= 0) return EXT2_ET_INVALID_ARGUMENT;
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
    int r = e2port_rw(c, false, data, block * (uint64_t)channel->block_size, len);
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
    /* e2port_rw takes a non-const pointer for both directions; a write only reads it. */
    int r = e2port_rw(c, true, (uint8_t *)(uintptr_t)data, block * (uint64_t)channel->block_size, len);
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
    int r = e2port_rw(c, true, (uint8_t *)(uintptr_t)data, offset, (uint64_t)size);
    if (r != HUSK_OK) return e2port_errcode(r);
    c->counts.writes++;
    c->counts.bytes_written += (uint64_t)size;
    return 0;
}

static errcode_t e2port_flush(io_channel channel) {
    EXT2_CHECK_MAGIC(channel, EXT2_ET_MAGIC_IO_CHANNEL);
    struct e2port_chan *c = channel->private_data;
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
