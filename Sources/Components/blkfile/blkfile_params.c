/*
 * blkfile_params.c — the component's parameters (`husk run --param
 * blkfile.KEY=VALUE`, or set by the block server from its options):
 *
 *   path        host file or block device to serve (required)
 *   name        disk name consumers open, default "disk0"
 *   ro          1: serve read-only (the file is opened read-only); default 0
 *   direct      1: bypass the host page cache (O_DIRECT); default 0
 *   block_size  512, 1024, 2048 or 4096; default: the host's sector size
 *
 * Read with the glue's glue_param_* (husk/glue/param.h), which log what they
 * check (too long, not 0/1, not a number, out of range); the rules of this
 * component (names, the block sizes) are logged here. Every problem is
 * logged, not only the first, so one attempt shows them all.
 */
#include "blkfile_private.h"

int32_t blkfile_read_params(struct blkfile_softc *sc) {
    int32_t status = HUSK_OK;
    bool present;

    int32_t r = glue_param_string("path", sc->path, sizeof sc->path, &present);
    if (r != HUSK_OK) {
        status = r;
    } else if (!present || sc->path[0] == '\0') {
        glue_logf(LOG_ERR, "parameter path is required: the image file or block device to serve "
                           "(--param blkfile.path=FILE)");
        status = HUSK_EINVAL;
    }

    memcpy(sc->name, BLKFILE_DEFAULT_NAME, sizeof BLKFILE_DEFAULT_NAME);
    r = glue_param_string("name", sc->name, sizeof sc->name, &present);
    if (r != HUSK_OK) {
        status = r;
    } else if (present && !disk_name_valid(sc->name, DISK_NAME_MAX)) {
        glue_logf(LOG_ERR, "parameter name '%s' is not a disk name: 1 to 31 of A-Z a-z 0-9 _ . -", sc->name);
        status = HUSK_EINVAL;
    }

    if ((r = glue_param_bool("ro", &sc->read_only)) != HUSK_OK) status = r;
    if ((r = glue_param_bool("direct", &sc->direct)) != HUSK_OK) status = r;

    /* The glue checks the number and the range; the sizes in between are
     * this component's rule. (4K and the like are accepted as sizes.) */
    uint64_t bs = 0;
    r = glue_param_u64("block_size", &bs, 512, 4096);
    if (r != HUSK_OK) {
        status = r;
    } else if (bs != 0) {
        if (bs != 512 && bs != 1024 && bs != 2048 && bs != 4096) {
            glue_logf(LOG_ERR, "parameter block_size must be 512, 1024, 2048 or 4096, not %llu",
                      (unsigned long long)bs);
            status = HUSK_EINVAL;
        } else {
            sc->block_size = (uint32_t)bs;
        }
    }
    return status;
}
