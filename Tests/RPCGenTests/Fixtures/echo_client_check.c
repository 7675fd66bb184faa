/* Drives the generated echo client against a real server: argv[1] = socket, argv[2] = scenario. */
#define _GNU_SOURCE
#include "husk_rpc_echo.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int failures;
#define CHECK(cond, ...)                                            \
    do {                                                            \
        if (!(cond)) {                                              \
            fprintf(stderr, "FAIL line %d: %s: ", __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                           \
            fprintf(stderr, "\n");                                  \
            failures++;                                             \
        }                                                           \
    } while (0)

static uint32_t crc32c(const uint8_t *p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
    }
    return ~c;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static struct husk_rpc_conn *connect_echo(const char *path) {
    struct husk_rpc_requirement req[] = {HUSK_ECHO_REQUIREMENT};
    struct husk_rpc_conn *c = NULL;
    char err[256];
    int st = husk_rpc_connect(path, req, 1, &c, err, sizeof err);
    if (st != 0) {
        fprintf(stderr, "connect: %s (%s)\n", husk_rpc_status_name(st), err);
        exit(2);
    }
    return c;
}

static volatile sig_atomic_t got_usr1, got_alrm;
static void on_usr1(int s) {
    (void)s;
    got_usr1 = 1;
}
static void on_alrm(int s) {
    (void)s;
    got_alrm = 1;
}

static void *cancel_later(void *arg) {
    usleep(200 * 1000);
    int st = husk_rpc_cancel(arg);
    if (st != 0) fprintf(stderr, "husk_rpc_cancel: %s\n", husk_rpc_status_name(st));
    return NULL;
}

static void basic(const char *path) {
    struct husk_rpc_conn *c = connect_echo(path);
    printf("server %s max_message %u\n", husk_rpc_server_name(c), husk_rpc_server_limits(c).max_message);
    CHECK(husk_rpc_interface_version(c, HUSK_ECHO_INTERFACE_ID) == 1, "interface version");
    CHECK(husk_echo_ping(c) == 0, "ping");

    /* echo: small, empty, and larger than one message (fragmented both ways). */
    size_t sizes[] = {0, 1, 1000, 300 * 1024};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        uint8_t *in = malloc(n + 1), *out = malloc(n + 1);
        for (size_t k = 0; k < n; k++) in[k] = (uint8_t)(k * 7 + i);
        uint32_t got = 12345;
        int st = husk_echo_echo(c, in, (uint32_t)n, out, (uint32_t)n, &got);
        CHECK(st == 0, "echo %zu: %s", n, husk_rpc_status_name(st));
        CHECK(got == n && memcmp(in, out, n) == 0, "echo %zu: round trip (got %u)", n, got);
        free(in);
        free(out);
    }
    uint8_t small[4];
    uint32_t need = 0;
    int st = husk_echo_echo(c, (const uint8_t *)"hello world", 11, small, sizeof small, &need);
    CHECK(st == EMSGSIZE && need == 11, "echo into a short buffer: %s need %u", husk_rpc_status_name(st), need);
    printf("OK echo\n");

    uint32_t uid = 0, gid = 0, groups[64], ngroups = 0;
    st = husk_echo_whoami(c, &uid, &gid, groups, 64, &ngroups);
    CHECK(st == 0, "whoami: %s", husk_rpc_status_name(st));
    CHECK(uid == getuid() && gid == getgid(), "whoami: uid %u gid %u", uid, gid);
    printf("OK whoami uid %u gid %u groups %u\n", uid, gid, ngroups);

    uint64_t up = 0, calls = 0;
    st = husk_echo_stat(c, &up, &calls);
    CHECK(st == 0 && up > 0 && calls > 0, "stat: %s up %llu calls %llu", husk_rpc_status_name(st),
          (unsigned long long)up, (unsigned long long)calls);
    printf("OK stat\n");

    struct husk_rpc_shm shm;
    st = husk_rpc_shm_register(c, 1 << 20, &shm);
    CHECK(st == 0, "shm register: %s", husk_rpc_status_name(st));
    if (st == 0) {
        uint8_t *p = shm.base;
        for (size_t k = 0; k < shm.size; k++) p[k] = (uint8_t)(k ^ (k >> 8));
        uint32_t crc = 0;
        uint64_t len = 0;
        st = husk_echo_checksum(c, husk_rpc_shm_ref(&shm, 4096, 512 * 1024), &crc, &len);
        CHECK(st == 0, "checksum: %s", husk_rpc_status_name(st));
        CHECK(len == 512 * 1024 && crc == crc32c(p + 4096, 512 * 1024), "checksum: crc %08x len %llu", crc,
              (unsigned long long)len);
        /* The client may keep writing: the next checksum sees the new bytes. */
        p[4096] ^= 0xFF;
        st = husk_echo_checksum(c, husk_rpc_shm_ref(&shm, 4096, 512 * 1024), &crc, &len);
        CHECK(st == 0 && crc == crc32c(p + 4096, 512 * 1024), "checksum after a write");
        st = husk_echo_checksum(c, husk_rpc_shm_ref(&shm, shm.size - 10, 11), &crc, &len);
        CHECK(st == EFAULT, "checksum outside the region: %s", husk_rpc_status_name(st));
        struct husk_rpc_shm_ref bogus = {.id = shm.id + 1000, .offset = 0, .length = 1};
        st = husk_echo_checksum(c, bogus, &crc, &len);
        CHECK(st != 0, "checksum of an unknown region: %s", husk_rpc_status_name(st));
        printf("checksum unknown region -> %s\n", husk_rpc_status_name(st));
        st = husk_rpc_shm_unregister(c, &shm);
        CHECK(st == 0, "shm unregister: %s", husk_rpc_status_name(st));
        printf("OK shm\n");
    }

    /* Signals from the server are raised in this thread before the call returns. */
    signal(SIGUSR1, on_usr1);
    st = husk_echo_raise(c, SIGUSR1);
    CHECK(st == 0 && got_usr1 == 1, "raise: %s, handler ran %d", husk_rpc_status_name(st), (int)got_usr1);
    printf("OK raise\n");

    int fd = -1;
    st = husk_echo_open(c, "object", &fd);
    CHECK(st == 0 && fd >= 0, "open: %s fd %d", husk_rpc_status_name(st), fd);
    if (fd >= 0) {
        struct stat sb;
        CHECK(fstat(fd, &sb) == 0 && S_ISSOCK(sb.st_mode), "open: descriptor is a socket");
        close(fd);
    }
    printf("OK open\n");

    /* Unknown operation and undecodable payload, through the raw call. */
    struct husk_rpc_reply reply;
    st = husk_rpc_call(c, HUSK_ECHO_INTERFACE_ID, 99, NULL, 0, NULL, 0, &reply);
    CHECK(st == ENOSYS, "unknown op: %s", husk_rpc_status_name(st));
    st = husk_rpc_call(c, 77, 1, NULL, 0, NULL, 0, &reply);
    CHECK(st == ENOSYS, "unknown interface: %s", husk_rpc_status_name(st));
    uint8_t garbage[3] = {1, 2, 3};
    st = husk_rpc_call(c, HUSK_ECHO_INTERFACE_ID, HUSK_ECHO_OP_ECHO, garbage, sizeof garbage, NULL, 0, &reply);
    CHECK(st == EINVAL, "garbage payload: %s", husk_rpc_status_name(st));
    CHECK(husk_echo_ping(c) == 0, "connection still usable");
    printf("OK errors\n");

    /* Cancellation from another thread. */
    pthread_t t;
    pthread_create(&t, NULL, cancel_later, c);
    double t0 = now_ms();
    uint32_t slept = 0;
    st = husk_echo_sleep(c, 5000, &slept);
    double dt = now_ms() - t0;
    pthread_join(t, NULL);
    CHECK(st == EINTR && dt < 3000, "cancelled sleep: %s after %.0f ms", husk_rpc_status_name(st), dt);
    printf("OK cancel %s %.0f ms\n", husk_rpc_status_name(st), dt);

    /* A signal without SA_RESTART interrupts the wait: the library cancels. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alrm;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {.it_value = {.tv_sec = 0, .tv_usec = 200 * 1000}};
    setitimer(ITIMER_REAL, &it, NULL);
    t0 = now_ms();
    st = husk_echo_sleep(c, 5000, &slept);
    dt = now_ms() - t0;
    CHECK(got_alrm && st == EINTR && dt < 3000, "interrupted sleep: %s after %.0f ms", husk_rpc_status_name(st), dt);
    printf("OK signal-cancel %s %.0f ms\n", husk_rpc_status_name(st), dt);

    /* With SA_RESTART the call just continues. */
    got_alrm = 0;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    setitimer(ITIMER_REAL, &it, NULL);
    st = husk_echo_sleep(c, 600, &slept);
    CHECK(got_alrm && st == 0 && slept >= 600, "restarted sleep: %s slept %u", husk_rpc_status_name(st), slept);
    printf("OK signal-restart\n");
    CHECK(husk_echo_ping(c) == 0, "ping after cancellations");
    husk_rpc_close(c);

    /* Version negotiation failures name the interface and the server. */
    char err[256];
    struct husk_rpc_requirement v2[] = {{HUSK_ECHO_INTERFACE_ID, 2}};
    st = husk_rpc_connect(path, v2, 1, &c, err, sizeof err);
    CHECK(st == ENOSYS && strstr(err, "interface 1 version 2 not offered by server") && strstr(err, "it has version 1"),
          "version 2: %s %s", husk_rpc_status_name(st), err);
    printf("version mismatch: %s\n", err);
    struct husk_rpc_requirement missing[] = {{4242, 1}};
    st = husk_rpc_connect(path, missing, 1, &c, err, sizeof err);
    CHECK(st == ENOSYS && strstr(err, "interface 4242 version 1 not offered by server"), "missing: %s %s",
          husk_rpc_status_name(st), err);
    st = husk_rpc_connect("/nonexistent/husk.sock", NULL, 0, &c, err, sizeof err);
    CHECK(st == ENOENT, "no server: %s %s", husk_rpc_status_name(st), err);
    printf("OK negotiation\n");
}

