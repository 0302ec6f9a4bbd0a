/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * instance-lock: one footprintd per runtime directory.  Taken before
 * anything touches the host (sysctls, hooks, files), held until the agent
 * has put everything back, released by the kernel when the process dies.
 */
#pragma once

#include <glib.h>
#include <sys/types.h>

G_BEGIN_DECLS

/* The lock file under [agent] runtime_dir; it holds the owner's pid. */
#define FP_INSTANCE_LOCK_FILE "footprintd.lock"

typedef struct _FpInstanceLock FpInstanceLock;

FpInstanceLock *fp_instance_lock_acquire(const char *runtime_dir, pid_t *holder, GError **error);
void fp_instance_lock_release(FpInstanceLock *lock);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpInstanceLock, fp_instance_lock_release)

G_END_DECLS
