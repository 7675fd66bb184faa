/* Payload encoding (docs/protocol.md §5), the header, and status names. */
#include "rpc_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- Writer ---- */

void husk_rpc_writer_init(struct husk_rpc_writer *w) {
    w->data = NULL;
    w->len = 0;
    w->cap = 0;
    w->error = 0;
}

void husk_rpc_writer_free(struct husk_rpc_writer *w) {
    free(w->data);
    husk_rpc_writer_init(w);
}

static void put(struct husk_rpc_writer *w, const void *p, size_t n) {
    if (w->error != 0 || n == 0) return;
    if (n > SIZE_MAX - w->len) {
        w->error = ENOMEM;
        return;
    }
    if (w->len + n > w->cap) {
        size_t cap = w->cap ? w->cap : 64;
        while (cap < w->len + n) cap = cap > SIZE_MAX / 2 ? w->len + n : cap * 2;
        uint8_t *d = realloc(w->data, cap);
        if (d == NULL) {
            w->error = ENOMEM;
            return;
        }
        w->data = d;
        w->cap = cap;
    }
    memcpy(w->data + w->len, p, n);
    w->len += n;
}

static void put_le(struct husk_rpc_writer *w, uint64_t v, unsigned size) {
    uint8_t b[8];
    for (unsigned i = 0; i < size; i++) b[i] = (uint8_t)(v >> (8 * i));
    put(w, b, size);
}

void husk_rpc_put_u8(struct husk_rpc_writer *w, uint8_t v) { put_le(w, v, 1); }
void husk_rpc_put_u16(struct husk_rpc_writer *w, uint16_t v) { put_le(w, v, 2); }
void husk_rpc_put_u32(struct husk_rpc_writer *w, uint32_t v) { put_le(w, v, 4); }
void husk_rpc_put_u64(struct husk_rpc_writer *w, uint64_t v) { put_le(w, v, 8); }
void husk_rpc_put_bool(struct husk_rpc_writer *w, bool v) { put_le(w, v ? 1 : 0, 1); }

void husk_rpc_put_bytes(struct husk_rpc_writer *w, const void *p, uint32_t len) {
    if (p == NULL && len != 0) {
        if (w->error == 0) w->error = EINVAL;
        return;
    }
    husk_rpc_put_u32(w, len);
    put(w, p, len);
}

void husk_rpc_put_string(struct husk_rpc_writer *w, const char *s) {
    size_t n = s ? strlen(s) : 0;
    if (s == NULL || n > UINT32_MAX) {
        if (w->error == 0) w->error = EINVAL;
        return;
    }
    husk_rpc_put_bytes(w, s, (uint32_t)n);
}

void husk_rpc_put_shm(struct husk_rpc_writer *w, struct husk_rpc_shm_ref ref) {
    husk_rpc_put_u32(w, ref.id);
    husk_rpc_put_u32(w, 0);
    husk_rpc_put_u64(w, ref.offset);
    husk_rpc_put_u64(w, ref.length);
}

/* ---- Reader ---- */

uint16_t husk_rpc_le16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

uint32_t husk_rpc_le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint64_t husk_rpc_le64(const uint8_t *p) { return (uint64_t)husk_rpc_le32(p) | (uint64_t)husk_rpc_le32(p + 4) << 32; }

void husk_rpc_reader_init(struct husk_rpc_reader *r, const void *data, size_t len) {
    r->data = data;
    r->len = data ? len : 0;
    r->off = 0;
    r->failed = false;
}

/* The next n bytes, or NULL (and failed) if fewer remain. */
static const uint8_t *take(struct husk_rpc_reader *r, size_t n) {
    if (r->failed || n > r->len - r->off) {
        r->failed = true;
        return NULL;
    }
    const uint8_t *p = r->data + r->off;
    r->off += n;
    return p;
}

uint8_t husk_rpc_get_u8(struct husk_rpc_reader *r) {
    const uint8_t *p = take(r, 1);
    return p ? p[0] : 0;
}

uint16_t husk_rpc_get_u16(struct husk_rpc_reader *r) {
    const uint8_t *p = take(r, 2);
    return p ? husk_rpc_le16(p) : 0;
}

uint32_t husk_rpc_get_u32(struct husk_rpc_reader *r) {
    const uint8_t *p = take(r, 4);
    return p ? husk_rpc_le32(p) : 0;
}

uint64_t husk_rpc_get_u64(struct husk_rpc_reader *r) {
    const uint8_t *p = take(r, 8);
    return p ? husk_rpc_le64(p) : 0;
}

bool husk_rpc_get_bool(struct husk_rpc_reader *r) {
    uint8_t b = husk_rpc_get_u8(r);
    if (b > 1) r->failed = true;
    return b == 1;
}

void husk_rpc_get_bytes(struct husk_rpc_reader *r, const uint8_t **p, uint32_t *len) {
    uint32_t n = husk_rpc_get_u32(r);
    const uint8_t *b = take(r, n);
    *p = b;
    *len = b ? n : 0;
}

void husk_rpc_get_string(struct husk_rpc_reader *r, const uint8_t **p, uint32_t *len) {
    husk_rpc_get_bytes(r, p, len);
    if (*p != NULL && *len != 0 && memchr(*p, 0, *len) != NULL) {
        r->failed = true;
        *p = NULL;
        *len = 0;
    }
}

