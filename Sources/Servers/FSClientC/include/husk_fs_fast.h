/* husk_fs_fast.h — the fs client's fast path (Sources/Servers/FSClient):
 * the generated C stubs of Interfaces/fs.idl over the C client runtime,
 * whose calling thread consumes the reply ring itself (docs/fs.md). The
 * prototypes below are the generated ones (husk_rpc_fs.h, which is not a
 * public header of any module); fs_fast.c includes both, so the compiler
 * checks that they agree. */
#ifndef HUSK_FS_FAST_H
#define HUSK_FS_FAST_H

#include <husk/rpc_client.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Connect to the fs server at `path` (fs interface at the generated
 * version) and, if `ring`, carry the calls over the call rings. Returns 0
 * or a status; `error` gets a message. */
int husk_fs_fast_connect(const char *path, bool ring, struct husk_rpc_conn **out, char *error, size_t error_len);

int husk_fs_lookup(struct husk_rpc_conn *conn, uint64_t dir, const char *name, uint64_t *out_attr,
                   uint32_t out_attr_cap, uint32_t *out_attr_count);
int husk_fs_getattr(struct husk_rpc_conn *conn, uint64_t ino, uint64_t *out_attr, uint32_t out_attr_cap,
                    uint32_t *out_attr_count);
int husk_fs_unlink(struct husk_rpc_conn *conn, uint64_t dir, const char *name);
int husk_fs_open_handle(struct husk_rpc_conn *conn, uint64_t ino, uint32_t access, uint64_t *out_handle);
int husk_fs_create_handle(struct husk_rpc_conn *conn, uint64_t dir, const char *name, uint32_t mode, bool exclusive,
                          uint64_t *out_attr, uint32_t out_attr_cap, uint32_t *out_attr_count, uint64_t *out_handle);
int husk_fs_handle_read(struct husk_rpc_conn *conn, uint64_t handle, uint64_t offset, struct husk_rpc_shm_ref buffer,
                        uint64_t *out_count);
int husk_fs_handle_write(struct husk_rpc_conn *conn, uint64_t handle, uint64_t offset, struct husk_rpc_shm_ref buffer,
                         uint64_t *out_count);
int husk_fs_handle_read_inline(struct husk_rpc_conn *conn, uint64_t handle, uint64_t offset, uint32_t max,
                               uint8_t *out_data, uint32_t out_data_cap, uint32_t *out_data_len);
int husk_fs_handle_write_inline(struct husk_rpc_conn *conn, uint64_t handle, uint64_t offset, const uint8_t *data,
                                uint32_t data_len, uint32_t *out_count);
int husk_fs_handle_fsync(struct husk_rpc_conn *conn, uint64_t handle);
int husk_fs_close_handle(struct husk_rpc_conn *conn, uint64_t handle);
int husk_fs_close_handles(struct husk_rpc_conn *conn, const uint64_t *handles, uint32_t handles_count);

#endif
