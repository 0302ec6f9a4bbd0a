/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One footprintd per runtime directory.  A second copy started by hand
 * while the service runs used to restore and delete the service's saved
 * nf_conntrack_acct, attach its own hooks, write files, and on exit set
 * nf_conntrack_acct=0 under the running agent.  Now it stops at this lock,
 * before it touches anything.
 *
 * The lock is a POSIX record lock (fcntl F_SETLK) on RUNTIME_DIR/
 * footprintd.lock: the kernel drops it when the holder dies, so a crash
 * leaves no stale lock, and F_GETLK tells a second copy who holds it (the
 * pid written into the file is for humans).  POSIX locks are released when
 * the process closes any descriptor of the file: nothing else in footprintd
 * opens it.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "fp-error.h"
#include "instance-lock.h"

struct _FpInstanceLock {
    int fd;
    char *path;
};

/* The pid the kernel says holds a conflicting lock on @fd, 0 if unknown. */
static pid_t lock_holder(int fd)
{
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    char text[32] = "";
    ssize_t n;
    gint64 pid = 0;

    if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK && fl.l_pid > 0)
        return fl.l_pid;
    /* Another pid namespace: the kernel reports 0; the file may know. */
    n = pread(fd, text, sizeof(text) - 1, 0);
    if (n > 0 && g_ascii_string_to_signed(g_strstrip(text), 10, 1, G_MAXINT32, &pid, NULL))
        return (pid_t)pid;
    return 0;
}

/**
 * fp_instance_lock_acquire:
 * @runtime_dir: [agent] runtime_dir; created (0755) when missing
 * @holder: (out) (optional): the pid of the footprintd that holds the lock
 *     when it is taken, 0 when unknown or not taken
 * @error: return location for a #GError: #FP_ERROR_BUSY when another
 *     footprintd holds the lock, #FP_ERROR_IO when the file cannot be used
 *
 * Takes the single-instance lock without waiting and writes our pid into
 * the file.
 *
 * Returns: (transfer full) (nullable): the lock, to release last
 */
FpInstanceLock *fp_instance_lock_acquire(const char *runtime_dir, pid_t *holder, GError **error)
{
    g_autofree char *path = g_build_filename(runtime_dir, FP_INSTANCE_LOCK_FILE, NULL);
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    g_autofree char *pid = NULL;
    FpInstanceLock *lock;
    int fd, saved;

    if (holder)
        *holder = 0;
    if (g_mkdir_with_parents(runtime_dir, 0755) < 0) {
        saved = errno;
        g_set_error(error, FP_ERROR, FP_ERROR_IO, "runtime dir '%s': cannot create it: %s",
                    runtime_dir, g_strerror(saved));
        return NULL;
    }
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0644);
    if (fd < 0) {
        saved = errno;
        g_set_error(error, FP_ERROR, FP_ERROR_IO, "lock file '%s': cannot open it: %s", path,
                    g_strerror(saved));
        return NULL;
    }
    if (fcntl(fd, F_SETLK, &fl) < 0) {
        saved = errno;
        if (saved == EAGAIN || saved == EACCES) {
            pid_t other = lock_holder(fd);

            if (holder)
                *holder = other;
            if (other > 0)
                g_set_error(error, FP_ERROR, FP_ERROR_BUSY,
                            "another footprintd (pid %d) holds '%s'", (int)other, path);
            else
                g_set_error(error, FP_ERROR, FP_ERROR_BUSY,
                            "another footprintd holds '%s' (its pid is not visible here)", path);
        } else {
            g_set_error(error, FP_ERROR, FP_ERROR_IO, "lock file '%s': cannot lock it: %s", path,
                        g_strerror(saved));
        }
        close(fd);
        return NULL;
    }
    /* Ours now: say who we are (for `cat`, and for a copy in another pid
     * namespace, where F_GETLK reports no pid). */
    pid = g_strdup_printf("%d\n", (int)getpid());
    if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, strlen(pid), 0) != (ssize_t)strlen(pid))
        g_message("lock file '%s': cannot write our pid: %s", path, g_strerror(errno));
    lock = g_new0(FpInstanceLock, 1);
    lock->fd = fd;
    lock->path = g_steal_pointer(&path);
    return lock;
}

/**
 * fp_instance_lock_release:
 * @lock: (nullable): the lock
 *
 * Releases the lock.  The file stays: removing it would let a copy that
 * opened it meanwhile lock a file nobody else sees.
 */
void fp_instance_lock_release(FpInstanceLock *lock)
{
    if (!lock)
        return;
    if (ftruncate(lock->fd, 0) < 0)
        g_debug("lock file '%s': %s", lock->path, g_strerror(errno));
    close(lock->fd);
    g_free(lock->path);
    g_free(lock);
}
