/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the BPF backends share in user space (see sense-bpf.h): the
 * settings their programs get, and the readers of the maps those programs
 * share: elephant events from the ring buffer, the new-flow log, the flow
 * map merged into the flow table at each sweep, the per-CPU counters.
 * Conntrack's counters come from sense.c's sweeps; this adds devices,
 * start times and elephants found in the kernel.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "fp-error.h"
#include "sense-bpf.h"
#include "fp-cleanup.h"

/* After an elephant event, user space polls the ring buffer every
 * POLL_INTERVAL_MS for POLL_WINDOW_MS, and the kernel program does not wake
 * it meanwhile: an event burst costs one wake-up, not one each. */
#define POLL_INTERVAL_MS 2
#define POLL_WINDOW_MS 500

/* Samples per checkpoint, as a shift: a flow is sampled about once per
 * 2^(cp_shift - SAMPLES_PER_CP_SHIFT) of its bytes. */
#define SAMPLES_PER_CP_SHIFT 1

#define MERGE_BATCH 256

/* libbpf talks through us: its warnings matter, its debug output does not. */
G_GNUC_PRINTF(2, 0)
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
    g_autofree char *msg = g_strdup_vprintf(fmt, args);

    g_strchomp(msg);
    if (level == LIBBPF_WARN)
        g_message("libbpf: %s", msg);
    else
        g_debug("libbpf: %s", msg);
    return 0;
}

static gint64 monotonic_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (gint64)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/**
 * fp_sense_decode_event:
 * @data: a ring-buffer record
 * @size: its size
 * @event: (out): the decoded event
 * @error: return location for a #GError
 *
 * Validates a record from the kernel before anything trusts it.
 */
gboolean fp_sense_decode_event(const void *data, gsize size, struct fp_event *event, GError **error)
{
    if (size < sizeof(*event)) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "ring buffer record of %zu bytes, want %zu",
                    size, sizeof(*event));
        return FALSE;
    }
    memcpy(event, data, sizeof(*event));
    if (event->type != FP_EVENT_ELEPHANT) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "ring buffer record of unknown type %u",
                    event->type);
        return FALSE;
    }
    if (event->key.family != 2 && event->key.family != 10) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "ring buffer record with family %u",
                    event->key.family);
        return FALSE;
    }
    return TRUE;
}

/* The kernel records the devices of one direction (see fp_flow_insert):
 * the other direction's are the same swapped. */
static void complete_devices(guint32 flags, __u32 in[2], __u32 out[2])
{
    if ((flags & FP_FLOW_F_DEVS_ORIG) && !(flags & FP_FLOW_F_DEVS_REPLY)) {
        in[FP_DIR_REPLY] = out[FP_DIR_ORIGINAL];
        out[FP_DIR_REPLY] = in[FP_DIR_ORIGINAL];
    } else if ((flags & FP_FLOW_F_DEVS_REPLY) && !(flags & FP_FLOW_F_DEVS_ORIG)) {
        in[FP_DIR_ORIGINAL] = out[FP_DIR_REPLY];
        out[FP_DIR_ORIGINAL] = in[FP_DIR_REPLY];
    }
}

static int on_ringbuf_record(void *ctx, void *data, size_t size)
{
    FpSenseBpf *self = ctx;
    FpFlowTable *table = fp_sense_get_table(self->sense);
    struct fp_event e;
    g_autoptr(GError) error = NULL;
    gint64 now_ns = monotonic_ns();
    FpFlow *flow;

    if (!fp_sense_decode_event(data, size, &e, &error)) {
        g_warning("%s", error->message);
        return 0;
    }
    fp_sense_note_event_latency(self->sense, now_ns - (gint64)e.ts_ns);
    /* A flow younger than the last sweep gets its counters at the next. */
    flow = fp_flow_table_ensure(table, &e.key, now_ns / 1000, NULL);
    if (!flow->updated_us) {
        for (int d = 0; d < 2; d++) {
            flow->bytes[d] = e.bytes[d];
            flow->packets[d] = e.packets[d];
        }
    }
    complete_devices(e.flags, e.in_ifindex, e.out_ifindex);
    fp_flow_table_set_devices(flow, e.in_ifindex, e.out_ifindex);
    fp_sense_elephant_from_kernel(self->sense, flow, (gint64)e.ts_ns / 1000);
    return 0;
}

