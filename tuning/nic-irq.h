/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nic-irq: the "irq" knob, the CPU affinity of a host NIC's queue IRQs
 * (/proc/irq/N/smp_affinity_list), and the detection of a running
 * irqbalance, which owns the IRQs it manages.
 *
 * A NIC's IRQs are its MSI IRQs (/sys/class/net/DEV/device/msi_irqs, or
 * its parent's for a virtio device); the queue each serves is read from
 * the name the driver gave it, as /proc/interrupts shows it:
 *  - "virtio2-input.3", "virtio2-output.3" (virtio-net): queue 3;
 *  - "...TxRx-3", "...rx-3", "...tx-3" (ixgbe "eth0-TxRx-3", i40e/ice
 *    "i40e-eth0-TxRx-3", igb, bnxt, and most others): queue 3;
 *  - "mlx5_comp3@pci:0000:..." (mlx5): queue 3.
 * Any other IRQ of the device (a config or mailbox vector, a name not
 * recognised) is never touched.
 *
 * The journal names an IRQ "N:NAME"; an undo first checks that IRQ N still
 * carries NAME (/proc/irq/N/NAME), so that an IRQ number the kernel gave
 * to another device after a crash or a reboot is never touched.
 */
#pragma once

#include <glib.h>

#include "cpuset.h"
#include "journal.h"

G_BEGIN_DECLS

/**
 * FpIrqbalance:
 * @pid: the running irqbalance
 * @banned_irqs: (element-type guint): IRQs it is told to leave
 *     (--banirq=N, -i N)
 * @banned_cpus: CPUs it is told to leave (IRQBALANCE_BANNED_CPUS,
 *     IRQBALANCE_BANNED_CPULIST in its environment)
 * @policyscript: it runs a --policyscript, which may ban any IRQ: every
 *     IRQ is taken as managed (what the script answers is not known)
 *
 * What footprintd knows of a running irqbalance.  Not detected: IRQs
 * banned by its policy script, bans set at run time over its socket
 * (irqbalance-ui), an irqbalance in another pid namespace, and IRQs it
 * skips on its own (kernel-managed affinity): all taken as managed.
 */
typedef struct {
    int pid;
    GArray *banned_irqs;
    FpCpuSet banned_cpus;
    gboolean policyscript;
} FpIrqbalance;

void fp_irqbalance_free(FpIrqbalance *ib);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpIrqbalance, fp_irqbalance_free)
FpIrqbalance *fp_irqbalance_detect(const char *proc, const char *pid_file);

/* Least time between two walks of /proc while no irqbalance runs. */
#define FP_IRQBALANCE_WALK_INTERVAL_S 30

typedef struct _FpIrqbalanceWatch FpIrqbalanceWatch;

FpIrqbalanceWatch *fp_irqbalance_watch_new(const char *proc, const char *pid_file);
void fp_irqbalance_watch_free(FpIrqbalanceWatch *watch);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpIrqbalanceWatch, fp_irqbalance_watch_free)
const FpIrqbalance *fp_irqbalance_watch_get(FpIrqbalanceWatch *watch, gint64 now_us);
gboolean fp_irqbalance_manages(const FpIrqbalance *ib, guint irq, const FpCpuSet *affinity);

/**
 * FpNicIrq:
 * @irq: its number
 * @name: its name in /proc/interrupts
 * @queue: the queue it serves (fp_nic_irq_queue())
 * @affinity: the CPUs it may be delivered to now
 * @text: smp_affinity_list as the kernel printed it
 * @managed_by: the pid of the irqbalance that manages it, 0: none
 */
typedef struct {
    guint irq;
    char *name;
    int queue;
    FpCpuSet affinity;
    char *text;
    int managed_by;
} FpNicIrq;

void fp_nic_irq_free(FpNicIrq *irq);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpNicIrq, fp_nic_irq_free)
char *fp_nic_irq_object(const FpNicIrq *irq);
int fp_nic_irq_queue(const char *name);
GPtrArray *fp_nic_irqs_read(const char *sysfs_net, const char *proc, const char *device,
                            const FpIrqbalance *ib, GError **error);
gboolean fp_nic_irq_write(const char *proc, const char *object, const char *list, gboolean *gone,
                          GError **error);

/* The knob's instance is the proc directory it works in (a const char *,
 * /proc outside tests). */
extern const FpKnobClass fp_nic_irq_knob;

G_END_DECLS
