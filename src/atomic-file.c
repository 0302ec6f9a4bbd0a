/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Atomic replacement of a file, and the clean-up of what a killed writer
 * left.  The temporary file of DIR/BASE is DIR/.BASE.tmp-XXXXXX: hidden,
 * and not ending like BASE (node_exporter's textfile collector reads only
 * "*.prom"), in the same directory so that rename() replaces BASE in one
 * step.  A writer killed between creating it and renaming it (SIGKILL, the
 * watchdog, a power loss) leaves it behind; fp_atomic_file_remove_stale()
 * removes exactly those names, at start, before anything is written.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "atomic-file.h"
#include "fp-error.h"

#define TEMP_INFIX ".tmp-"
#define TEMP_RANDOM 6 /* the XXXXXX of g_mkstemp_full() */

static gboolean write_all(int fd, const char *data, gsize len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO;
            return FALSE;
        }
        data += n;
        len -= (gsize)n;
    }
    return TRUE;
}

static void fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0)
        return;
    /* The rename is done; a directory that cannot be flushed (some network
     * file systems) still holds the new file. */
    if (fsync(fd) < 0)
        g_debug("cannot flush directory '%s': %s", dir, g_strerror(errno));
    close(fd);
}

/**
 * fp_atomic_file_write:
 * @path: the file to replace
 * @what: what the file is, for messages ("metrics file")
 * @data: its new contents
 * @len: their length
 * @mode: the file's mode, whatever the umask
 * @flags: #FpAtomicFileFlags
 * @error: return location for an #FP_ERROR_IO naming @what and @path
 *
 * Replaces @path with @data: a temporary file in the same directory,
 * written whole, then renamed over @path.
 *
 * Returns: %TRUE on success; on failure (a full disk, a read-only
 * directory) @path is untouched and no temporary file is left.
 */
gboolean fp_atomic_file_write(const char *path, const char *what, const char *data, gsize len,
                              mode_t mode, FpAtomicFileFlags flags, GError **error)
{
    g_autofree char *dir = g_path_get_dirname(path);
    g_autofree char *base = g_path_get_basename(path);
    g_autofree char *tmp = g_strdup_printf("%s/.%s" TEMP_INFIX "XXXXXX", dir, base);
    const char *failed = NULL;
    int fd, saved = 0;

    fd = g_mkstemp_full(tmp, O_RDWR | O_CLOEXEC, (gint)(mode & 07777));
    if (fd < 0) {
        saved = errno;
        g_set_error(error, FP_ERROR, FP_ERROR_IO, "%s '%s': cannot create a temporary file: %s",
                    what, path, g_strerror(saved));
        return FALSE;
    }
    if (fchmod(fd, mode) < 0)
        failed = "cannot set its mode";
    else if (!write_all(fd, data, len))
        failed = "cannot write";
    else if ((flags & FP_ATOMIC_FILE_DURABLE) && fsync(fd) < 0)
        failed = "cannot flush";
    if (failed)
        saved = errno;
    if (close(fd) < 0 && !failed) {
        saved = errno;
        failed = "cannot write";
    }
    if (!failed && rename(tmp, path) < 0) {
        saved = errno;
        failed = "cannot rename the temporary file over it";
    }
    if (failed) {
        g_unlink(tmp);
        g_set_error(error, FP_ERROR, FP_ERROR_IO, "%s '%s': %s: %s", what, path, failed,
                    g_strerror(saved));
        return FALSE;
    }
    if (flags & FP_ATOMIC_FILE_DURABLE)
        fsync_dir(dir);
    return TRUE;
}

/**
 * fp_file_write_status_note:
 * @status: the file's write status
 * @what: what the file is, for the log ("footprint state")
 * @path: the file
 * @error: (nullable): why this write failed; %NULL: it succeeded
 * @now_us: g_get_real_time() now
 *
 * Records one write of @path.  The log hears of a change only: the first
 * failure, a different one (a full disk that became read-only), and the
 * first success after failures.  A failed write left the previous file
 * whole (fp_atomic_file_write()), and the line says so.
 */
void fp_file_write_status_note(FpFileWriteStatus *status, const char *what, const char *path,
                               const GError *error, gint64 now_us)
{
    if (error == NULL) {
        if (status->error != NULL)
            g_message("%s '%s': written again, after %" G_GUINT64_FORMAT " failed writes", what,
                      path, status->failures);
        g_clear_pointer(&status->error, g_free);
        status->last_ok_us = now_us;
        return;
    }
    status->failures++;
    if (g_strcmp0(status->error, error->message) == 0)
        return;
    g_message("%s; the last complete file stays, and the write is retried (said again only "
              "when this changes)",
              error->message);
    g_free(status->error);
    status->error = g_strdup(error->message);
}

void fp_file_write_status_clear(FpFileWriteStatus *status)
{
    g_clear_pointer(&status->error, g_free);
}

/**
 * fp_atomic_file_is_temp_of:
 * @name: a directory entry's name
 * @base: the base name of a file fp_atomic_file_write() replaces
 *
 * Returns: whether @name is one of @base's temporary files
 */
gboolean fp_atomic_file_is_temp_of(const char *name, const char *base)
{
    gsize nlen = strlen(name), blen = strlen(base);
    const char *random;

    if (nlen != 1 + blen + strlen(TEMP_INFIX) + TEMP_RANDOM || name[0] != '.' ||
        strncmp(name + 1, base, blen) != 0 ||
        strncmp(name + 1 + blen, TEMP_INFIX, strlen(TEMP_INFIX)) != 0)
        return FALSE;
    random = name + 1 + blen + strlen(TEMP_INFIX);
    for (guint i = 0; i < TEMP_RANDOM; i++)
        if (!g_ascii_isalnum(random[i]))
            return FALSE;
    return TRUE;
}

/**
 * fp_atomic_file_remove_stale:
 * @path: a file fp_atomic_file_write() replaces
 *
 * Removes the temporary files of @path that a writer killed mid-write left
 * in its directory (regular files only; nothing else is touched).  Call it
 * while no writer of @path runs: at start, under the instance lock.
 *
 * Returns: how many were removed
 */
guint fp_atomic_file_remove_stale(const char *path)
{
    g_autofree char *dir = g_path_get_dirname(path);
    g_autofree char *base = g_path_get_basename(path);
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *name;
    guint n = 0;

    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *p = NULL;
        GStatBuf st;

        if (!fp_atomic_file_is_temp_of(name, base))
            continue;
        p = g_build_filename(dir, name, NULL);
        if (g_lstat(p, &st) < 0 || !S_ISREG(st.st_mode))
            continue;
        if (g_unlink(p) == 0) {
            g_message("removed '%s', left by a writer that was killed", p);
            n++;
        } else {
            g_message("cannot remove '%s', left by a writer that was killed: %s", p,
                      g_strerror(errno));
        }
    }
    return n;
}