struct husk_rpc_shm_ref husk_rpc_get_shm(struct husk_rpc_reader *r) {
    struct husk_rpc_shm_ref ref;
    ref.id = husk_rpc_get_u32(r);
    if (husk_rpc_get_u32(r) != 0) r->failed = true;
    ref.offset = husk_rpc_get_u64(r);
    ref.length = husk_rpc_get_u64(r);
    return ref;
}

void husk_rpc_get_array(struct husk_rpc_reader *r, size_t element_size, const uint8_t **p, uint32_t *count) {
    uint32_t n = husk_rpc_get_u32(r);
    *p = NULL;
    *count = 0;
    if (r->failed) return;
    /* Checked against what remains before any size is computed. */
    if (element_size == 0 || n > (r->len - r->off) / element_size) {
        r->failed = true;
        return;
    }
    *p = take(r, (size_t)n * element_size);
    *count = n;
}

int husk_rpc_reader_end(const struct husk_rpc_reader *r) { return (r->failed || r->off != r->len) ? EPROTO : 0; }

/* ---- Header (docs/protocol.md §2) ---- */

void husk_rpc_encode_header(uint8_t out[HUSK_RPC_HEADER_SIZE], const struct husk_rpc_header *h) {
    /* A fixed 40 bytes: written by hand, no allocation. */
    uint64_t fields[][2] = {
        {HUSK_RPC_MAGIC, 4},
        {HUSK_RPC_PROTOCOL_VERSION, 2},
        {h->flags, 2},
        {h->interface, 4},
        {h->operation, 4},
        {h->request_id, 8},
        {(uint32_t)h->status, 4},
        {h->payload_length, 4},
        {h->fd_count, 2},
        {h->signal, 2},
        {0, 4},
    };
    size_t off = 0;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        for (unsigned b = 0; b < fields[i][1]; b++) out[off + b] = (uint8_t)(fields[i][0] >> (8 * b));
        off += fields[i][1];
    }
}

int husk_rpc_decode_header(const uint8_t *msg, size_t len, unsigned nfds, struct husk_rpc_header *h) {
    if (len < HUSK_RPC_HEADER_SIZE) return EPROTO;
    struct husk_rpc_reader r;
    husk_rpc_reader_init(&r, msg, HUSK_RPC_HEADER_SIZE);
    uint32_t magic = husk_rpc_get_u32(&r);
    uint16_t version = husk_rpc_get_u16(&r);
    h->flags = husk_rpc_get_u16(&r);
    h->interface = husk_rpc_get_u32(&r);
    h->operation = husk_rpc_get_u32(&r);
    h->request_id = husk_rpc_get_u64(&r);
    h->status = (int32_t)husk_rpc_get_u32(&r);
    h->payload_length = husk_rpc_get_u32(&r);
    h->fd_count = husk_rpc_get_u16(&r);
    h->signal = husk_rpc_get_u16(&r);
    uint32_t reserved = husk_rpc_get_u32(&r);
    if (magic != HUSK_RPC_MAGIC || version != HUSK_RPC_PROTOCOL_VERSION || (h->flags & ~HUSK_RPC_FLAGS_ALL) != 0 ||
        reserved != 0 || h->payload_length != len - HUSK_RPC_HEADER_SIZE || h->fd_count != nfds)
        return EPROTO;
    return 0;
}

void husk_rpc_close_fds(int *fds, unsigned n) {
    for (unsigned i = 0; i < n; i++) {
        if (fds[i] >= 0) close(fds[i]);
        fds[i] = -1;
    }
}

/* ---- Status names (docs/protocol.md §6) ---- */

const char *husk_rpc_status_name(int status) {
    static const struct {
        int status;
        const char *name;
    } names[] = {
        {0, "OK"},
        {1, "EPERM"},
        {2, "ENOENT"},
        {4, "EINTR"},
        {5, "EIO"},
        {9, "EBADF"},
        {11, "EAGAIN"},
        {12, "ENOMEM"},
        {13, "EACCES"},
        {14, "EFAULT"},
        {16, "EBUSY"},
        {17, "EEXIST"},
        {19, "ENODEV"},
        {22, "EINVAL"},
        {28, "ENOSPC"},
        {30, "EROFS"},
        {38, "ENOSYS"},
        {71, "EPROTO"},
        {90, "EMSGSIZE"},
        {93, "EPROTONOSUPPORT"},
        {95, "ENOTSUP"},
        {104, "ECONNRESET"},
        {110, "ETIMEDOUT"},
        {116, "ESTALE"},
        /* the net interface's errors (docs/net.md) */
        {32, "EPIPE"},
        {89, "EDESTADDRREQ"},
        {92, "ENOPROTOOPT"},
        {97, "EAFNOSUPPORT"},
        {98, "EADDRINUSE"},
        {99, "EADDRNOTAVAIL"},
        {101, "ENETUNREACH"},
        {103, "ECONNABORTED"},
        {105, "ENOBUFS"},
        {106, "EISCONN"},
        {107, "ENOTCONN"},
        {111, "ECONNREFUSED"},
        {113, "EHOSTUNREACH"},
        {114, "EALREADY"},
        {115, "EINPROGRESS"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].status == status) return names[i].name;
    static _Thread_local char other[24];
    snprintf(other, sizeof other, "E%d", status);
    return other;
}
