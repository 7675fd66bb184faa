/* The block queue (docs/block.md) from C: the generated blk client sets it
 * up (husk_blk_queue_setup), husk/blk_queue.h carries the entries. Run by
 * CClientTests against a `husk blk serve --image` process:
 *   blk_queue_check SOCKET
 * writes 16 blocks of 4 KiB at offsets i * 8 KiB (byte j of block i is
 * (i * 7 + j) & 0xff) with a flush behind them, reads them back, and prints
 * OK lines and ALL OK. */
#define _GNU_SOURCE
#include <husk/blk_queue.h>
#include <husk/rpc_client.h>
#include "husk_rpc_blk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define CHECK(what, expr)                                             \
    do {                                                              \
        int rc_ = (expr);                                             \
        if (rc_ != 0) {                                               \
            printf("FAIL %s: %s\n", what, husk_rpc_status_name(rc_)); \
            exit(1);                                                  \
        }                                                             \
    } while (0)

static int reap(struct husk_blkq *q, int fd, unsigned n, struct husk_blkq_cqe *out) {
    const char *why = NULL;
    for (unsigned got = 0; got < n;) {
        int r = husk_blkq_take(q, &out[got], &why);
        if (r == 0) {
            got++;
            continue;
        }
        if (r != EAGAIN) return r;
        r = husk_blkq_wait(q, fd, 10000);
        if (r != 0) return r;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    struct husk_rpc_requirement req = HUSK_BLK_REQUIREMENT;
    struct husk_rpc_conn *conn = NULL, *dev = NULL;
    char err[256];
    CHECK("connect", husk_rpc_connect(argv[1], &req, 1, &conn, err, sizeof err));
    int fd = -1;
    CHECK("open", husk_blk_open(conn, "disk0", 2, &fd));
    CHECK("adopt", husk_rpc_adopt(fd, conn, &req, 1, &dev, err, sizeof err));
    uint32_t bs = 0, features = 0;
    uint64_t blocks = 0;
    bool ro = false;
    CHECK("get_status", husk_blk_get_status(dev, &bs, &blocks, &ro, &features));
    if ((features & 4u) == 0) {
        printf("FAIL no queue feature\n");
        return 1;
    }
    struct husk_rpc_shm shm;
    CHECK("shm", husk_rpc_shm_register(dev, 1u << 20, &shm));

    uint32_t entries = 32;
    size_t size = (size_t)husk_blkq_size(entries);
    int qfd = memfd_create("blkq", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (qfd < 0 || ftruncate(qfd, (off_t)size) != 0 || fcntl(qfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) != 0) {
        printf("FAIL memfd: %s\n", strerror(errno));
        return 1;
    }
    void *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, qfd, 0);
    if (base == MAP_FAILED) return 1;
    struct husk_blkq q;
    CHECK("init", husk_blkq_init(&q, base, size, entries, 0));
    CHECK("queue_setup", husk_blk_queue_setup(dev, qfd, entries, husk_rpc_shm_ref(&shm, 0, shm.size)));
    close(qfd);
    printf("OK setup\n");

    uint8_t *region = shm.base;
    for (unsigned i = 0; i < 16; i++)
        for (unsigned j = 0; j < 4096; j++) region[i * 4096 + j] = (uint8_t)((i * 7 + j) & 0xff);
    for (unsigned i = 0; i < 16; i++) {
        struct husk_blkq_sqe e = {
            .op = HUSK_BLKQ_OP_WRITE, .length = 4096, .offset = i * 8192u, .buffer = i * 4096u, .tag = i};
        CHECK("push write", husk_blkq_push(&q, &e));
    }
    struct husk_blkq_sqe flush = {.op = HUSK_BLKQ_OP_FLUSH, .tag = 100};
    CHECK("push flush", husk_blkq_push(&q, &flush));
    husk_blkq_publish(&q);
    struct husk_blkq_cqe done[32];
    CHECK("reap writes", reap(&q, husk_rpc_fd(dev), 17, done));
    for (unsigned k = 0; k < 17; k++) {
        if (done[k].status != 0 || (done[k].tag != 100 && done[k].count != 4096)) {
            printf("FAIL completion %u: tag %llu status %d\n", k, (unsigned long long)done[k].tag, done[k].status);
            return 1;
        }
    }
    if (done[16].tag != 100) {
        printf("FAIL the flush completed before an earlier write\n");
        return 1;
    }
    printf("OK writes and flush\n");

    memset(region + 16 * 4096, 0, 16 * 4096);
    for (unsigned i = 0; i < 16; i++) {
        struct husk_blkq_sqe e = {
            .op = HUSK_BLKQ_OP_READ, .length = 4096, .offset = i * 8192u, .buffer = (16 + i) * 4096u, .tag = 200 + i};
        CHECK("push read", husk_blkq_push(&q, &e));
    }
    husk_blkq_publish(&q);
    CHECK("reap reads", reap(&q, husk_rpc_fd(dev), 16, done));
    for (unsigned k = 0; k < 16; k++)
        if (done[k].status != 0 || done[k].tag < 200 || done[k].tag >= 216) return 1;
    if (memcmp(region, region + 16 * 4096, 16 * 4096) != 0) {
        printf("FAIL read back differs\n");
        return 1;
    }
    printf("OK reads\n");

    /* A misaligned entry: its own EINVAL, the queue goes on. */
    struct husk_blkq_sqe bad = {.op = HUSK_BLKQ_OP_READ, .length = 4096, .offset = 100, .buffer = 0, .tag = 300};
    CHECK("push bad", husk_blkq_push(&q, &bad));
    husk_blkq_publish(&q);
    CHECK("reap bad", reap(&q, husk_rpc_fd(dev), 1, done));
    if (done[0].tag != 300 || done[0].status != EINVAL) return 1;
    printf("OK per-entry status\n");

    CHECK("close", husk_blk_close(dev));
    husk_rpc_close(dev);
    husk_rpc_shm_unregister(NULL, &shm);
    munmap(base, size);
    husk_rpc_close(conn);
    printf("ALL OK\n");
    return 0;
}