void fp_sense_bpf_read_events(gpointer state);

static gboolean on_poll(gpointer user_data)
{
    FpSenseBpf *self = user_data;

    fp_sense_bpf_read_events(self);
    /* One more period after the window closed: an event submitted without
     * a wake-up just before it closed is read here. */
    if (g_get_monotonic_time() > self->poll_until_us + POLL_INTERVAL_MS * 1000) {
        self->poll_source = NULL;
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

/* Reads the ring buffer; after an event, keeps polling it for a while and
 * tells the kernel program so (it then submits without waking us). */
void fp_sense_bpf_read_events(gpointer state)
{
    FpSenseBpf *self = state;
    int n = ring_buffer__consume(self->ringbuf);

    if (n < 0) {
        g_warning("ring buffer: %s", g_strerror(-n));
        return;
    }
    if (n == 0)
        return;
    self->poll_until_us = g_get_monotonic_time() + POLL_WINDOW_MS * 1000;
    *self->poll_until_ns = (guint64)self->poll_until_us * 1000;
    if (!self->poll_source) {
        self->poll_source = g_timeout_source_new(POLL_INTERVAL_MS);
        g_source_set_callback(self->poll_source, on_poll, self, NULL);
        g_source_set_name(self->poll_source, "BPF ring buffer poll");
        g_source_set_priority(self->poll_source, G_PRIORITY_HIGH);
        g_source_attach(self->poll_source, NULL);
        g_source_unref(self->poll_source);
    }
}

/* Checkpoint every 2^shift bytes with 2^shift >= threshold / 8, so that
 * `needed` (5..8) checkpoints make the threshold and fit the kernel's ring
 * (the slot `needed` back is read before the current one is written). */
static void checkpoint_params(guint64 threshold, guint32 *shift, guint32 *needed)
{
    guint32 s = 12;

    while ((G_GUINT64_CONSTANT(1) << s) * 8 < threshold)
        s++;
    *shift = s;
    *needed = (guint32)((threshold + (G_GUINT64_CONSTANT(1) << s) - 1) >> s);
    g_assert(*needed <= FP_CP_SLOTS);
}

static guint32 round_up_pow2(guint32 v)
{
    guint32 p = 4096;

    while (p < v)
        p <<= 1;
    return p;
}

/* A setting the hook reads as an immediate: the marker its instruction
 * loads, and the value to put there instead. */
typedef struct {
    guint64 marker; /* FP_IMM_* */
    guint64 value;
} ImmSetting;

/*
 * Writes the settings the hook reads as immediates (FP_IMM_*) into its
 * instructions, the one 64-bit load of each marker, in @prog (opened, not
 * loaded).  Only immediates change, so the instruction count and every
 * relocation stay as they are.  FALSE when the program does not hold each
 * marker exactly once (a build mismatch).
 */
static gboolean patch_imm64(struct bpf_program *prog, const ImmSetting *settings, guint n_settings,
                            GError **error)
{
    size_t n = bpf_program__insn_cnt(prog);
    g_autofree struct bpf_insn *insns = g_memdup2(bpf_program__insns(prog), n * sizeof(*insns));

    for (guint k = 0; k < n_settings; k++) {
        guint64 marker = settings[k].marker, value = settings[k].value;
        guint found = 0;

        for (size_t i = 0; i + 1 < n; i++) {
            struct bpf_insn *lo = &insns[i], *hi = &insns[i + 1];

            if (lo->code != (BPF_LD | BPF_DW) /* | BPF_IMM, which is 0 */ || lo->src_reg != 0 ||
                (guint32)lo->imm != (guint32)marker || (guint32)hi->imm != (guint32)(marker >> 32))
                continue;
            lo->imm = (__s32)(guint32)value;
            hi->imm = (__s32)(guint32)(value >> 32);
            found++;
            i++;
        }
        if (found != 1) {
            g_set_error(error, FP_ERROR, FP_ERROR_NOT_SUPPORTED,
                        "BPF program %s holds setting %#" G_GINT64_MODIFIER "x %u times, not once",
                        bpf_program__name(prog), marker, found);
            return FALSE;
        }
    }
    if (bpf_program__set_insns(prog, insns, n) != 0) {
        g_set_error(error, FP_ERROR, FP_ERROR_NOT_SUPPORTED, "cannot set BPF program %s's settings",
                    bpf_program__name(prog));
        return FALSE;
    }
    return TRUE;
}

/* Records per CPU in the new-flow log: the flow table's worth of new flows
 * between two sweeps spread over the CPUs, 1024 to 2^20 per CPU (64 bytes
 * each: 4 MiB on 2 CPUs, 16 MiB on 256 with the default table). */
static guint newlog_shift(guint flow_table_size, guint n_cpus)
{
    guint s = 10;

    while (s < 20 && ((guint64)n_cpus << s) < flow_table_size)
        s++;
    return s;
}

/* Maps the new-flow log (read-only) and sets up its reader. */
static gboolean newlog_start(FpSenseBpf *self, guint shift, GError **error)
{
    struct bpf_map *map = self->newlog_bpf_map;
    gsize page = (gsize)sysconf(_SC_PAGESIZE);

    self->newlog_map_size =
        ((gsize)bpf_map__max_entries(map) * sizeof(struct fp_new_flow) + page - 1) / page * page;
    self->newlog_map =
        mmap(NULL, self->newlog_map_size, PROT_READ, MAP_SHARED, bpf_map__fd(map), 0);
    if (self->newlog_map == MAP_FAILED) {
        self->newlog_map = NULL;
        g_set_error(error, FP_ERROR, FP_ERROR_IO, "cannot map the new-flow log: %s",
                    g_strerror(errno));
        return FALSE;
    }
    self->newlog = fp_newlog_new(self->newlog_map, self->n_cpus, shift);
    self->newlog_pending = g_array_new(FALSE, FALSE, sizeof(struct fp_new_flow));
    return TRUE;
}

/*
 * CO-RE relocates the program's reads of conntrack against the kernel's
 * BTF: vmlinux's when conntrack is built in, the nf_conntrack module's
 * when it is a module (distribution kernels).  Checked here for a clear
 * error; libbpf would only leave an instruction the verifier refuses.
 */
static gboolean conntrack_btf(struct btf *vmlinux, GError **error)
{
    g_autoptr(FpBtf) module = NULL;

    if (btf__find_by_name_kind(vmlinux, "nf_conn", BTF_KIND_STRUCT) >= 0)
        return TRUE;
    module = btf__load_module_btf("nf_conntrack", vmlinux);
    if (module && btf__find_by_name_kind(module, "nf_conn", BTF_KIND_STRUCT) >= 0)
        return TRUE;
    g_set_error(error, FP_ERROR, FP_ERROR_NOT_SUPPORTED,
                "no BTF for conntrack's types: not in vmlinux, and %s",
                module ? "not in the nf_conntrack module's"
                       : "no BTF for the nf_conntrack module (not loaded, or a kernel built "
                         "without CONFIG_DEBUG_INFO_BTF_MODULES)");
    return FALSE;
}

/* libbpf talks through us (see libbpf_print). */
void fp_sense_bpf_init_libbpf(void)
{
    libbpf_set_print(libbpf_print);
}

/**
 * fp_sense_bpf_begin:
 * @self: the backend's shared state, zeroed
 * @sense: (nullable): what it reports to; NULL while probing
 * @config: the configuration
 * @error: return location for a #GError
 *
 * What every BPF backend checks and sets first: the possible CPUs, the
 * kernel's BTF and conntrack's types in it.  FALSE with the reason when
 * this kernel has no BTF for them.
 */
gboolean fp_sense_bpf_begin(FpSenseBpf *self, FpSense *sense, const FpConfig *config,
                            GError **error)
{
    g_autoptr(FpBtf) vmlinux = NULL;
    int n_cpus;

    G_STATIC_ASSERT(sizeof(struct fp_flow_key) == 40);
    G_STATIC_ASSERT(sizeof(struct fp_flow) == 136);
    G_STATIC_ASSERT(sizeof(struct fp_event) == 112);
    G_STATIC_ASSERT(sizeof(struct fp_new_flow) == 64);
    G_STATIC_ASSERT(sizeof(struct fp_cpu) % 64 == 0);
    self->sense = sense;
    self->idle_timeout_s = config->idle_timeout_s;
    fp_sense_bpf_init_libbpf();
    n_cpus = libbpf_num_possible_cpus();
    if (n_cpus <= 0) {
        g_set_error(error, FP_ERROR, FP_ERROR_IO, "cannot count the possible CPUs: %s",
                    g_strerror(-n_cpus));
        return FALSE;
    }
    self->n_cpus = (guint)n_cpus;
    vmlinux = btf__load_vmlinux_btf();
    if (!vmlinux) {
        g_set_error(error, FP_ERROR, FP_ERROR_NOT_SUPPORTED,
                    "no kernel BTF (/sys/kernel/btf/vmlinux): %s", g_strerror(errno));
        return FALSE;
    }
    return conntrack_btf(vmlinux, error);
}

/* The settings the kernel program gets from @config on @n_cpus CPUs. */
void fp_sense_bpf_params(const FpConfig *config, guint n_cpus, FpSenseBpfParams *params)
{
    checkpoint_params(config->elephant_bytes, &params->cp_shift, &params->cp_needed);
    params->window_ns = (guint64)config->elephant_window_s * 1000000000ULL;
    params->newlog_shift = newlog_shift(config->flow_table_size, n_cpus);
    params->sample_drop = 64 - (params->cp_shift - SAMPLES_PER_CP_SHIFT);
}

/* Sizes the shared maps of an opened skeleton from @config. */
void fp_sense_bpf_size_maps(const FpConfig *config, guint n_cpus, const FpSenseBpfParams *params,
                            struct bpf_map *cpu_map, struct bpf_map *flows_map,
                            struct bpf_map *events_map, struct bpf_map *newlog_map)
{
    bpf_map__set_max_entries(cpu_map, n_cpus);
    bpf_map__set_max_entries(flows_map, config->flow_table_size);
    bpf_map__set_max_entries(events_map, round_up_pow2(config->ringbuf_size));
    bpf_map__set_max_entries(newlog_map, n_cpus << params->newlog_shift);
}

/* Writes @params' immediates (FP_IMM_*) into the hook program @prog, opened
 * and not loaded (see patch_imm64). */
gboolean fp_sense_bpf_patch_prog(struct bpf_program *prog, const FpSenseBpfParams *params,
                                 GError **error)
{
    const ImmSetting settings[] = {
        {FP_IMM_SAMPLE_DROP, params->sample_drop},
        {FP_IMM_NEWLOG_SHIFT, params->newlog_shift},
    };

    return patch_imm64(prog, settings, G_N_ELEMENTS(settings), error);
}

/* Once the programs are loaded and attached, and the map and bss pointers
 * of @self set: reads the ring buffer and the new-flow log.  FALSE with the
 * reason, having undone what it did. */
gboolean fp_sense_bpf_start_readers(FpSenseBpf *self, const FpSenseBpfParams *params,
                                    GError **error)
{
    self->ringbuf = ring_buffer__new(bpf_map__fd(self->events_map), on_ringbuf_record, self, NULL);
    if (!self->ringbuf) {
        g_set_error(error, FP_ERROR, FP_ERROR_IO, "cannot set up the BPF ring buffer: %s",
                    g_strerror(errno));
        return FALSE;
    }
    if (!newlog_start(self, params->newlog_shift, error)) {
        fp_sense_bpf_stop_readers(self);
        return FALSE;
    }
    return TRUE;
}

void fp_sense_bpf_stop_readers(FpSenseBpf *self)
{
    g_clear_pointer(&self->poll_source, g_source_destroy);
    g_clear_pointer(&self->newlog, fp_newlog_free);
    g_clear_pointer(&self->newlog_pending, g_array_unref);
    if (self->newlog_map) {
        munmap(self->newlog_map, self->newlog_map_size);
        self->newlog_map = NULL;
    }
    g_clear_pointer(&self->ringbuf, ring_buffer__free);
}

int fp_sense_bpf_event_fd(gpointer state)
{
    FpSenseBpf *self = state;

    return ring_buffer__epoll_fd(self->ringbuf);
}

static void merge_one(FpSenseBpf *self, const struct fp_flow_key *key, struct fp_flow *kf,
                      gint64 dump_us, GArray *stale)
{
    FpFlow *flow = fp_flow_table_lookup(fp_sense_get_table(self->sense), key);

    if (!flow) {
        /* Born after the dump, or gone from conntrack. */
        if ((gint64)kf->first_seen_ns / 1000 < dump_us)
            g_array_append_val(stale, *key);
        return;
    }
    complete_devices(kf->flags, kf->in_ifindex, kf->out_ifindex);
    fp_flow_table_set_devices(flow, kf->in_ifindex, kf->out_ifindex);
    if (kf->first_seen_ns && (gint64)kf->first_seen_ns / 1000 < flow->first_seen_us)
        flow->first_seen_us = (gint64)kf->first_seen_ns / 1000;
    /* The kernel saw it pass a checkpoint after conntrack last reported it:
     * a quiet flow moves again (or waits its turn): ask at the next sweep. */
    if ((gint64)kf->cp_last_ns / 1000 > flow->updated_us)
        fp_flow_table_query_soon(fp_sense_get_table(self->sense), flow);
    /* The event was dropped (ring buffer full): the flag still is. */
    if (kf->flags & FP_FLOW_F_ELEPHANT)
        fp_sense_elephant_from_kernel(self->sense, flow, (gint64)kf->elephant_ns / 1000);
    if (dump_us - flow->last_seen_us > (gint64)self->idle_timeout_s * G_USEC_PER_SEC) {
        g_array_append_val(stale, *key);
        self->flows_evicted_idle++;
    }
}

/* A new flow's first packet, from the kernel's log: when and where it
 * started.  A sweep that queries conntrack adds the flow to the table (and
 * queries it with the rest); one that dumps finds it there, or not yet:
 * FALSE. */
static gboolean apply_new_flow(FpSenseBpf *self, const struct fp_new_flow *r)
{
    FpFlowTable *table = fp_sense_get_table(self->sense);
    FpFlow *flow = self->sweep_queried
                       ? fp_flow_table_ensure(table, &r->key, g_get_monotonic_time(), NULL)
                       : fp_flow_table_lookup(table, &r->key);
    __u32 in[2] = {r->in_ifindex, 0}, out[2] = {r->out_ifindex, 0};

    if (!flow)
        return FALSE;
    complete_devices(FP_FLOW_F_DEVS_ORIG, in, out);
    fp_flow_table_set_devices(flow, in, out);
    flow->first_seen_us = (gint64)(r->first_seen_ns / 1000);
    return TRUE;
}

static void on_new_flow(const struct fp_new_flow *r, gpointer user_data)
{
    FpSenseBpf *self = user_data;

    /* Not in this sweep's dump: born while it ran (or gone).  Once more at
     * the next sweep, then dropped. */
    if (!apply_new_flow(self, r))
        g_array_append_val(self->newlog_pending, *r);
}

/* Devices and start times of the flows the kernel saw start. */
static void merge_new_flows(FpSenseBpf *self, gboolean queried)
{
    g_autoptr(GArray) retry = g_steal_pointer(&self->newlog_pending);

    self->sweep_queried = queried;
    self->newlog_pending = g_array_new(FALSE, FALSE, sizeof(struct fp_new_flow));
    for (guint i = 0; i < retry->len; i++)
        apply_new_flow(self, &g_array_index(retry, struct fp_new_flow, i));
    fp_newlog_drain(self->newlog, on_new_flow, self);
}

/* The log lost no new flow since the last dump: every flow conntrack has
 * that the table lacks was born since, and is in the log. */
gboolean fp_sense_bpf_may_query(gpointer state)
{
    FpSenseBpf *self = state;

    return fp_newlog_lost(self->newlog) == self->log_lost_at_dump;
}

void fp_sense_bpf_add_new_flows(gpointer state)
{
    merge_new_flows(state, TRUE);
}

/* Merge what the kernel program learnt; drop its entries for flows that
 * ended or went idle (they come back at their next checkpoint).  The map is
 * read in batches: one syscall per 256 flows, not two per flow, so a sweep
 * holds the main loop (and the elephant events behind it) briefly. */
static void merge_bpf_flows(FpSenseBpf *self, gint64 dump_us)
{
    int fd = bpf_map__fd(self->flows_map);
    g_autofree struct fp_flow_key *keys = g_new(struct fp_flow_key, MERGE_BATCH);
    g_autofree struct fp_flow *values = g_new(struct fp_flow, MERGE_BATCH);
    g_autoptr(GArray) stale = g_array_new(FALSE, FALSE, sizeof(struct fp_flow_key));
    __u32 token = 0;
    gboolean first = TRUE, more = TRUE;

    while (more) {
        __u32 count = MERGE_BATCH;
        int err =
            bpf_map_lookup_batch(fd, first ? NULL : &token, &token, keys, values, &count, NULL);

        /* ENOENT: the last batch (count entries are still valid). */
        more = err == 0;
        if (err && errno != ENOENT) {
            g_warning("cannot read the BPF flow table: %s", g_strerror(errno));
            break;
        }
        first = FALSE;
        for (__u32 i = 0; i < count; i++)
            merge_one(self, &keys[i], &values[i], dump_us, stale);
    }
    for (guint i = 0; i < stale->len; i++)
        bpf_map_delete_elem(fd, &g_array_index(stale, struct fp_flow_key, i));
}

void fp_sense_bpf_merge(gpointer state, gboolean queried, gint64 sweep_us)
{
    FpSenseBpf *self = state;

    merge_bpf_flows(self, sweep_us);
    if (!queried) {
        /* What the log lost before this point, the dump found. */
        self->log_lost_at_dump = fp_newlog_lost(self->newlog);
        merge_new_flows(self, FALSE);
    }
    /* The elephants each CPU skips expire: their conntrack entries'
     * memory may since hold other flows. */
    (*self->skip_gen)++;
}

void fp_sense_bpf_forget(gpointer state, const FpFlowKey *key)
{
    FpSenseBpf *self = state;

    bpf_map__delete_elem(self->flows_map, key, sizeof(*key), 0);
}

/* Sums the kernel program's per-CPU counters into @sum, and the new flows
 * it logged (the per-CPU log heads) into @flows_new (nullable). */
static void read_kernel_stats(FpSenseBpf *self, struct fp_stats *sum, guint64 *flows_new)
{
    guint64 logged = 0;

    memset(sum, 0, sizeof(*sum));
    for (__u32 c = 0; c < self->n_cpus; c++) {
        struct fp_cpu cpu;
        const struct fp_stats *k = &cpu.stats;

        if (bpf_map__lookup_elem(self->cpu_map, &c, sizeof(c), &cpu, sizeof(cpu), 0))
            continue;

        logged += cpu.newlog_head;
        sum->flows_table_full += k->flows_table_full;
        sum->events += k->events;
        sum->events_dropped += k->events_dropped;
        sum->checkpoints += k->checkpoints;
        sum->untracked_packets += k->untracked_packets;
        sum->samples += k->samples;
        sum->samples_skipped += k->samples_skipped;
        sum->read_errors += k->read_errors;
    }
    if (flows_new)
        *flows_new = logged;
}

guint64 fp_sense_bpf_untracked_packets(gpointer state)
{
    struct fp_stats k;

    read_kernel_stats(state, &k, NULL);
    return k.untracked_packets;
}

void fp_sense_bpf_fill_stats(gpointer state, FpSenseStats *stats)
{
    FpSenseBpf *self = state;
    struct fp_stats k;

    stats->flows_evicted_idle = self->flows_evicted_idle;
    stats->flows_log_lost = fp_newlog_lost(self->newlog);
    read_kernel_stats(self, &k, &stats->flows_new);
    stats->flows_table_full = k.flows_table_full;
    stats->events = k.events;
    stats->events_dropped = k.events_dropped;
    stats->samples = k.samples;
    stats->samples_skipped = k.samples_skipped;
    stats->read_errors = k.read_errors;
    stats->checkpoints = k.checkpoints;
    stats->bpf_run_time_ns = 0;
    stats->bpf_run_count = 0;
    for (guint i = 0; i < FP_SENSE_BPF_PROGS_MAX && self->progs[i]; i++) {
        struct bpf_prog_info info = {0};
        __u32 len = sizeof(info);

        if (bpf_obj_get_info_by_fd(bpf_program__fd(self->progs[i]), &info, &len) == 0) {
            stats->bpf_run_time_ns += info.run_time_ns;
            stats->bpf_run_count += info.run_cnt;
        }
    }
}
