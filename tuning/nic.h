/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nic: a host NIC as planner-nic.h plans it, read from the host: its RX
 * queues (/sys/class/net/DEV/queues/rx-N), its queue IRQs (nic-irq.h) and
 * its RSS table (nic-rss.h).
 */
#pragma once

#include <glib.h>

#include "nic-irq.h"
#include "planner-nic.h"

G_BEGIN_DECLS

FpNicWork *fp_nic_work_read(const char *sysfs_net, const char *proc, const char *device,
                            const FpIrqbalance *ib, gboolean irqs, gboolean rss);

G_END_DECLS
