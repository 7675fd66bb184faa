/*
 * vnet_params.c — module parameters (`--param virtio_net.KEY=VALUE`, read
 * at init with the glue's glue_param_*, husk/glue/param.h):
 *
 *   name        name of the first interface (default "vnet0"); further
 *               devices count up from it: a name ending in digits is
 *               incremented (vnet0, vnet1, ...), any other name gets 1, 2,
 *               ... appended.
 *   poll        1: no interrupts, a kernel thread polls both queues.
 *   intx        1: use INTx even when MSI-X exists.
 *   queue_size  descriptors per queue: a power of two 4..256, capped at
 *               what the device offers (default: the device's maximum, at
 *               most 256).
 *   rx_buffer_size
 *               bytes of each receive buffer the device may fill, 64..2048
 *               (default 2048, a whole frame). Smaller values matter only
 *               with MRG_RXBUF: the device then spreads a frame over
 *               several buffers and the driver gathers them (the way to
 *               exercise that path; without MRG_RXBUF 2048 is used).
 *
 * Every problem is logged; any bad value fails init with EINVAL.
 */
#include "vnet_private.h"

HUSK_PRIVATE struct vnet_params vnet_params;

int32_t vnet_params_load(void) {
    int32_t first = HUSK_OK, r;
    bool present;

    memset(&vnet_params, 0, sizeof vnet_params);
    vnet_next_unit = 0;
    glue_snprintf(vnet_params.name, sizeof vnet_params.name, "vnet0");
    r = glue_param_string("name", vnet_params.name, sizeof vnet_params.name, &present);
    if (r != HUSK_OK && first == HUSK_OK) first = r;
    bool valid = r == HUSK_OK && (!present || disk_name_valid(vnet_params.name, VNET_NAME_BASE));
    if (r == HUSK_OK && !valid) {
        glue_logf(LOG_ERR, "parameter name='%s' must be 1..%u characters of [A-Za-z0-9_.-]", vnet_params.name,
                  VNET_NAME_BASE);
        if (first == HUSK_OK) first = HUSK_EINVAL;
    }
    if (!valid) glue_snprintf(vnet_params.name, sizeof vnet_params.name, "vnet0");

    r = glue_param_bool("poll", &vnet_params.poll);
    if (r != HUSK_OK && first == HUSK_OK) first = r;
    r = glue_param_bool("intx", &vnet_params.intx);
    if (r != HUSK_OK && first == HUSK_OK) first = r;

    uint64_t q = 0;
    r = glue_param_u64("queue_size", &q, 4, VNET_QUEUE_MAX);
    if (r != HUSK_OK && first == HUSK_OK) first = r;
    if (r == HUSK_OK && (q & (q - 1)) != 0) {
        glue_logf(LOG_ERR, "parameter queue_size=%llu must be a power of two from 4 to %u", (unsigned long long)q,
                  VNET_QUEUE_MAX);
        if (first == HUSK_OK) first = HUSK_EINVAL;
    } else if (r == HUSK_OK) {
        vnet_params.queue_size = (uint32_t)q;
    }
    uint64_t rx = VNET_BUF_SIZE;
    r = glue_param_u64("rx_buffer_size", &rx, VNET_RX_POST_MIN, VNET_BUF_SIZE);
    if (r != HUSK_OK && first == HUSK_OK) first = r;
    vnet_params.rx_buffer_size = (uint32_t)rx;
    if (first == HUSK_OK)
        glue_logf(LOG_INFO, "parameters: name=%s poll=%d intx=%d queue_size=%u%s rx_buffer_size=%u", vnet_params.name,
                  (int)vnet_params.poll, (int)vnet_params.intx, vnet_params.queue_size,
                  vnet_params.queue_size == 0 ? " (device maximum)" : "", vnet_params.rx_buffer_size);
    return first;
}

/* Name of the unit-th device's interface: unit 0 has the parameter's name;
 * later units increment its trailing number, or append one. */
void vnet_if_name(unsigned unit, char *out, unsigned outlen) {
    const char *base = vnet_params.name;
    if (unit == 0) {
        glue_snprintf(out, outlen, "%s", base);
        return;
    }
    unsigned len = 0, digits_at;
    while (base[len] != '\0') len++;
    digits_at = len;
    while (digits_at > 0 && base[digits_at - 1] >= '0' && base[digits_at - 1] <= '9') digits_at--;
    if (digits_at == len || len - digits_at > 4) {
        glue_snprintf(out, outlen, "%s%u", base, unit);
        return;
    }
    unsigned n = 0;
    for (unsigned i = digits_at; i < len; i++) n = n * 10 + (unsigned)(base[i] - '0');
    char prefix[VNET_NAME_MAX];
    for (unsigned i = 0; i < digits_at && i + 1 < sizeof prefix; i++) prefix[i] = base[i];
    prefix[digits_at < sizeof prefix ? digits_at : sizeof prefix - 1] = '\0';
    glue_snprintf(out, outlen, "%s%u", prefix, n + unit);
}
