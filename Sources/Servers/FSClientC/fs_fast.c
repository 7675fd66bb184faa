/* fs_fast.c — see husk_fs_fast.h. Including the generated header after
 * ours makes any difference between the two sets of prototypes an error. */
#include "husk_fs_fast.h"
#include <errno.h>
#include "husk_rpc_fs.h"

int husk_fs_fast_connect(const char *path, bool ring, struct husk_rpc_conn **out, char *error, size_t error_len) {
    static const struct husk_rpc_requirement fs = HUSK_FS_REQUIREMENT;
    int r = husk_rpc_connect(path, &fs, 1, out, error, error_len);
    if (r != 0 || !ring) return r;
    /* ENOTSUP (a server without the rings) keeps the socket path. */
    r = husk_rpc_use_ring(*out);
    return r == ENOTSUP ? 0 : r;
}
