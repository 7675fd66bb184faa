/*
 * blkcopy_private.h — prefix blkcopy: state and functions shared by the
 * component's files (HUSK_PRIVATE).
 *
 *   blkcopy.c           descriptor, init/run/fini, device and buffer setup
 *   blkcopy_params.c    the component's parameters (glue_param_*)
 *   blkcopy_pipeline.c  the asynchronous read -> copy -> write pipeline and
 *                       the read-back verification, with their completions
 *   blkcopy_crc32c.c    CRC32C (Castagnoli)
 *
 * Concurrency. One thread drives everything: the host thread running
 * `run`. Block completions (host completion threads) and DMA engine
 * completions (the engine driver's interrupt thread) run in irq context:
 * they only take sc_lock, update the counters of their slot, wake the
 * driving thread through sc_cv and return. Everything else, including
 * every stage transition, happens on the driving thread.
 */
#ifndef BLKCOPY_PRIVATE_H
#define BLKCOPY_PRIVATE_H

#include <husk/glue.h>

/* The four libc functions a component may call (glue.h): the host's. No
 * libc header is available to a component, so declare them here. */
void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);

#define BLKCOPY_PATH_MAX      4096u
#define BLKCOPY_ENGINE_MAX    64u
#define BLKCOPY_CHUNK_DEFAULT 65536u
#define BLKCOPY_CHUNK_ALIGN   4096u
#define BLKCOPY_CHUNK_MAX     (1024u * 1024u)
#define BLKCOPY_DEPTH_DEFAULT 8u
#define BLKCOPY_DEPTH_MAX     64u

enum blkcopy_engine_mode {
    BLKCOPY_ENGINE_AUTO,  /* a registered engine if there is one, else the CPU */
    BLKCOPY_ENGINE_CPU,   /* always the CPU */
    BLKCOPY_ENGINE_NAMED, /* the engine called sc_engine_name; it must exist */
};

/* Which pass the pipeline runs. */
enum blkcopy_phase {
    BLKCOPY_PHASE_COPY,   /* read src -> copy -> write dst */
    BLKCOPY_PHASE_VERIFY, /* read src and dst back, compare CRC32C per chunk */
};

/* Where a slot is in its chunk's life. Only the driving thread changes it. */
enum blkcopy_stage {
    BLKCOPY_IDLE,    /* free */
    BLKCOPY_READING, /* copy: src read in flight. verify: both reads in flight */
    BLKCOPY_COPYING, /* copy: engine segments issued or still to issue */
    BLKCOPY_WRITING, /* copy: dst write in flight */
    BLKCOPY_DONE,    /* waiting to be retired in offset order */
};

/* What a failed completion was doing (for the log line). */
enum blkcopy_what {
    BLKCOPY_WHAT_NONE,
    BLKCOPY_WHAT_READ_SRC,
    BLKCOPY_WHAT_READ_DST,
    BLKCOPY_WHAT_WRITE_DST,
    BLKCOPY_WHAT_ENGINE,
};

/* One DMA buffer: memory from bus_dmamem_alloc plus a map loaded on it. */
struct blkcopy_buf {
    bus_dma_segment_t seg;
    bus_dmamap_t map; /* NULL until created */
    bool allocated;
};

/* One chunk in flight. depth of them, used as a ring in offset order. */
struct blkcopy_slot {
    struct blkcopy_softc *sc;
    struct blkcopy_buf rbuf;    /* src data lands here */
    struct blkcopy_buf wbuf;    /* dst data leaves from here (verify: dst lands here) */
    struct husk_blk_req req[2]; /* [0]: src read; [1]: dst write (verify: dst read) */
    enum blkcopy_stage stage;
    uint64_t off; /* byte offset of the chunk */
    uint64_t len; /* bytes in the chunk (the last may be short) */
    /* Guarded by sc_lock: written by completions. */
    uint32_t pending; /* block requests + engine segments outstanding */
    int32_t err;      /* first failure of a block request, 0 if none */
    enum blkcopy_what err_what;
    int32_t engine_err; /* first failure reported by the engine's done */
    /* Engine copy progress (driving thread only). */
    uint64_t copy_issued; /* bytes handed to the engine so far */
    bool copy_by_cpu;     /* redo/finish this chunk with the CPU */
};

struct blkcopy_softc {
    husk_ctx *ctx;
    const struct husk_hyp *hyp;

    /* Parameters (init). */
    char src[BLKCOPY_PATH_MAX];
    char dst[BLKCOPY_PATH_MAX];
    uint64_t chunk;
    uint32_t depth;
    enum blkcopy_engine_mode engine_mode;
    char engine_name[BLKCOPY_ENGINE_MAX];
    bool verify;

    /* Created in init, destroyed in fini: completions may still be
     * returning from mutex_exit just after the driving thread saw the last
     * of them, so these live until the component is torn down. */
    kmutex_t lock;
    kcondvar_t cv;
    bool lock_ok, cv_ok;

    /* Resources of one run (freed at the end of run, or by fini). */
    husk_handle src_blk, dst_blk;
    uint64_t size;           /* bytes to copy: the size of src */
    struct dma_chan *chan;   /* NULL: CPU copies */
    uint64_t engine_max_len; /* 0: no limit */
    uint64_t engine_max_bus; /* 0: no limit */
    bool engine_lost;        /* engine unregistered mid-run: CPU from then on */
    uint64_t engine_lost_at;
    struct blkcopy_slot *slots; /* depth entries */
    uint32_t nslots;

    /* Guarded by lock. */
    uint32_t inflight;        /* block requests + engine segments, all slots */
    uint32_t engine_inflight; /* engine segments, all slots */

    /* Pipeline bookkeeping (driving thread). */
    uint32_t head; /* oldest active slot */
    uint32_t nactive;
    uint64_t next_off;   /* next chunk to start */
    uint64_t done_bytes; /* bytes retired in order */
    uint64_t nchunks;    /* chunks retired */
    uint32_t next_pct;   /* next progress report, in percent */
    bool engine_busy;    /* the engine said EAGAIN: retry after a wake-up */
    /* Results. */
    uint32_t copy_crc;           /* CRC32C of src as read during the copy */
    uint32_t vsrc_crc, vdst_crc; /* CRC32C of the read-back src and dst */
};

/* The functions that link the component's files together (HUSK_PRIVATE:
 * hidden from the dynamic symbol table). */

/* blkcopy_params.c: fill sc's parameters with glue_param_*. Logs every
 * problem; 0 or HUSK_EINVAL (or the host's error reading a parameter). */
HUSK_PRIVATE int32_t blkcopy_params_load(struct blkcopy_softc *sc);

/* blkcopy_pipeline.c: run one pass over [0, sc->size). 0, HUSK_EINTR
 * (cancelled: logged by the caller), or the first error (logged here).
 * Returns only when nothing is in flight. */
HUSK_PRIVATE int32_t blkcopy_pipeline_run(struct blkcopy_softc *sc, enum blkcopy_phase phase);

/* blkcopy_crc32c.c */
HUSK_PRIVATE void blkcopy_crc32c_init(void);
/* Continue a CRC32C: start with crc = 0; the result of one call is the
 * crc argument of the next. */
HUSK_PRIVATE uint32_t blkcopy_crc32c(uint32_t crc, const void *buf, uint64_t len);
/* CRC32C of A followed by B, from crc_a = CRC32C(A), crc_b = CRC32C(B)
 * and len_b = the length of B. */
HUSK_PRIVATE uint32_t blkcopy_crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b);

#endif /* BLKCOPY_PRIVATE_H */
