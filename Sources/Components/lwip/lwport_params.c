/*
 * lwport_params.c — the component's parameters (--param lwip.KEY=VALUE):
 * ifname, address (IPv4 CIDR), gateway, address6, lwiperf, echo. Every
 * problem is logged and init fails once with all of them named.
 */
#include "lwport_private.h"
#include "lwip/ip4_addr.h"
#include "lwip/ip6_addr.h"

/* "A.B.C.D/N" into address and netmask. */
static bool lwport_parse_cidr4(const char *text, ip4_addr_t *addr, ip4_addr_t *mask) {
    char buf[32];
    const char *slash = glue_strchr(text, '/');
    size_t n = slash != NULL ? (size_t)(slash - text) : glue_strlen(text);
    if (slash == NULL || n == 0 || n >= sizeof buf) return false;
    memcpy(buf, text, n);
    buf[n] = '\0';
    if (!ip4addr_aton(buf, addr)) return false;
    char *end = NULL;
    *glue_errno() = 0;
    unsigned long bits = glue_strtoul(slash + 1, &end, 10);
    if (end == slash + 1 || *end != '\0' || bits > 32 || *glue_errno() != 0) return false;
    ip4_addr_set_u32(mask, bits == 0 ? 0 : lwip_htonl(0xffffffffu << (32 - bits)));
    return true;
}

/* "X:...:Y" or "X:...:Y/64": lwIP 2.1 treats every address as a /64. */
static bool lwport_parse_addr6(const char *text, ip6_addr_t *addr) {
    char buf[64];
    const char *slash = glue_strchr(text, '/');
    size_t n = slash != NULL ? (size_t)(slash - text) : glue_strlen(text);
    if (n == 0 || n >= sizeof buf) return false;
    if (slash != NULL && glue_strcmp(slash, "/64") != 0) return false;
    memcpy(buf, text, n);
    buf[n] = '\0';
    return ip6addr_aton(buf, addr) && !ip6_addr_islinklocal(addr) && !ip6_addr_isany(addr);
}

int lwport_params_load(struct lwport_params *p) {
    int status = 0;
    bool present = false;
    char text[64];
    int e = glue_param_string("ifname", p->ifname, sizeof p->ifname, &present);
    if (e == 0 && !present) glue_snprintf(p->ifname, sizeof p->ifname, "husk0");
    if (e == 0 && !disk_name_valid(p->ifname, NETIF_NAME_MAX)) {
        glue_logf(LOG_ERR, "parameter ifname='%s' is not an interface name (1..15 of [A-Za-z0-9_.-])", p->ifname);
        e = HUSK_EINVAL;
    }
    if (e != 0) status = e;

    e = glue_param_string("address", text, sizeof text, &p->has_ip4);
    if (e == 0 && p->has_ip4 && !lwport_parse_cidr4(text, &p->ip4, &p->netmask4)) {
        glue_logf(LOG_ERR, "parameter address='%s' is not an IPv4 address with a prefix length (10.77.0.2/24)", text);
        e = HUSK_EINVAL;
    }
    if (e != 0) status = e;

    e = glue_param_string("gateway", text, sizeof text, &present);
    if (e == 0 && present) {
        if (!ip4addr_aton(text, &p->gateway4)) {
            glue_logf(LOG_ERR, "parameter gateway='%s' is not an IPv4 address", text);
            e = HUSK_EINVAL;
        } else if (!p->has_ip4) {
            glue_logf(LOG_ERR, "parameter gateway needs an IPv4 address (parameter address)");
            e = HUSK_EINVAL;
        }
    }
    if (e != 0) status = e;

    e = glue_param_string("address6", text, sizeof text, &p->has_ip6);
    if (e == 0 && p->has_ip6 && !lwport_parse_addr6(text, &p->ip6)) {
        glue_logf(LOG_ERR,
                  "parameter address6='%s' is not a global or unique-local IPv6 address, optionally /64 (fd77::2)",
                  text);
        e = HUSK_EINVAL;
    }
    if (e != 0) status = e;

    if ((e = glue_param_bool("lwiperf", &p->lwiperf)) != 0) status = e;
    if ((e = glue_param_u64("echo", &p->echo_port, 0, 65535)) != 0) status = e;
    return status;
}
