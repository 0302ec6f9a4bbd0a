/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * atomic-file: every file footprintd replaces (the state file, the
 * Prometheus text file, the saved sysctl values) is written the same way:
 * a temporary file next to it, then rename().  Readers see the old file or
 * the new one, never a half-written one, also on a full disk.  Temporary
 * files have one name pattern, so the ones a SIGKILL left mid-write are
 * found and removed at the next start.
 */
#pragma once

#include <glib.h>
#include <sys/types.h>

G_BEGIN_DECLS

/**
 * FpAtomicFileFlags:
 * @FP_ATOMIC_FILE_NONE: rename without flushing: a crash of the host may
 *     lose the new contents (never mix them with the old)
 * @FP_ATOMIC_FILE_DURABLE: fsync the data before the rename and the
 *     directory after it: once this returns, the new contents survive a
 *     power loss
 */
typedef enum {
    FP_ATOMIC_FILE_NONE = 0,
    FP_ATOMIC_FILE_DURABLE = 1 << 0,
} FpAtomicFileFlags;

/**
 * FpFileWriteStatus:
 * @error: (nullable): why the last write failed (one line, naming the
 *     file); %NULL while writes succeed
 * @last_ok_us: g_get_real_time() of the last good write, 0: none yet
 * @failures: failed writes so far
 *
 * How the writes of one file fare, for the health (footprintctl status,
 * the metrics) and for a log that says each change once: a full disk or a
 * read-only directory fails every write until it is fixed, and one line
 * per attempt would say nothing new.
 */
typedef struct {
    char *error;
    gint64 last_ok_us;
    guint64 failures;
} FpFileWriteStatus;

void fp_file_write_status_note(FpFileWriteStatus *status, const char *what, const char *path,
                               const GError *error, gint64 now_us);
void fp_file_write_status_clear(FpFileWriteStatus *status);

gboolean fp_atomic_file_write(const char *path, const char *what, const char *data, gsize len,
                              mode_t mode, FpAtomicFileFlags flags, GError **error);
gboolean fp_atomic_file_is_temp_of(const char *name, const char *base);
guint fp_atomic_file_remove_stale(const char *path);

typedef struct _FpAtomicWriter FpAtomicWriter;

FpAtomicWriter *fp_atomic_writer_new(const char *path, const char *what, mode_t mode,
                                     FpAtomicFileFlags flags, const char *thread_name);
void fp_atomic_writer_free(FpAtomicWriter *writer);
void fp_atomic_writer_submit(FpAtomicWriter *writer, char *data, gsize len, gint64 real_us);
gboolean fp_atomic_writer_reap(FpAtomicWriter *writer, GError **error, gint64 *real_us);
void fp_atomic_writer_drain(FpAtomicWriter *writer);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpAtomicWriter, fp_atomic_writer_free)

G_END_DECLS
