/*
 * vblk_params.c — module parameters (`--param virtio_blk.KEY=VALUE`, read
 * with hyp->config_get at init):
 *
 *   name        name of the first disk (default "vblk0"); further devices
 *               count up from it: a name ending in digits is incremented
 *               (vblk0, vblk1, ...), any other name gets 1, 2, ... appended.
 *   poll        1: no interrupts, a kernel thread reaps the used ring.
 *   intx        1: use INTx even when MSI-X exists.
 *   queue_size  descriptors in the virtqueue: a power of two 4..256, capped
 *               at what the device offers (default: the device's maximum,
 *               at most 256).
 *
 * Every problem is logged; any bad value fails init with EINVAL.
 */
#include "vblk_softc.h"

GLUE_PRIVATE struct vblk_params vblk_params;

static bool vblk_streq(const char *a, const char *b) {
    while (*a != '\0' && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

static int32_t vblk_get(husk_ctx *ctx, const struct husk_hyp *hyp, const char *key, char *buf,
                        uint64_t buflen, bool *present) {
    uint64_t len = 0;
    int32_t r = hyp->config_get(ctx, key, buf, buflen, &len);
    *present = false;
    if (r == HUSK_ENOENT)
        return HUSK_OK;
    if (r == HUSK_ERANGE) {
        glue_logf(LOG_ERR, "parameter %s is too long (%llu bytes, at most %llu)", key,
                  (unsigned long long)len, (unsigned long long)(buflen - 1));
        return HUSK_EINVAL;
    }
    if (r != HUSK_OK) {
        glue_logf(LOG_ERR, "cannot read parameter %s: error %d", key, (int)r);
        return r;
    }
    *present = true;
    return HUSK_OK;
}

static int32_t vblk_bool(husk_ctx *ctx, const struct husk_hyp *hyp, const char *key, bool *out) {
    char v[8];
    bool present;
    int32_t r = vblk_get(ctx, hyp, key, v, sizeof v, &present);
    if (r != HUSK_OK || !present)
        return r;
    if (vblk_streq(v, "1"))
        *out = true;
    else if (vblk_streq(v, "0"))
        *out = false;
    else {
        glue_logf(LOG_ERR, "parameter %s='%s' must be 1 or 0", key, v);
        return HUSK_EINVAL;
    }
    return HUSK_OK;
}

static bool vblk_name_ok(const char *s) {
    unsigned n = 0;
    for (; s[n] != '\0'; n++) {
        char c = s[n];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == '-';
        if (!ok)
            return false;
    }
    return n >= 1 && n <= 27;   /* room for a unit number up to 4 digits */
}

int32_t vblk_params_load(husk_ctx *ctx, const struct husk_hyp *hyp) {
    int32_t first = HUSK_OK, r;
    bool present;
    char v[16];

    memset(&vblk_params, 0, sizeof vblk_params);
    vblk_next_unit = 0;
    glue_snprintf(vblk_params.name, sizeof vblk_params.name, "vblk0");
    r = vblk_get(ctx, hyp, "name", vblk_params.name, sizeof vblk_params.name, &present);
    if (r != HUSK_OK && first == HUSK_OK)
        first = r;
    if (r == HUSK_OK && present && !vblk_name_ok(vblk_params.name)) {
        glue_logf(LOG_ERR, "parameter name='%s' must be 1..27 characters of [A-Za-z0-9_.-]", vblk_params.name);
        if (first == HUSK_OK)
            first = HUSK_EINVAL;
    }
    if (r != HUSK_OK || (present && !vblk_name_ok(vblk_params.name)))
        glue_snprintf(vblk_params.name, sizeof vblk_params.name, "vblk0");

    r = vblk_bool(ctx, hyp, "poll", &vblk_params.poll);
    if (r != HUSK_OK && first == HUSK_OK)
        first = r;
    r = vblk_bool(ctx, hyp, "intx", &vblk_params.intx);
    if (r != HUSK_OK && first == HUSK_OK)
        first = r;

    r = vblk_get(ctx, hyp, "queue_size", v, sizeof v, &present);
    if (r != HUSK_OK && first == HUSK_OK)
        first = r;
    if (r == HUSK_OK && present) {
        uint32_t q = 0;
        const char *p = v;
        bool digits = *p != '\0';
        for (; *p != '\0'; p++) {
            if (*p < '0' || *p > '9' || q > 100000u) {
                digits = false;
                break;
            }
            q = q * 10 + (uint32_t)(*p - '0');
        }
        if (!digits || q < 4 || q > VBLK_QUEUE_MAX || (q & (q - 1)) != 0) {
            glue_logf(LOG_ERR, "parameter queue_size='%s' must be a power of two from 4 to %u", v, VBLK_QUEUE_MAX);
            if (first == HUSK_OK)
                first = HUSK_EINVAL;
        } else {
            vblk_params.queue_size = q;
        }
    }
    if (first == HUSK_OK)
        glue_logf(LOG_INFO, "parameters: name=%s poll=%d intx=%d queue_size=%u%s", vblk_params.name,
                  (int)vblk_params.poll, (int)vblk_params.intx, vblk_params.queue_size,
                  vblk_params.queue_size == 0 ? " (device maximum)" : "");
    return first;
}

/* Name of the disk of the unit-th device: unit 0 has the parameter's name;
 * later units increment its trailing number, or append one. */
void vblk_disk_name(unsigned unit, char *out, unsigned outlen) {
    const char *base = vblk_params.name;
    if (unit == 0) {
        glue_snprintf(out, outlen, "%s", base);
        return;
    }
    unsigned len = 0, digits_at;
    while (base[len] != '\0')
        len++;
    digits_at = len;
    while (digits_at > 0 && base[digits_at - 1] >= '0' && base[digits_at - 1] <= '9')
        digits_at--;
    if (digits_at == len || len - digits_at > 6) {
        glue_snprintf(out, outlen, "%s%u", base, unit);
        return;
    }
    unsigned n = 0;
    for (unsigned i = digits_at; i < len; i++)
        n = n * 10 + (unsigned)(base[i] - '0');
    char prefix[VBLK_NAME_MAX];
    for (unsigned i = 0; i < digits_at && i + 1 < sizeof prefix; i++)
        prefix[i] = base[i];
    prefix[digits_at < sizeof prefix ? digits_at : sizeof prefix - 1] = '\0';
    glue_snprintf(out, outlen, "%s%u", prefix, n + unit);
}
