/* Shared memory: a sealed memfd registered with REGISTER_SHM (docs/protocol.md §4). */
#define _GNU_SOURCE
#include "rpc_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

int husk_rpc_shm_register(struct husk_rpc_conn *c, uint64_t size, struct husk_rpc_shm *out) {
    if (c == NULL || out == NULL || size == 0 || size > (uint64_t)SIZE_MAX || size > (uint64_t)INT64_MAX) return EINVAL;
    out->id = 0;
    out->base = NULL;
    out->size = 0;
    out->fd = -1;
    int fd = memfd_create("husk-rpc-shm", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) return errno;
    int st = 0;
    if (ftruncate(fd, (off_t)size) != 0 || fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) != 0) st = errno;
    void *base = MAP_FAILED;
    if (st == 0) {
        base = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (base == MAP_FAILED) st = errno;
    }
    struct husk_rpc_reply reply;
    if (st == 0) st = husk_rpc_call(c, HUSK_RPC_CONTROL_INTERFACE, HUSK_RPC_OP_REGISTER_SHM, NULL, 0, &fd, 1, &reply);
    if (st == 0) {
        struct husk_rpc_reader r;
        husk_rpc_reader_init(&r, reply.payload, reply.payload_len);
        uint32_t id = husk_rpc_get_u32(&r);
        uint32_t pad = husk_rpc_get_u32(&r);
        uint64_t registered = husk_rpc_get_u64(&r);
        st = husk_rpc_reader_end(&r);
        if (st == 0 && (pad != 0 || registered != size)) st = EPROTO;
        husk_rpc_reply_release(&reply);
        if (st == 0) {
            out->id = id;
            out->base = base;
            out->size = size;
            out->fd = fd;
            return 0;
        }
    }
    if (base != MAP_FAILED) munmap(base, (size_t)size);
    close(fd);
    return st;
}

int husk_rpc_shm_unregister(struct husk_rpc_conn *c, struct husk_rpc_shm *shm) {
    if (shm == NULL) return EINVAL;
    int st = 0;
    if (c != NULL && shm->base != NULL) {
        struct husk_rpc_writer w;
        husk_rpc_writer_init(&w);
        husk_rpc_put_u32(&w, shm->id);
        struct husk_rpc_reply reply;
        st = w.error;
        if (st == 0)
            st = husk_rpc_call(c, HUSK_RPC_CONTROL_INTERFACE, HUSK_RPC_OP_UNREGISTER_SHM, w.data, w.len, NULL, 0,
                               &reply);
        husk_rpc_writer_free(&w);
        if (st == 0) husk_rpc_reply_release(&reply);
    }
    if (shm->base != NULL) munmap(shm->base, (size_t)shm->size);
    if (shm->fd >= 0) close(shm->fd);
    shm->base = NULL;
    shm->size = 0;
    shm->fd = -1;
    return st;
}

struct husk_rpc_shm_ref husk_rpc_shm_ref(const struct husk_rpc_shm *shm, uint64_t offset, uint64_t length) {
    struct husk_rpc_shm_ref ref = {.id = shm->id, .offset = offset, .length = length};
    return ref;
}
