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

/* One write, done in a worker thread. */
typedef struct {
    FpAtomicWriter *writer;
    GThread *thread;
    gint done; /* atomic */
    char *data;
    gsize len;
    gint64 real_us; /* the caller's time of the contents, for the write status */
    GError *error;
} WriterJob;

struct _FpAtomicWriter {
    char *path;
    char *what;
    char *thread_name;
    mode_t mode;
    FpAtomicFileFlags flags;
    WriterJob *job;     /* (nullable): the write under way */
    WriterJob *pending; /* (nullable): the next, started when it ends */
};

static void writer_job_free(WriterJob *job)
{
    if (job == NULL)
        return;
    if (job->thread != NULL)
        g_thread_join(job->thread);
    g_free(job->data);
    g_clear_error(&job->error);
    g_free(job);
}

static gpointer writer_thread(gpointer data)
{
    WriterJob *job = data;
    const FpAtomicWriter *w = job->writer;

    /* w's path, what, mode and flags never change. */
    fp_atomic_file_write(w->path, w->what, job->data, job->len, w->mode, w->flags, &job->error);
    g_atomic_int_set(&job->done, 1);
    return NULL;
}

static void writer_start(FpAtomicWriter *w, WriterJob *job)
{
    w->job = job;
    job->writer = w;
    job->thread = g_thread_try_new(w->thread_name, writer_thread, job, NULL);
    if (job->thread == NULL)
        writer_thread(job); /* no thread to spare: here, then */
}

/**
 * fp_atomic_writer_new:
 * @path: the file to replace
 * @what: what it is, for errors ("footprint state")
 * @mode: its mode
 * @flags: how it is written (fp_atomic_file_write())
 * @thread_name: the worker thread's name (15 characters at most show)
 *
 * A writer of @path in a worker thread, one write at a time: an fsync can
 * sleep for seconds on a busy disk, and the main loop must not.  The
 * latest contents wait for the write under way; older waiting ones are
 * dropped (each write replaces the whole file).
 *
 * Returns: (transfer full): a writer with nothing under way
 */
FpAtomicWriter *fp_atomic_writer_new(const char *path, const char *what, mode_t mode,
                                     FpAtomicFileFlags flags, const char *thread_name)
{
    FpAtomicWriter *w = g_new0(FpAtomicWriter, 1);

    w->path = g_strdup(path);
    w->what = g_strdup(what);
    w->thread_name = g_strdup(thread_name);
    w->mode = mode;
    w->flags = flags;
    return w;
}

/**
 * fp_atomic_writer_free:
 * @writer: (nullable): a writer
 *
 * Waits for the write under way (its fsync); a waiting one is dropped.
 */
void fp_atomic_writer_free(FpAtomicWriter *w)
{
    if (w == NULL)
        return;
    fp_atomic_writer_drain(w);
    writer_job_free(w->job);
    g_free(w->path);
    g_free(w->what);
    g_free(w->thread_name);
    g_free(w);
}

/**
 * fp_atomic_writer_submit:
 * @writer: a writer
 * @data: (transfer full): the file's new contents
 * @len: their length
 * @real_us: when they were made (g_get_real_time()), given back by
 *     fp_atomic_writer_reap() for the write status
 *
 * Starts writing @data, or keeps it for when the write under way ends
 * (replacing contents kept before).  Returns at once.
 */
void fp_atomic_writer_submit(FpAtomicWriter *w, char *data, gsize len, gint64 real_us)
{
    WriterJob *job = g_new0(WriterJob, 1);

    job->data = data;
    job->len = len;
    job->real_us = real_us;
    if (w->job != NULL) {
        writer_job_free(w->pending);
        w->pending = job;
    } else {
        writer_start(w, job);
    }
}

/**
 * fp_atomic_writer_reap:
 * @writer: a writer
 * @error: return location for the failure of the write that ended
 * @real_us: (out) (optional): the time given with its contents
 *
 * The write that ended since the last call, if any: its failure in
 * @error; the waiting contents, if any, start being written.  Never
 * blocks.
 *
 * Returns: %TRUE when a write ended (failed when @error is set)
 */
gboolean fp_atomic_writer_reap(FpAtomicWriter *w, GError **error, gint64 *real_us)
{
    WriterJob *job = w->job;

    if (job == NULL || !g_atomic_int_get(&job->done))
        return FALSE;
    w->job = NULL;
    if (real_us != NULL)
        *real_us = job->real_us;
    if (job->error != NULL)
        g_propagate_error(error, g_steal_pointer(&job->error));
    writer_job_free(job);
    if (w->pending != NULL)
        writer_start(w, g_steal_pointer(&w->pending));
    return TRUE;
}

/**
 * fp_atomic_writer_drain:
 * @writer: a writer
 *
 * Drops the waiting contents and waits for the write under way to end
 * (fp_atomic_writer_reap() then says how it went): before the caller
 * writes the file itself, e.g. at a clean stop.
 */
void fp_atomic_writer_drain(FpAtomicWriter *w)
{
    g_clear_pointer(&w->pending, writer_job_free);
    if (w->job != NULL && w->job->thread != NULL)
        g_thread_join(g_steal_pointer(&w->job->thread));
}
