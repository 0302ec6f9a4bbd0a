/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The "affinity" knob (affinity.h).
 *
 * Every write here is sched_setaffinity() on one thread, for the threads
 * libvirt has no API for: vhost-net workers (kernel threads before Linux
 * 6.4, qemu's own threads since), and every thread of a VM when the tuner
 * has no libvirt connection (the tuner alone, in tests).  Emulator threads,
 * I/O threads and vCPUs of a VM libvirt runs go through libvirt's API
 * (libvirt-pin.c), so that libvirt's view stays true.  Either way the
 * tuner only narrows inside what it found (which is inside what libvirt
 * pinned and inside the VM's cgroup cpuset: the kernel never lets an
 * affinity out of the cpuset), and puts back exactly what it found.
 */
/* sched_setaffinity() and the CPU_*_S macros are GNU extensions. */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "affinity.h"
#include "fp-error.h"

const char *fp_thread_role_to_string(FpThreadRole role)
{
    switch (role) {
    case FP_THREAD_VCPU:
        return "vcpu";
    case FP_THREAD_IOTHREAD:
        return "iothread";
    case FP_THREAD_VHOST:
        return "vhost";
    case FP_THREAD_EMULATOR:
    default:
        return "emulator";
    }
}

/**
 * fp_thread_role_from_comm:
 * @comm: a qemu thread's name (/proc/PID/task/TID/comm)
 *
 * qemu names its vCPU threads "CPU n/KVM" (or "/TCG", "/HVF"...) and its
 * I/O threads "IO ID"; the kernel names vhost-net workers "vhost-PID".
 * Everything else (the main loop, "call_rcu", "worker", "SPICE"...) is
 * what libvirt's emulatorpin covers.
 *
 * Returns: its role
 */
FpThreadRole fp_thread_role_from_comm(const char *comm)
{
    if (g_str_has_prefix(comm, "CPU ") && strchr(comm, '/'))
        return FP_THREAD_VCPU;
    if (g_str_has_prefix(comm, "IO "))
        return FP_THREAD_IOTHREAD;
    if (g_str_has_prefix(comm, "vhost-") && g_ascii_isdigit(comm[6]))
        return FP_THREAD_VHOST;
    return FP_THREAD_EMULATOR;
}

void fp_vm_thread_free(FpVmThread *thread)
{
    if (!thread)
        return;
    g_free(thread->comm);
    g_free(thread);
}

/**
 * fp_vm_thread_object:
 * @thread: a thread
 *
 * Returns: (transfer full): its name in the journal, "TID@START"
 */
char *fp_vm_thread_object(const FpVmThread *thread)
{
    return g_strdup_printf("%d@%" G_GUINT64_FORMAT, thread->tid, thread->start);
}

static gboolean parse_object(const char *object, int *tid, guint64 *start)
{
    g_auto(GStrv) parts = g_strsplit(object, "@", 3);
    guint64 t;

    if (g_strv_length(parts) != 2 ||
        !g_ascii_string_to_unsigned(parts[0], 10, 1, G_MAXINT, &t, NULL) ||
        !g_ascii_string_to_unsigned(parts[1], 10, 0, G_MAXUINT64, start, NULL))
        return FALSE;
    *tid = (int)t;
    return TRUE;
}

/* /proc/TID/stat's start time (field 22), counted after the last ')': the
 * name before it may hold anything.  -ENOENT when the thread is gone. */
static int read_start(int tid, guint64 *start)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/stat", tid);
    g_autofree char *data = NULL;
    g_auto(GStrv) fields = NULL;
    const char *p;

    if (!g_file_get_contents(path, &data, NULL, NULL))
        return -ENOENT;
    p = strrchr(data, ')');
    if (!p)
        return -EINVAL;
    fields = g_strsplit_set(p + 2, " ", -1);
    /* fields[0] is field 3 (state): field 22 is fields[19]. */
    if (g_strv_length(fields) < 20 ||
        !g_ascii_string_to_unsigned(fields[19], 10, 0, G_MAXUINT64, start, NULL))
        return -EINVAL;
    return 0;
}

