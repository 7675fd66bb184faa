/*
 * e2port_params.c — the component's parameters (`husk run --param
 * ext2fs.KEY=VALUE`, or set by the file-system server from its options):
 *
 *   disk  the glue disk holding the file system, default "disk0"
 *   name  the name it is registered under in the glue's file-system
 *         registry (husk/glue/vfs.h), default "fs0"
 *   ro    1: mount read-only (nothing is written, not even the superblock's
 *         mount count); default 0
 *
 * Every problem is logged, not only the first.
 */
#include "e2port_private.h"

int32_t e2port_read_params(struct e2port_softc *sc) {
    int32_t status = HUSK_OK;
    bool present;
    memcpy(sc->disk, E2PORT_DEFAULT_DISK, sizeof E2PORT_DEFAULT_DISK);
    int32_t r = glue_param_string("disk", sc->disk, sizeof sc->disk, &present);
    if (r != HUSK_OK) {
        status = r;
    } else if (present && !disk_name_valid(sc->disk, DISK_NAME_MAX)) {
        glue_logf(LOG_ERR, "parameter disk '%s' is not a disk name: 1 to 31 of A-Z a-z 0-9 _ . -", sc->disk);
        status = HUSK_EINVAL;
    }
    memcpy(sc->fsname, E2PORT_DEFAULT_NAME, sizeof E2PORT_DEFAULT_NAME);
    r = glue_param_string("name", sc->fsname, sizeof sc->fsname, &present);
    if (r != HUSK_OK) {
        status = r;
    } else if (present && !disk_name_valid(sc->fsname, VFS_FS_NAME_MAX)) {
        glue_logf(LOG_ERR, "parameter name '%s' is not a file-system name: 1 to 31 of A-Z a-z 0-9 _ . -", sc->fsname);
        status = HUSK_EINVAL;
    }
    if ((r = glue_param_bool("ro", &sc->read_only)) != HUSK_OK) status = r;
    return status;
}
