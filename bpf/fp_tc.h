/* SPDX-License-Identifier: (LGPL-2.1-or-later OR BSD-2-Clause) */
/*
 * The one layout shared by the egress classifier (fp_tc.bpf.c) and user
 * space (tuning/tc.c, tuning/planner.c): footprintd's HTB handles and the
 * classifier's map.  See tuning/planner.h for the tree they make.
 */
#ifndef FP_TC_BPF_H
#define FP_TC_BPF_H

#include <linux/types.h>

/* Our root qdisc's handle, fd00:, tells our tree from anyone else's. */
#define FP_TC_MAJOR 0xfd00U
#define FP_TC_CLASSID(minor) ((FP_TC_MAJOR << 16) | (minor))
#define FP_TC_MINOR_TOP 0x1      /* rate = ceil = the device's rate */
#define FP_TC_MINOR_NORMAL 0x10  /* everything not demoted (HTB default) */
#define FP_TC_MINOR_DEMOTED 0x20 /* the demoted band, parent of the slots */
#define FP_TC_MINOR_SLOT 0x100   /* slot N's leaf is fd00:(0x100 + N), N >= 1 */
#define FP_TC_SLOTS_MAX 255

/* The classifier's filter: priority and handle on fd00:. */
#define FP_TC_FILTER_PRIO 1
#define FP_TC_FILTER_HANDLE 1

/* fp_tc_vms: ifindex a packet entered the host through → slot, for VMs
 * demoted as a whole. */
#define FP_TC_VMS_MAX 4096

#endif /* FP_TC_BPF_H */
