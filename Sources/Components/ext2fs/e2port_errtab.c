/*
 * e2port_errtab.c — the library's error table (EXT2_ET_* codes and their
 * messages), compiled from the file compile_et generates from upstream's
 * ext2_err.et (generated/, scripts/e2fsprogs-gen.sh). The generated code
 * links its table into com_err's global list, _et_list, which lives in
 * lib/et's error_message.c upstream; that file is not vendored (threads,
 * host calls), so the list is the port's own, under the port's prefix, and
 * e2port_env.c looks messages up in the table directly.
 */
#define _et_list e2port_et_list
#include "generated/ext2_err.c"

struct et_list *e2port_et_list;