static int get_affinity(int tid, FpCpuSet *set)
{
    cpu_set_t *cs = CPU_ALLOC(FP_CPUSET_MAX);
    size_t size = CPU_ALLOC_SIZE(FP_CPUSET_MAX);
    int r = 0;

    fp_cpuset_clear(set);
    CPU_ZERO_S(size, cs);
    if (sched_getaffinity(tid, size, cs) < 0)
        r = -errno;
    for (guint c = 0; r == 0 && c < FP_CPUSET_MAX; c++)
        if (CPU_ISSET_S(c, size, cs))
            fp_cpuset_add(set, c);
    CPU_FREE(cs);
    return r;
}

static int set_affinity(int tid, const FpCpuSet *set)
{
    cpu_set_t *cs = CPU_ALLOC(FP_CPUSET_MAX);
    size_t size = CPU_ALLOC_SIZE(FP_CPUSET_MAX);
    int r = 0;

    CPU_ZERO_S(size, cs);
    for (guint c = 0; c < FP_CPUSET_MAX; c++)
        if (fp_cpuset_has(set, c))
            CPU_SET_S(c, size, cs);
    if (sched_setaffinity(tid, size, cs) < 0)
        r = -errno;
    CPU_FREE(cs);
    return r;
}

static char *read_comm(int pid, int tid)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/task/%d/comm", pid, tid);
    char *data = NULL;

    if (!g_file_get_contents(path, &data, NULL, NULL))
        return NULL;
    return g_strchomp(data);
}

static FpVmThread *read_thread(int pid, int tid)
{
    g_autoptr(FpVmThread) t = g_new0(FpVmThread, 1);

    t->pid = pid;
    t->tid = tid;
    t->comm = read_comm(pid, tid);
    if (!t->comm || read_start(tid, &t->start) < 0 || get_affinity(tid, &t->allowed) < 0)
        return NULL; /* it ended while we looked */
    t->role = fp_thread_role_from_comm(t->comm);
    return g_steal_pointer(&t);
}

/**
 * fp_affinity_read_pid_file:
 * @dir: libvirt's run directory (/run/libvirt/qemu)
 * @vm_name: the domain's name
 * @error: return location for a #GError
 *
 * Returns: qemu's pid from DIR/NAME.pid, 0 with @error when there is none
 * (%FP_ERROR_NOT_FOUND) or it holds no pid (%FP_ERROR_INVALID)
 */
int fp_affinity_read_pid_file(const char *dir, const char *vm_name, GError **error)
{
    g_autofree char *base = g_strdup_printf("%s.pid", vm_name);
    g_autofree char *path = NULL;
    g_autofree char *data = NULL;
    guint64 pid;

    if (strchr(vm_name, '/') || !*vm_name) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "vm '%s': no pid file for such a name",
                    vm_name);
        return 0;
    }
    path = g_build_filename(dir, base, NULL);
    if (!g_file_get_contents(path, &data, NULL, NULL)) {
        g_set_error(error, FP_ERROR, FP_ERROR_NOT_FOUND, "vm '%s': no qemu pid file '%s'", vm_name,
                    path);
        return 0;
    }
    if (!g_ascii_string_to_unsigned(g_strstrip(data), 10, 1, G_MAXINT, &pid, NULL)) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "vm '%s': '%s' holds no pid", vm_name, path);
        return 0;
    }
    return (int)pid;
}

/**
 * fp_affinity_vhost_kthreads:
 *
 * The vhost-net workers that are kernel threads (Linux before 6.4): one
 * scan of /proc for processes named "vhost-PID".
 *
 * Returns: (transfer full): qemu pid → #GArray of their tids (int)
 */
GHashTable *fp_affinity_vhost_kthreads(void)
{
    GHashTable *found = g_hash_table_new_full(NULL, NULL, NULL, (GDestroyNotify)g_array_unref);
    g_autoptr(GDir) dir = g_dir_open("/proc", 0, NULL);
    const char *name;

    while (dir && (name = g_dir_read_name(dir))) {
        guint64 pid, owner;
        g_autofree char *comm = NULL;
        GArray *tids;

        if (!g_ascii_string_to_unsigned(name, 10, 1, G_MAXINT, &pid, NULL))
            continue;
        comm = read_comm((int)pid, (int)pid);
        if (!comm || fp_thread_role_from_comm(comm) != FP_THREAD_VHOST ||
            !g_ascii_string_to_unsigned(comm + 6, 10, 1, G_MAXINT, &owner, NULL) || owner == pid)
            continue;
        tids = g_hash_table_lookup(found, GINT_TO_POINTER((int)owner));
        if (!tids) {
            tids = g_array_new(FALSE, FALSE, sizeof(int));
            g_hash_table_insert(found, GINT_TO_POINTER((int)owner), tids);
        }
        g_array_append_vals(tids, &(int){(int)pid}, 1);
    }
    return found;
}

