/*
 * lwip.c — the component: lwIP 2.1.3 (ThirdPartyC/lwip, unmodified) as a
 * TCP/IP stack on an interface of the glue's NIC registry. init allocates
 * lwIP's heap, starts the tcpip thread (tcpip_init), binds the interface
 * and starts the services asked for; fini takes all of it down again.
 */
#include "lwport_private.h"
#include "lwip/apps/lwiperf.h"
#include "lwip/init.h"
#include "lwip/tcpip.h"

static struct {
    bool used; /* lwIP's globals survive a stop: one stack per process */
    struct lwport_if *ifp;
    struct lwport_params params;
} lwport;

/* [tcpip thread] tcpip_init's callback: lwIP is initialised. */
static void lwport_started(void *arg) { sys_sem_signal((sys_sem_t *)arg); }

/* [tcpip thread] The last message it runs: lwIP has no way to end its
 * thread, so the thread ends itself, after giving up the core lock that it
 * holds while it handles a message. */
static void lwport_tcpip_exit(void *arg) {
    UNLOCK_TCPIP_CORE();
    kthread_exit();
}

static void lwport_lwiperf_report(void *arg, enum lwiperf_report_type type, const ip_addr_t *local_addr,
                                  u16_t local_port, const ip_addr_t *remote_addr, u16_t remote_port,
                                  u32_t bytes_transferred, u32_t ms_duration, u32_t bandwidth_kbitpsec) {
    char remote[IPADDR_STRLEN_MAX];
    ipaddr_ntoa_r(remote_addr, remote, sizeof remote);
    glue_logf(LOG_INFO, "lwiperf: %s from %s port %u: %u bytes in %u ms, %u kbit/s",
              type == LWIPERF_TCP_DONE_SERVER ? "test done" : "test aborted", remote, remote_port, bytes_transferred,
              ms_duration, bandwidth_kbitpsec);
}

static void lwport_stop_stack(void) {
    (void)tcpip_callback(lwport_tcpip_exit, NULL);
    lwport_sys_stop(); /* joins the tcpip thread, then frees what lwIP left */
}

static int32_t lwport_init(husk_ctx *ctx, const struct husk_hyp *hyp) {
    if (lwport.used) {
        glue_logf(LOG_ERR, "lwIP runs once per process: its global state is not reset by a second start");
        return HUSK_EBUSY;
    }
    int error = lwport_params_load(&lwport.params);
    if (error != 0) return error;
    if ((error = lwport_sys_start(ctx, hyp)) != 0) return error;
    lwport.used = true;

    sys_sem_t started;
    if (sys_sem_new(&started, 0) != ERR_OK) {
        lwport_sys_stop();
        return HUSK_EAGAIN;
    }
    tcpip_init(lwport_started, &started);
    (void)sys_arch_sem_wait(&started, 0);
    sys_sem_free(&started);
    glue_logf(LOG_INFO, "lwIP %s started", LWIP_VERSION_STRING);

    lwport.ifp = kmem_zalloc(sizeof *lwport.ifp, KM_SLEEP);
    if ((error = lwport_if_attach(lwport.ifp, &lwport.params)) != 0) {
        kmem_free(lwport.ifp, sizeof *lwport.ifp);
        lwport.ifp = NULL;
        lwport_stop_stack();
        return error;
    }
    LOCK_TCPIP_CORE();
    if (lwport.params.lwiperf && lwiperf_start_tcp_server_default(lwport_lwiperf_report, NULL) == NULL) {
        glue_logf(LOG_ERR, "lwiperf: cannot listen on TCP port %d", LWIPERF_TCP_PORT_DEFAULT);
        error = HUSK_EBUSY;
    }
    if (error == 0 && lwport.params.echo_port != 0) error = lwport_echo_start((uint16_t)lwport.params.echo_port);
    UNLOCK_TCPIP_CORE();
    if (error != 0) {
        lwport_if_detach(lwport.ifp);
        kmem_free(lwport.ifp, sizeof *lwport.ifp);
        lwport.ifp = NULL;
        lwport_stop_stack();
        return error;
    }
    /* Sockets last: a consumer may use them as soon as they are offered. */
    if ((error = lwport_sockets_start()) != 0) {
        lwport_if_detach(lwport.ifp);
        kmem_free(lwport.ifp, sizeof *lwport.ifp);
        lwport.ifp = NULL;
        lwport_stop_stack();
        return error;
    }
    if (lwport.params.lwiperf) glue_logf(LOG_INFO, "lwiperf: iperf 2 server on TCP port %d", LWIPERF_TCP_PORT_DEFAULT);
    if (lwport.params.echo_port != 0)
        glue_logf(LOG_INFO, "echo: TCP echo service on port %llu", (unsigned long long)lwport.params.echo_port);
    return 0;
}

static void lwport_fini(husk_ctx *ctx) {
    if (lwport.ifp == NULL) return;
    lwport_sockets_stop(); /* closes the sockets consumers still hold, while the stack runs */
    lwport_if_detach(lwport.ifp);
    lwport_stop_stack();
    kmem_free(lwport.ifp, sizeof *lwport.ifp);
    lwport.ifp = NULL;
}

HUSK_COMPONENT(lwip) = {
    .abi_major = HUSK_ABI_MAJOR,
    .abi_minor = 0,
    .name = "lwip",
    .description = "lwIP 2.1.3 TCP/IP stack on a NIC of the glue's registry, offering socket provider 'lwip' "
                   "(parameters ifname, address, gateway, address6, lwiperf, echo)",
    .kind = HUSK_KIND_NETWORK,
    .init = lwport_init,
    .fini = lwport_fini,
};
