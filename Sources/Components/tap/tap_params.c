#include "tap_private.h"

int tap_params_load(struct tap_softc *sc) {
    bool present = false;
    int error = glue_param_string("name", sc->tap_name, sizeof sc->tap_name, &present);
    if (error == 0 && !present) glue_snprintf(sc->tap_name, sizeof sc->tap_name, "husk0");
    int e2 = glue_param_string("ifname", sc->if_name, sizeof sc->if_name, &present);
    if (e2 == 0 && !present) glue_snprintf(sc->if_name, sizeof sc->if_name, "%s", sc->tap_name);
    int e3 = glue_param_bool("create", &sc->create);
    if (error == 0 && !disk_name_valid(sc->tap_name, NETIF_NAME_MAX)) {
        glue_logf(LOG_ERR, "parameter name='%s' is not an interface name (1..15 of [A-Za-z0-9_.-])", sc->tap_name);
        error = HUSK_EINVAL;
    }
    if (e2 == 0 && !disk_name_valid(sc->if_name, NETIF_NAME_MAX)) {
        glue_logf(LOG_ERR, "parameter ifname='%s' is not an interface name (1..15 of [A-Za-z0-9_.-])", sc->if_name);
        e2 = HUSK_EINVAL;
    }
    return error != 0 ? error : e2 != 0 ? e2 : e3;
}