/**
 * fp_affinity_threads:
 * @pid: a qemu process
 * @vhost_kthreads: (nullable): fp_affinity_vhost_kthreads()'s answer
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (element-type FpVmThread) (nullable): its
 * threads and its vhost-net kernel threads, each with its role and its
 * affinity now; %NULL with %FP_ERROR_NOT_FOUND when the process is gone
 */
GPtrArray *fp_affinity_threads(int pid, GHashTable *vhost_kthreads, GError **error)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/task", pid);
    g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
    g_autoptr(GPtrArray) threads =
        g_ptr_array_new_with_free_func((GDestroyNotify)fp_vm_thread_free);
    GArray *kthreads =
        vhost_kthreads ? g_hash_table_lookup(vhost_kthreads, GINT_TO_POINTER(pid)) : NULL;
    const char *name;

    if (!dir) {
        g_set_error(error, FP_ERROR, FP_ERROR_NOT_FOUND, "process %d: gone", pid);
        return NULL;
    }
    while ((name = g_dir_read_name(dir))) {
        guint64 tid;
        FpVmThread *t;

        if (!g_ascii_string_to_unsigned(name, 10, 1, G_MAXINT, &tid, NULL))
            continue;
        t = read_thread(pid, (int)tid);
        if (t)
            g_ptr_array_add(threads, t);
    }
    for (guint i = 0; kthreads && i < kthreads->len; i++) {
        int k = g_array_index(kthreads, int, i);
        FpVmThread *t = read_thread(k, k);

        if (t)
            g_ptr_array_add(threads, t);
    }
    return g_steal_pointer(&threads);
}

/**
 * fp_affinity_read_online:
 * @online: (out): the CPUs online
 * @error: return location for a #GError
 *
 * Returns: %FALSE when /sys/devices/system/cpu/online cannot be read
 */
gboolean fp_affinity_read_online(FpCpuSet *online, GError **error)
{
    const char *path = "/sys/devices/system/cpu/online";
    g_autofree char *data = NULL;
    g_autoptr(GError) local = NULL;

    if (!g_file_get_contents(path, &data, NULL, &local)) {
        g_set_error(error, FP_ERROR, FP_ERROR_IO, "cannot read '%s': %s", path, local->message);
        return FALSE;
    }
    return fp_cpuset_parse_list(data, online, error);
}

/**
 * fp_affinity_set:
 * @object: a thread as the journal names it (fp_vm_thread_object())
 * @set: the CPUs it may run on
 * @gone: (out): the thread is gone, or its tid is another thread's now
 *     (nothing was written)
 * @error: return location for a #GError
 *
 * Returns: %FALSE when the affinity could not be set (%FP_ERROR_IO)
 */
gboolean fp_affinity_set(const char *object, const FpCpuSet *set, gboolean *gone, GError **error)
{
    int tid, r;
    guint64 start, now;

    *gone = FALSE;
    if (!parse_object(object, &tid, &start)) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "affinity: '%s' is not a thread (TID@START)",
                    object);
        return FALSE;
    }
    if (read_start(tid, &now) < 0 || now != start) {
        *gone = TRUE;
        return TRUE;
    }
    r = set_affinity(tid, set);
    if (r == -ESRCH) {
        *gone = TRUE;
        return TRUE;
    }
    if (r < 0) {
        g_autofree char *list = fp_cpuset_to_list(set);

        g_set_error(error, FP_ERROR, FP_ERROR_IO, "affinity: thread %d: cannot set CPUs '%s': %s",
                    tid, list, g_strerror(-r));
        return FALSE;
    }
    return TRUE;
}

static gboolean affinity_undo(gpointer knob G_GNUC_UNUSED, const FpJournalEntry *e, GError **error)
{
    FpCpuSet previous;
    gboolean gone;
    g_autoptr(GError) local = NULL;

    if (!fp_cpuset_parse_list(e->previous, &previous, &local) || fp_cpuset_is_empty(&previous)) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "affinity: thread '%s': %s", e->object,
                    local ? local->message : "an empty CPU list");
        return FALSE;
    }
    return fp_affinity_set(e->object, &previous, &gone, error);
}

const FpKnobClass fp_affinity_knob = {
    .name = "affinity",
    .undo = affinity_undo,
};
