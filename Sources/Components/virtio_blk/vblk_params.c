/*
 * vblk_params.c — module parameters (`--param virtio_blk.KEY=VALUE`, read
 * at init with the glue's glue_param_*, husk/glue/param.h):
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
 * Every problem is logged (the glue logs what it checks: too long, not 0/1,
 * not a number, out of range; the name and power-of-two rules are logged
 * here); any bad value fails init with EINVAL.
 */
#include "vblk_private.h"

HUSK_PRIVATE struct vblk_params vblk_params;

/* Room for a unit number of up to 4 digits after the name. */
#define VBLK_NAME_BASE_MAX (DISK_NAME_MAX - 4)

int32_t vblk_params_load(void) {
    int32_t first = HUSK_OK, r;
    bool present;

    memset(&vblk_params, 0, sizeof vblk_params);
    vblk_next_unit = 0;
    glue_snprintf(vblk_params.name, sizeof vblk_params.name, "vblk0");
    r = glue_param_string("name", vblk_params.name, sizeof vblk_params.name, &present);
    if (r != HUSK_OK && first == HUSK_OK) first = r;
    if (r == HUSK_OK && present && !disk_name_valid(vblk_params.name, VBLK_NAME_BASE_MAX)) {
        glue_logf(LOG_ERR, "parameter name='%s' must be 1..27 characters of [A-Za-z0-9_.-]", vblk_params.name);
        if (first == HUSK_OK) first = HUSK_EINVAL;
    }
    if (r != HUSK_OK || (present && !disk_name_valid(vblk_params.name, VBLK_NAME_BASE_MAX)))
        glue_snprintf(vblk_params.name, sizeof vblk_params.name, "vblk0");

    r = glue_param_bool("poll", &vblk_params.poll);
    if (r != HUSK_OK && first == HUSK_OK) first = r;
    r = glue_param_bool("intx", &vblk_params.intx);
    if (r != HUSK_OK && first == HUSK_OK) first = r;

    /* 0 (unset) = the device's maximum. Suffixed values are >= 1024 or 0:
     * out of range. */
    uint64_t q = 0;
    r = glue_param_u64("queue_size", &q, 4, VBLK_QUEUE_MAX);
    if (r != HUSK_OK && first == HUSK_OK) first = r;
    if (r == HUSK_OK && (q & (q - 1)) != 0) {
        glue_logf(LOG_ERR, "parameter queue_size=%llu must be a power of two from 4 to %u", (unsigned long long)q,
                  VBLK_QUEUE_MAX);
        if (first == HUSK_OK) first = HUSK_EINVAL;
    } else if (r == HUSK_OK) {
        vblk_params.queue_size = (uint32_t)q;
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
    while (base[len] != '\0') len++;
    digits_at = len;
    while (digits_at > 0 && base[digits_at - 1] >= '0' && base[digits_at - 1] <= '9') digits_at--;
    if (digits_at == len || len - digits_at > 6) {
        glue_snprintf(out, outlen, "%s%u", base, unit);
        return;
    }
    unsigned n = 0;
    for (unsigned i = digits_at; i < len; i++) n = n * 10 + (unsigned)(base[i] - '0');
    char prefix[VBLK_NAME_MAX];
    for (unsigned i = 0; i < digits_at && i + 1 < sizeof prefix; i++) prefix[i] = base[i];
    prefix[digits_at < sizeof prefix ? digits_at : sizeof prefix - 1] = '\0';
    glue_snprintf(out, outlen, "%s%u", prefix, n + unit);
}
