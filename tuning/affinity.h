/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * affinity: the "affinity" knob, the CPUs a VM's packet-processing threads
 * may run on.  It finds a VM's threads from its qemu pid (libvirt's pid
 * file, /run/libvirt/qemu/NAME.pid): the emulator (qemu's main thread and
 * its helpers), the vCPUs ("CPU n/KVM", "CPU n/TCG"), the I/O threads
 * ("IO name") and the vhost-net workers: since Linux 6.4 threads of qemu
 * named "vhost-PID", before that kernel threads of that name (found by
 * scanning /proc).  It reads and sets each thread's CPU affinity
 * (sched_getaffinity/sched_setaffinity) and puts a journaled one back.
 *
 * A thread is named in the journal by its tid and its start time
 * (/proc/TID/stat), so that a tid the kernel gave to another thread after
 * a crash is never touched.
 */
#pragma once

#include <glib.h>

#include "cpuset.h"
#include "journal.h"

G_BEGIN_DECLS

typedef enum {
    FP_THREAD_EMULATOR, /* qemu's main thread and every helper libvirt's emulatorpin covers */
    FP_THREAD_VCPU,
    FP_THREAD_IOTHREAD,
    FP_THREAD_VHOST,
} FpThreadRole;

const char *fp_thread_role_to_string(FpThreadRole role);
FpThreadRole fp_thread_role_from_comm(const char *comm);

/**
 * FpVmThread:
 * @pid: the process it belongs to (qemu's, or the vhost kernel thread's own)
 * @tid: the thread
 * @start: its start time (clock ticks after boot, /proc/TID/stat field 22)
 * @comm: its name
 * @role: what it does for the VM
 * @allowed: the CPUs it may run on now
 */
typedef struct {
    int pid;
    int tid;
    guint64 start;
    char *comm;
    FpThreadRole role;
    FpCpuSet allowed;
} FpVmThread;

void fp_vm_thread_free(FpVmThread *thread);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpVmThread, fp_vm_thread_free)
char *fp_vm_thread_object(const FpVmThread *thread);

int fp_affinity_read_pid_file(const char *dir, const char *vm_name, GError **error);
GPtrArray *fp_affinity_threads(int pid, GHashTable *vhost_kthreads, GError **error);
GHashTable *fp_affinity_vhost_kthreads(void);
gboolean fp_affinity_read_online(FpCpuSet *online, GError **error);
gboolean fp_affinity_set(const char *object, const FpCpuSet *set, gboolean *gone, GError **error);

extern const FpKnobClass fp_affinity_knob;

G_END_DECLS
