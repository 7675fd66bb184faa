/*
 * conformance.c — the conformance suite as a component.
 *
 * init keeps the context and the table; run executes every area in turn and
 * returns the number of failed checks (0: the host conforms). With the
 * configuration key panic_case set, run instead performs one misuse that the
 * ABI says panics (conformance_panic.c).
 */
#include "husk_component_conformance.h"
#include "cf_private.h"

static int32_t conformance_init(husk_ctx *ctx, const struct husk_hyp *hyp) {
    if (!ctx || !hyp) return HUSK_EINVAL;
    cf_ctx = ctx;
    cf_hyp = hyp;
    return HUSK_OK;
}

static int32_t conformance_run(husk_ctx *ctx) {
    (void)ctx;
    static char panic_case[64], only[128];
    if (cf_config("panic_case", panic_case, sizeof panic_case) && panic_case[0]) return cf_panic_case(panic_case);
    if (!cf_config("only", only, sizeof only)) only[0] = 0;

    cf_suite_begin(only);
    cf_area_version();
    cf_area_misc();
    cf_area_time();
    cf_area_memory();
    cf_area_threads();
    cf_area_mutex();
    cf_area_rwlock();
    cf_area_condvar();
    cf_area_cancel();
    cf_area_errors();
    cf_area_dma();
    cf_area_pci();
    cf_area_blk();
    cf_area_frame();
    return cf_suite_end();
}

static void conformance_fini(husk_ctx *ctx) { (void)ctx; }

HUSK_COMPONENT(conformance) = {
    .abi_major = HUSK_ABI_MAJOR,
    .abi_minor = HUSK_ABI_MINOR,
    .name = "conformance",
    .description = "hypercall ABI conformance suite: every operation, error path and wake-up",
    .kind = HUSK_KIND_OTHER,
    .depends = 0,
    .init = conformance_init,
    .run = conformance_run,
    .fini = conformance_fini,
};
