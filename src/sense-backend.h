/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sense-backend: what a sensing backend is to sense.c.  A backend is one
 * file (sense-bpf-netfilter.c, sense-ctnetlink.c) that defines one
 * FpSenseBackend; sense.c lists them in the order `[sense] backend = auto`
 * tries them and does everything they have in common: conntrack sweeps
 * (dumps, or queries flow by flow), destroy events, nf_conntrack_acct, the
 * conntrack activity warning, sweep timing, the choice of a backend and the
 * reasons for it.  A backend adds what it sees beyond conntrack: devices,
 * new flows, elephants from the kernel.
 *
 * Adding one: a file with its table, an FpBackend value with its name
 * (fp-config.c), its line in sense.c's list.
 */
#pragma once

#include <glib.h>

#include "flow-table.h"
#include "fp-config.h"
#include "health.h"
#include "sense.h"

G_BEGIN_DECLS

/**
 * FpSenseBackend:
 * @id: its value of `[sense] backend` (fp_backend_to_string() names it)
 * @state_size: the size of its private state, which sense.c allocates
 *     zeroed before @start and frees after @stop; the ops get it as @state
 * @probe: can this kernel run it?  Tries it and keeps nothing; appends to
 *     @report what `footprintd --probe` shows of it, one "what: value" line
 *     each, the answer ("yes", or "no: why") among them
 * @start: starts it (loads and attaches what it needs); @sense is what
 *     it reports to (see below).  FALSE with the reason when this kernel
 *     cannot run it, having undone what it did.  (nullable: nothing to start)
 * @stop: detaches and frees what @start set up.  (nullable)
 * @describe: (transfer full): how it runs, once started, for
 *     `footprintctl status`: "BPF netfilter programs at ..., priority 300"
 * @event_fd: (nullable): a file descriptor that is readable when it has
 *     events to read, -1 when it has none; sense.c watches it
 *     (G_PRIORITY_HIGH: elephant events before sweeps and D-Bus) and then
 *     calls @read_events
 * @read_events: (nullable): reads pending events, without blocking; also
 *     called at the start of each sweep
 * @may_query: (nullable): TRUE when it has logged every flow born since the
 *     last dump, so that the sweep may ask conntrack about the flows it
 *     knows instead of dumping conntrack's table.  NULL: every sweep dumps
 * @add_new_flows: before a sweep that queries (required with @may_query):
 *     puts the flows born since the last sweep in the table, so that they
 *     are queried with the others
 * @merge: (nullable): after conntrack's counters are in the table: adds
 *     what it learnt (devices, start times, elephants) and forgets what it
 *     keeps of flows that ended; @queried: whether the sweep queried
 *     (else it dumped), @sweep_us: when the sweep started
 * @forget: (nullable): conntrack destroyed the flow @key (sense.c has taken
 *     it out of the table)
 * @untracked_packets: (nullable): packets its hooks saw without a conntrack
 *     entry, so far; NULL: it cannot tell
 * @fill_stats: (nullable): sets its own counters in @stats
 *
 * One kind of sensing.  The ops take the @state @start was given.
 */
typedef struct {
    FpBackend id;
    gsize state_size;
    gboolean (*probe)(const FpConfig *config, GString *report);
    gboolean (*start)(gpointer state, FpSense *sense, const FpConfig *config, GError **error);
    void (*stop)(gpointer state);
    char *(*describe)(gpointer state);
    int (*event_fd)(gpointer state);
    void (*read_events)(gpointer state);
    gboolean (*may_query)(gpointer state);
    void (*add_new_flows)(gpointer state);
    void (*merge)(gpointer state, gboolean queried, gint64 sweep_us);
    void (*forget)(gpointer state, const FpFlowKey *key);
    guint64 (*untracked_packets)(gpointer state);
    void (*fill_stats)(gpointer state, FpSenseStats *stats);
} FpSenseBackend;

extern const FpSenseBackend fp_sense_backend_bpf_netfilter;
extern const FpSenseBackend fp_sense_backend_bpf_fentry;
extern const FpSenseBackend fp_sense_backend_ctnetlink;

/* What a started backend reports to (sense.c). */
FpFlowTable *fp_sense_get_table(FpSense *sense);
void fp_sense_elephant_from_kernel(FpSense *sense, FpFlow *flow, gint64 when_us);
void fp_sense_note_event_latency(FpSense *sense, gint64 latency_ns);

G_END_DECLS
