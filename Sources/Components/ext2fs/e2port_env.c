/*
 * e2port_env.c — what libext2fs expects from its environment that is
 * neither the C subset nor a vendored file:
 *
 * - com_err() and error_message() (lib/et's com_err.h): diagnostics go to
 *   the component log; messages come from the generated error table for
 *   EXT2_ET_* codes and from glue_strerror for errno values;
 * - ext2fs_zero_blocks2() (ext2fs.h), which upstream keeps in mkjournal.c
 *   with the journal creation code that opens devices: not vendored, so
 *   the port writes zero blocks itself.
 */
#include "e2port_private.h"
#include "ext2fs/ext2_err.h"

const char *e2port_strerror(errcode_t code) { return error_message(code); }

const char *error_message(long code) {
    long base = et_ext2_error_table.base;
    if (code >= base && code < base + et_ext2_error_table.n_msgs) return et_ext2_error_table.msgs[code - base];
    if (code > 0 && code < 4096) return glue_strerror((int)code);
    return "unknown error code";
}

void com_err(const char *whoami, long code, const char *fmt, ...) {
    char text[256] = "";
    if (fmt != NULL) {
        va_list ap;
        va_start(ap, fmt);
        glue_vsnprintf(text, sizeof text, fmt, ap);
        va_end(ap);
    }
    glue_logf(LOG_WARN, "libext2fs: %s%s%s%s%s", whoami != NULL ? whoami : "", whoami != NULL ? ": " : "",
              code != 0 ? error_message(code) : "", code != 0 && text[0] != '\0' ? " " : "", text);
}

/* Write zeros to num blocks from blk; on failure *ret_blk and *ret_count say
 * where. fs == NULL asks upstream's version to free its cached buffer:
 * there is none here. */
errcode_t ext2fs_zero_blocks2(ext2_filsys fs, blk64_t blk, int num, blk64_t *ret_blk, int *ret_count) {
    if (fs == NULL) return 0;
    if (num <= 0) return 0;
    enum { MAX_STRIDE = 64 }; /* blocks written per call */
    int stride = num < MAX_STRIDE ? num : MAX_STRIDE;
    void *zeros = NULL;
    errcode_t err = ext2fs_get_memzero((unsigned long)stride * fs->blocksize, &zeros);
    if (err) return err;
    for (int done = 0; done < num;) {
        int n = num - done < stride ? num - done : stride;
        err = io_channel_write_blk64(fs->io, blk + (blk64_t)done, n, zeros);
        if (err) {
            if (ret_blk != NULL) *ret_blk = blk + (blk64_t)done;
            if (ret_count != NULL) *ret_count = n;
            break;
        }
        done += n;
    }
    ext2fs_free_mem(&zeros);
    return err;
}
