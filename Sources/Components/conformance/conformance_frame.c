/*
 * conformance_frame.c — frame I/O (ABI 1.1, HUSK_FEAT_FRAME) on a frame
 * device the suite creates (posix: a TAP interface "hcf" + random digits,
 * removed at close). The interface stays down, so nothing reaches it: the
 * checks are about arguments, waiting, cancellation and handles. Frames
 * through a live interface are tested by the tap component's tests.
 */
#include "cf_private.h"

static bool have_frame(void) { return H->abi_minor >= 1 && (H->features & HUSK_FEAT_FRAME) != 0; }

#define NEED_FRAME()                                                             \
    do {                                                                         \
        if (!have_frame()) SKIP("no HUSK_FEAT_FRAME on backend %s", H->backend); \
    } while (0)

/* A fresh interface name: "hcf" and 8 random hex digits (15 bytes at most). */
static void fresh_name(char out[16]) {
    uint32_t r = 0;
    H->random_bytes(C, &r, sizeof r);
    cf_fmt(out, 16, "hcf%08x", r);
}

static void t_frame_open_errors(void) {
    NEED_FRAME();
    husk_handle h = 0;
    CHECK_RC(H->frame_open(C, "", HUSK_FRAME_CREATE, &h, 0), HUSK_EINVAL);
    CHECK_RC(H->frame_open(C, "name-of-16-bytes", HUSK_FRAME_CREATE, &h, 0), HUSK_EINVAL);
    CHECK_RC(H->frame_open(C, "a b", HUSK_FRAME_CREATE, &h, 0), HUSK_EINVAL);
    char name[16];
    fresh_name(name);
    CHECK_RC(H->frame_open(C, name, 0x80u, &h, 0), HUSK_EINVAL);
    CHECK_RC(H->frame_open(C, name, 0, &h, 0), HUSK_ENOENT);
}

static void t_frame_open_info(void) {
    NEED_FRAME();
    char name[16];
    fresh_name(name);
    husk_handle h = 0, twice = 0;
    struct husk_frame_info info;
    cf_fill(&info, sizeof info, 0xee);
    int32_t r = H->frame_open(C, name, HUSK_FRAME_CREATE, &h, &info);
    if (r == HUSK_EACCES) SKIP("creating a frame device is not permitted here (needs CAP_NET_ADMIN)");
    if (!CHECK_RC(r, HUSK_OK)) return;
    CHECK(h != 0, "frame_open returned handle 0");
    CHECK(info.mtu >= 68 && info.mtu <= 65535, "info.mtu %u outside 68..65535", info.mtu);
    CHECK((info.mac[0] & 3u) == 2u, "info.mac %02x:...: not a locally administered unicast address", info.mac[0]);
    CHECK_RC(H->frame_open(C, name, 0, &twice, 0), HUSK_EBUSY);
    CHECK_RC(H->frame_close(C, h), HUSK_OK);
    CHECK_RC(H->frame_close(C, h), HUSK_EBADF);
    /* Created devices go away at close. */
    CHECK_RC(H->frame_open(C, name, 0, &h, 0), HUSK_ENOENT);
}

static void t_frame_send_lengths(void) {
    NEED_FRAME();
    char name[16];
    fresh_name(name);
    husk_handle h = 0;
    struct husk_frame_info info;
    int32_t r = H->frame_open(C, name, HUSK_FRAME_CREATE, &h, &info);
    if (r == HUSK_EACCES) SKIP("creating a frame device is not permitted here");
    if (!CHECK_RC(r, HUSK_OK)) return;
    static uint8_t frame[65600];
    cf_fill(frame, sizeof frame, 0xff);
    CHECK_RC(H->frame_send(C, h, frame, 13), HUSK_EINVAL);
    CHECK_RC(H->frame_send(C, h, frame, info.mtu + 19u), HUSK_EINVAL);
    /* A device that is down takes nothing: EIO, not a silent drop. */
    CHECK_RC2(H->frame_send(C, h, frame, 60), HUSK_EIO, HUSK_OK);
    CHECK_RC(H->frame_close(C, h), HUSK_OK);
    CHECK_RC(H->frame_send(C, h, frame, 60), HUSK_EBADF);
}

struct recv_arg {
    husk_handle h;
    int32_t rc;
    uint64_t waited_ns;
};

static void receiver(void *p) {
    struct recv_arg *a = p;
    static uint8_t buf[2048];
    uint64_t len = 0, t0 = cf_now();
    a->rc = H->frame_recv(C, a->h, buf, sizeof buf, &len, UINT64_MAX);
    a->waited_ns = cf_now() - t0;
}

static void t_frame_recv_timeout_and_cancel(void) {
    NEED_FRAME();
    char name[16];
    fresh_name(name);
    husk_handle h = 0;
    int32_t r = H->frame_open(C, name, HUSK_FRAME_CREATE, &h, 0);
    if (r == HUSK_EACCES) SKIP("creating a frame device is not permitted here");
    if (!CHECK_RC(r, HUSK_OK)) return;
    uint8_t buf[128];
    uint64_t len = 0, t0 = cf_now();
    CHECK_RC(H->frame_recv(C, h, buf, sizeof buf, &len, 30 * 1000 * 1000ull), HUSK_ETIMEDOUT);
    CHECK(cf_now() - t0 >= 30 * 1000 * 1000ull, "frame_recv timed out early (%llu ns)", U64(cf_now() - t0));
    /* A receiver waiting with no limit returns EINTR once cancelled. */
    struct recv_arg a = {.h = h, .rc = -1};
    struct cf_thread t;
    if (cf_spawn(&t, "cf-frame-rx", receiver, &a) == HUSK_OK) {
        cf_pause_ms(50);
        CHECK_RC(H->thread_cancel(C, t.h), HUSK_OK);
        if (cf_join(&t, 2000 * 1000 * 1000ull)) {
            CHECK_RC(a.rc, HUSK_EINTR);
            CHECK(a.waited_ns < 1000 * 1000 * 1000ull, "cancellation took %llu ms", U64(a.waited_ns / 1000000));
        }
    }
    CHECK_RC(H->frame_close(C, h), HUSK_OK);
    CHECK_RC(H->frame_recv(C, h, buf, sizeof buf, &len, 0), HUSK_EBADF);
}

void cf_area_frame(void) {
    cf_test("frame: open bad name/flags -> EINVAL, missing without CREATE -> ENOENT", t_frame_open_errors);
    cf_test("frame: open CREATE, info mtu/mac, second open EBUSY, close, gone after close", t_frame_open_info);
    cf_test("frame: send length limits -> EINVAL, down device -> EIO, closed -> EBADF", t_frame_send_lengths);
    cf_test("frame: recv timeout, cancelled receiver -> EINTR, closed -> EBADF", t_frame_recv_timeout_and_cancel);
}