/* Blocks in a long call; the test kills the server meanwhile. */
static void death(const char *path) {
    struct husk_rpc_conn *c = connect_echo(path);
    printf("READY\n");
    fflush(stdout);
    uint32_t slept = 0;
    double t0 = now_ms();
    int st = husk_echo_sleep(c, 20000, &slept);
    double dt = now_ms() - t0;
    CHECK(st == ECONNRESET && dt < 10000, "sleep while the server dies: %s after %.0f ms", husk_rpc_status_name(st),
          dt);
    st = husk_echo_ping(c);
    CHECK(st == ECONNRESET, "call after death: %s", husk_rpc_status_name(st));
    husk_rpc_close(c);
    printf("OK death\n");
}

/* ---- reconnect: the test stops, kills and restarts the server, told by lines on stdin. ---- */

struct bg_call {
    struct husk_rpc_conn *conn;
    int op; /* 0: sleep 60 s, 1: stat */
    volatile int started, done, status;
};

static void *bg_call_run(void *arg) {
    struct bg_call *b = arg;
    b->started = 1;
    uint32_t slept = 0;
    uint64_t up = 0, calls = 0;
    b->status = b->op == 0 ? husk_echo_sleep(b->conn, 60000, &slept) : husk_echo_stat(b->conn, &up, &calls);
    __atomic_store_n(&b->done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

/* Wait (up to `ms`) until the call has returned. */
static bool wait_done(struct bg_call *b, int ms) {
    double end = now_ms() + ms;
    while (!__atomic_load_n(&b->done, __ATOMIC_SEQ_CST) && now_ms() < end) usleep(5000);
    return __atomic_load_n(&b->done, __ATOMIC_SEQ_CST) != 0;
}

static void expect_line(const char *word) {
    char line[64];
    if (fgets(line, sizeof line, stdin) == NULL || strncmp(line, word, strlen(word)) != 0) {
        fprintf(stderr, "expected '%s' on stdin\n", word);
        exit(3);
    }
}

static void say(const char *word) {
    printf("%s\n", word);
    fflush(stdout);
}

/* Calls (interface, operation) of the server-wide STATS, -1 if absent. */
static long long op_calls(struct husk_rpc_conn *c, uint32_t interface, uint32_t operation) {
    struct husk_rpc_reply rep;
    int st = husk_rpc_call_flags(c, 0, 5, NULL, 0, NULL, 0, HUSK_RPC_CALL_IDEMPOTENT, &rep);
    CHECK(st == 0, "stats: %s", husk_rpc_status_name(st));
    if (st != 0) return -2;
    struct husk_rpc_reader r;
    husk_rpc_reader_init(&r, rep.payload, rep.payload_len);
    (void)husk_rpc_get_u64(&r);
    const uint8_t *p = NULL;
    uint32_t n = 0;
    husk_rpc_get_array(&r, 24, &p, &n);
    long long found = -1;
    for (uint32_t i = 0; i < n; i++)
        if (husk_rpc_le32(p + 24 * i) == interface && husk_rpc_le32(p + 24 * i + 4) == operation)
            found = (long long)husk_rpc_le64(p + 24 * i + 8);
    CHECK(husk_rpc_reader_end(&r) == 0, "stats reply decodes");
    husk_rpc_reply_release(&rep);
    return found;
}

static void reconnect(const char *path) {
    struct husk_rpc_conn *c = connect_echo(path);     /* sleeps; parent of the handle */
    struct husk_rpc_conn *c2 = connect_echo(path);    /* an idempotent stat in flight at the kill */
    struct husk_rpc_conn *plain = connect_echo(path); /* no reconnect */
    CHECK(husk_rpc_set_reconnect(c, 15000, 20, 3) == 0, "set_reconnect");
    CHECK(husk_rpc_set_reconnect(c2, 15000, 20, 3) == 0, "set_reconnect");
    CHECK(husk_rpc_set_reconnect(c, -1, 20, 3) == EINVAL, "negative timeout");
    uint32_t epoch1 = husk_rpc_server_epoch(c);
    CHECK(epoch1 != 0 && epoch1 == husk_rpc_server_epoch(c2), "epoch %u", epoch1);

    /* A handle (opened object) from this server start. */
    int fd = -1;
    int st = husk_echo_open(c, "obj", &fd);
    CHECK(st == 0 && fd >= 0, "open: %s", husk_rpc_status_name(st));
    struct husk_rpc_requirement req[] = {HUSK_ECHO_REQUIREMENT};
    struct husk_rpc_conn *obj = NULL;
    char err[256];
    st = husk_rpc_adopt(fd, c, req, 1, &obj, err, sizeof err);
    CHECK(st == 0, "adopt: %s %s", husk_rpc_status_name(st), err);
    if (st != 0) exit(1);
    CHECK(husk_echo_ping(obj) == 0, "ping the handle");
    CHECK(husk_rpc_server_epoch(obj) == epoch1, "the handle carries the same epoch");
    CHECK(husk_rpc_set_reconnect(obj, 1000, 20, 3) == EINVAL, "a handle has no path to reconnect to");

    /* In flight at the death: a non-idempotent sleep (started now) and an
     * idempotent stat (sent while the server is stopped). */
    struct bg_call sleeper = {.conn = c, .op = 0}, stater = {.conn = c2, .op = 1};
    pthread_t ts, tt;
    pthread_create(&ts, NULL, bg_call_run, &sleeper);
    while (!sleeper.started) usleep(1000);
    usleep(300 * 1000); /* let the request reach the server */
    say("READY");
    expect_line("stopped");
    pthread_create(&tt, NULL, bg_call_run, &stater);
    while (!stater.started) usleep(1000);
    usleep(200 * 1000); /* the request goes into the stopped server's socket */
    CHECK(!stater.done, "stat returned while the server was stopped: %s", husk_rpc_status_name(stater.status));
    say("SENT");
    expect_line("killed");
    CHECK(wait_done(&sleeper, 5000), "the sleep did not return after the kill");
    CHECK(sleeper.status == ECONNRESET, "non-idempotent call in flight: %s", husk_rpc_status_name(sleeper.status));
    st = husk_echo_ping(plain);
    CHECK(st == ECONNRESET, "no reconnect: %s", husk_rpc_status_name(st));
    CHECK(!stater.done, "the stat gave up while no server ran: %s", husk_rpc_status_name(stater.status));
    say("RESET");
    expect_line("restarted");
    CHECK(wait_done(&stater, 15000), "the stat was not retried");
    CHECK(stater.status == 0, "idempotent call retried on the new connection: %s", husk_rpc_status_name(stater.status));
    CHECK(husk_rpc_reconnect_count(c2) == 1, "c2 reconnected %llu times",
          (unsigned long long)husk_rpc_reconnect_count(c2));
    CHECK(husk_rpc_server_epoch(c2) != epoch1, "a new server start, a new epoch");

    /* The handle's own connection died: it pings through its parent (which
     * reconnects) and finds another epoch. Then ESTALE without sending. */
    st = husk_echo_ping(obj);
    CHECK(st == ESTALE, "handle after the restart: %s", husk_rpc_status_name(st));
    CHECK(husk_rpc_reconnect_count(c) == 1, "c reconnected %llu times",
          (unsigned long long)husk_rpc_reconnect_count(c));
    CHECK(husk_rpc_server_epoch(c) == husk_rpc_server_epoch(c2), "c sees the new epoch");
    st = husk_echo_ping(obj);
    CHECK(st == ESTALE, "handle again: %s", husk_rpc_status_name(st));

    /* The new server saw exactly one stat (the retry) and no sleep. */
    long long stats = op_calls(c, HUSK_ECHO_INTERFACE_ID, HUSK_ECHO_OP_STAT);
    long long sleeps = op_calls(c, HUSK_ECHO_INTERFACE_ID, HUSK_ECHO_OP_SLEEP);
    CHECK(stats == 1 && sleeps == -1, "new server's stats: stat %lld sleep %lld", stats, sleeps);

    /* The next non-idempotent call works. */
    uint32_t slept = 0;
    st = husk_echo_sleep(c, 5, &slept);
    CHECK(st == 0 && slept >= 5, "sleep after the reconnect: %s slept %u", husk_rpc_status_name(st), slept);
    st = husk_echo_ping(plain);
    CHECK(st == ECONNRESET, "no reconnect, still: %s", husk_rpc_status_name(st));

    pthread_join(ts, NULL);
    pthread_join(tt, NULL);
    husk_rpc_close(obj);
    husk_rpc_close(plain);
    husk_rpc_close(c2);
    husk_rpc_close(c);
    if (failures == 0) printf("OK reconnect\n");
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s SOCKET basic|death|reconnect\n", argv[0]);
        return 2;
    }
    if (strcmp(argv[2], "basic") == 0)
        basic(argv[1]);
    else if (strcmp(argv[2], "reconnect") == 0)
        reconnect(argv[1]);
    else
        death(argv[1]);
    if (failures == 0) printf("ALL OK\n");
    return failures == 0 ? 0 : 1;
}
