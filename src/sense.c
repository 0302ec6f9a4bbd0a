/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Sensing: picks a backend at run time by trying (BPF netfilter programs
 * first, ctnetlink dumps when they cannot load), keeps the flow table in
 * step with conntrack, and turns the kernel's elephant events into flags.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <glib-unix.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "bpf-netfilter.h"
#include "conntrack.h"
#include "fp-error.h"
#include "newlog.h"
#include "sense.h"
#include "fp_sense.skel.h"
#include "fp-cleanup.h"

#define LATENCY_RING 1024

/* After an elephant event, user space polls the ring buffer every
 * POLL_INTERVAL_MS for POLL_WINDOW_MS, and the kernel program does not wake
 * it meanwhile: an event burst costs one wake-up, not one each. */
#define POLL_INTERVAL_MS 2
#define POLL_WINDOW_MS 500

/* A sweep asks conntrack for up to this many flows (a hash lookup each,
 * ~15 us here) instead of dumping its table.  A dump walks all of
 * nf_conntrack_buckets: ~10 ms of kernel time even with a handful of
 * flows, taken from packet processing on its CPU (iperf3 through the host
 * lost 10-30 % to a `conntrack -L` per second; tests/perf/bench-sweep.sh
 * shows it in the pings' round-trip tail).  Flows whose counters
 * stand still are asked about less and less often (1, 2, 4, 8 sweeps);
 * when more flows move than the queries can follow, the ones left out wait,
 * and once one has waited SWEEP_QUERY_LATE_MAX sweeps a dump refreshes all
 * at once. */
#define SWEEP_QUERY_MAX 512
#define SWEEP_QUERY_LATE_MAX 8

/* Samples per checkpoint, as a shift: a flow is sampled about once per
 * 2^(cp_shift - SAMPLES_PER_CP_SHIFT) of its bytes. */
#define SAMPLES_PER_CP_SHIFT 1

struct _FpSense {
    FpFlowTable *table;
    guint idle_timeout_s;
    FpSenseStats stats;
    char *backend_reason;
    char *conntrack_warning;
    FpSenseElephantFunc elephant_func;
    gpointer elephant_data;

    FpConntrack *ct;
    gboolean acct_enabled_by_us;
    char *acct_runtime_dir;

    /* BPF backend */
    struct fp_sense *skel;
    int link_fds[FP_BPF_NETFILTER_N_LINKS];
    struct ring_buffer *ringbuf;
    GSource *ringbuf_source;
    GSource *poll_source;
    gint64 poll_until_us;
    void *newlog_map;
    gsize newlog_map_size;
    FpNewLog *newlog;
    GArray *newlog_pending; /* struct fp_new_flow: flows not in the table yet */
    guint n_cpus;
    guint64 log_lost_at_dump; /* flows_log_lost at the last dump */
    gboolean sweep_by_query;  /* this sweep queries flows instead of dumping */
    guint64 prev_untracked;
    guint quiet_sweeps;

    gint64 latency[LATENCY_RING];
    guint n_latency;
};

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

static void note_latency(FpSense *self, gint64 ns)
{
    self->latency[self->n_latency % LATENCY_RING] = ns;
    self->n_latency++;
}

static int on_ringbuf_record(void *ctx, void *data, size_t size)
{
    FpSense *self = ctx;
    struct fp_event e;
    g_autoptr(GError) error = NULL;
    gint64 now_ns = monotonic_ns();
    FpFlow *flow;

    if (!fp_sense_decode_event(data, size, &e, &error)) {
        g_warning("%s", error->message);
        return 0;
    }
    note_latency(self, now_ns - (gint64)e.ts_ns);
    /* A flow younger than the last sweep gets its counters at the next. */
    flow = fp_flow_table_ensure(self->table, &e.key, now_ns / 1000, NULL);
    if (!flow->updated_us) {
        for (int d = 0; d < 2; d++) {
            flow->bytes[d] = e.bytes[d];
            flow->packets[d] = e.packets[d];
        }
    }
    complete_devices(e.flags, e.in_ifindex, e.out_ifindex);
    fp_flow_table_set_devices(flow, e.in_ifindex, e.out_ifindex);
    if (flow->elephant == FP_ELEPHANT_NONE) {
        fp_flow_table_mark_elephant(self->table, flow, FP_ELEPHANT_BY_BPF, (gint64)e.ts_ns / 1000);
        if (self->elephant_func)
            self->elephant_func(flow, self->elephant_data);
    }
    return 0;
}

static void consume_events(FpSense *self);

static gboolean on_poll(gpointer user_data)
{
    FpSense *self = user_data;

    consume_events(self);
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
static void consume_events(FpSense *self)
{
    int n = ring_buffer__consume(self->ringbuf);

    if (n < 0) {
        g_warning("ring buffer: %s", g_strerror(-n));
        return;
    }
    if (n == 0)
        return;
    self->poll_until_us = g_get_monotonic_time() + POLL_WINDOW_MS * 1000;
    self->skel->bss->poll_until_ns = (guint64)self->poll_until_us * 1000;
    if (!self->poll_source) {
        self->poll_source = g_timeout_source_new(POLL_INTERVAL_MS);
        g_source_set_callback(self->poll_source, on_poll, self, NULL);
        g_source_set_name(self->poll_source, "BPF ring buffer poll");
        g_source_set_priority(self->poll_source, G_PRIORITY_HIGH);
        g_source_attach(self->poll_source, NULL);
        g_source_unref(self->poll_source);
    }
}

static gboolean on_ringbuf_ready(gint fd, GIOCondition cond, gpointer user_data)
{
    consume_events(user_data);
    return G_SOURCE_CONTINUE;
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

static void bpf_stop(FpSense *self);

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
static gboolean newlog_start(FpSense *self, guint shift, GError **error)
{
    struct bpf_map *map = self->skel->maps.fp_newlog;
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

static gboolean bpf_start(FpSense *self, const FpConfig *c, GError **error)
{
    g_autoptr(FpBtf) vmlinux = btf__load_vmlinux_btf();
    g_autoptr(FpSenseSkel) skel = NULL;
    int err, n_cpus = libbpf_num_possible_cpus();
    guint32 shift, needed, log_shift;

    G_STATIC_ASSERT(sizeof(struct fp_flow_key) == 40);
    G_STATIC_ASSERT(sizeof(struct fp_flow) == 136);
    G_STATIC_ASSERT(sizeof(struct fp_event) == 112);
    G_STATIC_ASSERT(sizeof(struct fp_new_flow) == 64);
    G_STATIC_ASSERT(sizeof(struct fp_cpu) % 64 == 0);
    if (n_cpus <= 0) {
        g_set_error(error, FP_ERROR, FP_ERROR_IO, "cannot count the possible CPUs: %s",
                    g_strerror(-n_cpus));
        return FALSE;
    }
    self->n_cpus = (guint)n_cpus;
    if (!vmlinux) {
        g_set_error(error, FP_ERROR, FP_ERROR_NOT_SUPPORTED,
                    "no kernel BTF (/sys/kernel/btf/vmlinux): %s", g_strerror(errno));
        return FALSE;
    }
    if (!conntrack_btf(vmlinux, error))
        return FALSE;
    skel = fp_sense__open();
    if (!skel) {
        g_set_error(error, FP_ERROR, FP_ERROR_NOT_SUPPORTED, "cannot open BPF object: %s",
                    g_strerror(errno));
        return FALSE;
    }
    checkpoint_params(c->elephant_bytes, &shift, &needed);
    log_shift = newlog_shift(c->flow_table_size, self->n_cpus);
    skel->rodata->cp_shift = shift;
    skel->rodata->cp_needed = needed;
    skel->rodata->window_ns = (guint64)c->elephant_window_s * 1000000000ULL;
    bpf_map__set_max_entries(skel->maps.fp_cpu, self->n_cpus);
    bpf_map__set_max_entries(skel->maps.fp_flows, c->flow_table_size);
    bpf_map__set_max_entries(skel->maps.fp_events, round_up_pow2(c->ringbuf_size));
    bpf_map__set_max_entries(skel->maps.fp_newlog, self->n_cpus << log_shift);
    fp_bpf_netfilter_prepare(skel->progs.fp_nf_hook);
    const ImmSetting settings[] = {
        {FP_IMM_SAMPLE_DROP, 64 - (shift - SAMPLES_PER_CP_SHIFT)},
        {FP_IMM_NEWLOG_SHIFT, log_shift},
    };
    if (!patch_imm64(skel->progs.fp_nf_hook, settings, G_N_ELEMENTS(settings), error))
        return FALSE;
    err = fp_sense__load(skel);
    if (err) {
        g_set_error(error, FP_ERROR, FP_ERROR_NOT_SUPPORTED,
                    "kernel refused the BPF netfilter program (needs Linux >= 6.4 with BTF): %s",
                    g_strerror(-err));
        return FALSE;
    }
    if (!fp_bpf_netfilter_attach_all(bpf_program__fd(skel->progs.fp_nf_hook), c->hook_priority,
                                     self->link_fds, &self->stats.hook_priority, error))
        return FALSE;
    self->ringbuf =
        ring_buffer__new(bpf_map__fd(skel->maps.fp_events), on_ringbuf_record, self, NULL);
    if (!self->ringbuf) {
        fp_bpf_netfilter_detach_all(self->link_fds);
        g_set_error(error, FP_ERROR, FP_ERROR_IO, "cannot set up the BPF ring buffer: %s",
                    g_strerror(errno));
        return FALSE;
    }
    self->ringbuf_source = g_unix_fd_source_new(ring_buffer__epoll_fd(self->ringbuf), G_IO_IN);
    g_source_set_callback(self->ringbuf_source, G_SOURCE_FUNC(on_ringbuf_ready), self, NULL);
    g_source_set_name(self->ringbuf_source, "BPF ring buffer");
    /* Elephant events before sweeps, D-Bus and timers when both are ready. */
    g_source_set_priority(self->ringbuf_source, G_PRIORITY_HIGH);
    g_source_attach(self->ringbuf_source, NULL);
    self->skel = g_steal_pointer(&skel);
    if (!newlog_start(self, log_shift, error)) {
        bpf_stop(self);
        return FALSE;
    }
    return TRUE;
}

static void bpf_stop(FpSense *self)
{
    g_clear_pointer(&self->poll_source, g_source_destroy);
    g_clear_pointer(&self->newlog, fp_newlog_free);
    g_clear_pointer(&self->newlog_pending, g_array_unref);
    if (self->newlog_map) {
        munmap(self->newlog_map, self->newlog_map_size);
        self->newlog_map = NULL;
    }
    if (self->ringbuf_source) {
        g_source_destroy(self->ringbuf_source);
        g_clear_pointer(&self->ringbuf_source, g_source_unref);
    }
    g_clear_pointer(&self->ringbuf, ring_buffer__free);
    fp_bpf_netfilter_detach_all(self->link_fds);
    g_clear_pointer(&self->skel, fp_sense__destroy);
}

static void on_destroy(const FpCtEntry *e, gpointer user_data)
{
    FpSense *self = user_data;

    self->stats.destroy_events++;
    fp_flow_table_remove(self->table, &e->key);
    if (self->skel)
        bpf_map__delete_elem(self->skel->maps.fp_flows, &e->key, sizeof(e->key), 0);
}

/**
 * fp_sense_new:
 * @config: the agent's configuration
 * @table: the flow table to keep current (borrowed, must outlive the result)
 * @error: return location for a #GError
 *
 * Starts sensing with the configured backend, or with the best one this
 * kernel supports when it is "auto".
 */
FpSense *fp_sense_new(const FpConfig *config, FpFlowTable *table, GError **error)
{
    g_autoptr(FpSense) self = g_new0(FpSense, 1);
    g_autoptr(GError) bpf_error = NULL;
    g_autofree char *reason = NULL;

    self->table = table;
    self->idle_timeout_s = config->idle_timeout_s;
    for (guint i = 0; i < FP_BPF_NETFILTER_N_LINKS; i++)
        self->link_fds[i] = -1;
    libbpf_set_print(libbpf_print);

    if (!fp_conntrack_available(&reason)) {
        g_set_error(error, FP_ERROR, FP_ERROR_NOT_SUPPORTED, "%s", reason);
        return NULL;
    }
    /* A previous run that crashed may have left acct on: put the operator's
     * value back first, then turn it on again for us. */
    if (!fp_conntrack_restore_acct(config->runtime_dir, error))
        return NULL;
    if (config->enable_acct) {
        if (!fp_conntrack_enable_acct(config->runtime_dir, &self->acct_enabled_by_us, error))
            return NULL;
        self->acct_runtime_dir = g_strdup(config->runtime_dir);
    }
    self->ct = fp_conntrack_new(error);
    if (!self->ct)
        return NULL;
    if (!fp_conntrack_watch_destroy(self->ct, on_destroy, self, error))
        return NULL;

    if (config->backend != FP_BACKEND_CTNETLINK) {
        if (bpf_start(self, config, &bpf_error)) {
            self->stats.backend = FP_BACKEND_BPF_NETFILTER;
            self->backend_reason = g_strdup_printf(
                "BPF netfilter programs at LOCAL_IN and POST_ROUTING (IPv4, IPv6), priority %d",
                self->stats.hook_priority);
        } else if (config->backend == FP_BACKEND_BPF_NETFILTER) {
            g_propagate_error(error, g_steal_pointer(&bpf_error));
            return NULL;
        }
    }
    if (!self->skel) {
        self->stats.backend = FP_BACKEND_CTNETLINK;
        self->backend_reason =
            bpf_error ? g_strdup_printf("ctnetlink dumps with nf_conntrack_acct counters "
                                        "(BPF unavailable: %s)",
                                        bpf_error->message)
                      : g_strdup("ctnetlink dumps with nf_conntrack_acct counters (configured)");
    }
    return g_steal_pointer(&self);
}

/**
 * fp_sense_free:
 * @sense: (nullable): a #FpSense
 *
 * Detaches everything and restores nf_conntrack_acct if we turned it on.
 */
void fp_sense_free(FpSense *self)
{
    g_autoptr(GError) error = NULL;

    if (!self)
        return;
    bpf_stop(self);
    fp_conntrack_free(self->ct);
    if (self->acct_runtime_dir && !fp_conntrack_restore_acct(self->acct_runtime_dir, &error))
        g_warning("%s", error->message);
    g_free(self->acct_runtime_dir);
    g_free(self->backend_reason);
    g_free(self->conntrack_warning);
    g_free(self);
}

void fp_sense_set_elephant_func(FpSense *self, FpSenseElephantFunc func, gpointer user_data)
{
    self->elephant_func = func;
    self->elephant_data = user_data;
}

typedef struct {
    FpSense *self;
    gint64 now_us;
    guint n;
    guint without_counters;
} SweepCtx;

static void on_dumped(const FpCtEntry *e, gpointer user_data)
{
    SweepCtx *s = user_data;
    FpFlow *flow;
    gboolean was_elephant;

    s->n++;
    if (!e->has_counters) {
        /* Created before nf_conntrack_acct was on: conntrack has no counters
         * for it and neither do we. */
        s->without_counters++;
    }
    flow = fp_flow_table_lookup(s->self->table, &e->key);
    was_elephant = flow && flow->elephant != FP_ELEPHANT_NONE;
    flow = fp_flow_table_observe(s->self->table, &e->key, e->bytes, e->packets, s->now_us);
    if (!was_elephant && flow->elephant != FP_ELEPHANT_NONE && s->self->elephant_func)
        s->self->elephant_func(flow, s->self->elephant_data);
}

static void merge_one(FpSense *self, const struct fp_flow_key *key, struct fp_flow *kf,
                      gint64 dump_us, GArray *stale)
{
    FpFlow *flow = fp_flow_table_lookup(self->table, key);

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
        fp_flow_table_query_soon(self->table, flow);
    if ((kf->flags & FP_FLOW_F_ELEPHANT) && flow->elephant == FP_ELEPHANT_NONE) {
        /* The event was dropped (ring buffer full): the flag still is. */
        fp_flow_table_mark_elephant(self->table, flow, FP_ELEPHANT_BY_BPF,
                                    (gint64)kf->elephant_ns / 1000);
        if (self->elephant_func)
            self->elephant_func(flow, self->elephant_data);
    }
    if (dump_us - flow->last_seen_us > (gint64)self->idle_timeout_s * G_USEC_PER_SEC) {
        g_array_append_val(stale, *key);
        self->stats.flows_evicted_idle++;
    }
}

/* A new flow's first packet, from the kernel's log: when and where it
 * started.  A sweep that queries conntrack adds the flow to the table (and
 * queries it with the rest); one that dumps finds it there, or not yet:
 * FALSE. */
static gboolean apply_new_flow(FpSense *self, const struct fp_new_flow *r)
{
    FpFlow *flow = self->sweep_by_query
                       ? fp_flow_table_ensure(self->table, &r->key, g_get_monotonic_time(), NULL)
                       : fp_flow_table_lookup(self->table, &r->key);
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
    FpSense *self = user_data;

    /* Not in this sweep's dump: born while it ran (or gone).  Once more at
     * the next sweep, then dropped. */
    if (!apply_new_flow(self, r))
        g_array_append_val(self->newlog_pending, *r);
}

/* Devices and start times of the flows the kernel saw start. */
static void merge_new_flows(FpSense *self)
{
    g_autoptr(GArray) retry = g_steal_pointer(&self->newlog_pending);

    self->newlog_pending = g_array_new(FALSE, FALSE, sizeof(struct fp_new_flow));
    for (guint i = 0; i < retry->len; i++)
        apply_new_flow(self, &g_array_index(retry, struct fp_new_flow, i));
    fp_newlog_drain(self->newlog, on_new_flow, self);
    self->stats.flows_log_lost = fp_newlog_lost(self->newlog);
}

#define MERGE_BATCH 256

/* Merge what the kernel program learnt; drop its entries for flows that
 * ended or went idle (they come back at their next checkpoint).  The map is
 * read in batches: one syscall per 256 flows, not two per flow, so a sweep
 * holds the main loop (and the elephant events behind it) briefly. */
static void merge_bpf_flows(FpSense *self, gint64 dump_us)
{
    int fd = bpf_map__fd(self->skel->maps.fp_flows);
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

/* Sums the kernel program's per-CPU counters into @sum, and the new flows
 * it logged (the per-CPU log heads) into @flows_new (nullable). */
static void read_kernel_stats(FpSense *self, struct fp_stats *sum, guint64 *flows_new)
{
    guint64 logged = 0;

    memset(sum, 0, sizeof(*sum));
    if (flows_new)
        *flows_new = 0;
    if (!self->skel)
        return;
    for (__u32 c = 0; c < self->n_cpus; c++) {
        struct fp_cpu cpu;
        const struct fp_stats *k = &cpu.stats;

        if (bpf_map__lookup_elem(self->skel->maps.fp_cpu, &c, sizeof(c), &cpu, sizeof(cpu), 0))
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

static void check_conntrack_active(FpSense *self, guint n_flows)
{
    struct fp_stats k;
    guint64 untracked;

    read_kernel_stats(self, &k, NULL);
    untracked = k.untracked_packets;
    gboolean untracked_traffic = untracked > self->prev_untracked;

    self->prev_untracked = untracked;
    self->stats.untracked_packets = untracked;
    g_clear_pointer(&self->conntrack_warning, g_free);
    if (n_flows > 0) {
        self->quiet_sweeps = 0;
        self->stats.conntrack_active = TRUE;
        return;
    }
    self->quiet_sweeps++;
    self->stats.conntrack_active = FALSE;
    if (untracked_traffic)
        self->conntrack_warning =
            g_strdup("packets pass the hooks without a conntrack entry: nothing loads conntrack "
                     "for this traffic (add a 'ct state' nftables rule or an iptables "
                     "conntrack/NAT rule)");
    else if (self->quiet_sweeps > 1)
        self->conntrack_warning = g_strdup(
            "conntrack has no entries: either there is no traffic or nothing loads conntrack "
            "(no 'ct' nftables rule, no iptables NAT/conntrack rule)");
}

/* Flows without counters while we own nf_conntrack_acct: someone turned it
 * off under us (another tool restoring "its" value).  Say so and turn it
 * back on; our saved value (the operator's) stays what it was. */
static void keep_acct_on(FpSense *self)
{
    g_autoptr(GError) error = NULL;
    gboolean changed = FALSE;

    if (!fp_conntrack_enable_acct(self->acct_runtime_dir, &changed, &error))
        g_warning("%s", error->message);
    else if (changed)
        g_warning("nf_conntrack_acct was turned off while footprintd runs; turned it back on "
                  "(flows created meanwhile have no counters)");
    self->acct_enabled_by_us |= changed;
}

/* Asks conntrack for the flows in @keys; the ones it no longer has are not
 * observed, so the sweep drops them. */
static gboolean query_flows(FpSense *self, SweepCtx *s, GArray *keys, GError **error)
{
    for (guint i = 0; i < keys->len; i++) {
        FpCtEntry e;
        gboolean found;

        if (!fp_conntrack_get(self->ct, &g_array_index(keys, FpFlowKey, i), &e, &found, error))
            return FALSE;
        if (found)
            on_dumped(&e, s);
    }
    self->stats.sweep_queries += keys->len;
    self->stats.sweep_queries_spared += fp_flow_table_size(self->table) - keys->len;
    return TRUE;
}

/**
 * fp_sense_sweep:
 * @sense: a #FpSense
 * @error: return location for a #GError
 *
 * Refreshes the flow table with conntrack's exact counters (a dump, or
 * queries of the flows whose turn it is), merges the kernel program's
 * flow map and new-flow log, drops ended flows.
 */
gboolean fp_sense_sweep(FpSense *self, GError **error)
{
    SweepCtx s = {self, g_get_monotonic_time(), 0, 0};
    g_autoptr(GArray) due = NULL;
    gint64 took;

    /* Events first: a dump of many flows must not delay them. */
    if (self->ringbuf)
        consume_events(self);
    /* Query flow by flow when the kernel program tells us about every new
     * flow (its log lost none since the last dump); the first sweep dumps,
     * to learn the flows older than the agent. */
    self->sweep_by_query = self->skel && self->stats.sweeps > 0 &&
                           self->stats.flows_log_lost == self->log_lost_at_dump;
    if (self->sweep_by_query)
        merge_new_flows(self);
    fp_flow_table_begin_sweep(self->table, s.now_us);
    if (self->sweep_by_query) {
        guint late;

        due = fp_flow_table_due(self->table, SWEEP_QUERY_MAX, &late);
        self->sweep_by_query = late < SWEEP_QUERY_LATE_MAX;
    }
    if (self->sweep_by_query) {
        if (!query_flows(self, &s, due, error))
            return FALSE;
        fp_flow_table_end_query_sweep(self->table, due);
    } else {
        if (!fp_conntrack_dump(self->ct, on_dumped, &s, error))
            return FALSE;
        fp_flow_table_end_sweep(self->table);
        self->log_lost_at_dump = self->stats.flows_log_lost;
        self->stats.sweep_dumps++;
    }
    if (s.without_counters && self->acct_runtime_dir)
        keep_acct_on(self);
    if (self->skel) {
        merge_bpf_flows(self, s.now_us);
        if (!self->sweep_by_query)
            merge_new_flows(self);
        /* The elephants each CPU skips expire: their conntrack entries'
         * memory may since hold other flows. */
        self->skel->bss->skip_gen++;
    }
    /* A queried sweep takes the flows it did not ask about as still there. */
    check_conntrack_active(self, self->sweep_by_query ? fp_flow_table_size(self->table) : s.n);
    self->stats.sweeps++;
    took = g_get_monotonic_time() - s.now_us;
    self->stats.sweep_last_us = took;
    self->stats.sweep_max_us = MAX(self->stats.sweep_max_us, took);
    return TRUE;
}

static int cmp_gint64(const void *a, const void *b)
{
    gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;

    return x < y ? -1 : x > y;
}

void fp_sense_get_stats(FpSense *self, FpSenseStats *stats)
{
    guint n = MIN(self->n_latency, LATENCY_RING);

    *stats = self->stats;
    stats->backend_reason = self->backend_reason;
    stats->conntrack_warning = self->conntrack_warning;
    stats->acct_enabled_by_us = self->acct_enabled_by_us;
    stats->destroy_events_lost = fp_conntrack_events_lost(self->ct);
    stats->event_latency_p50_ns = stats->event_latency_p99_ns = -1;
    stats->event_latency_samples = self->n_latency;
    if (n) {
        gint64 sorted[LATENCY_RING];

        memcpy(sorted, self->latency, n * sizeof(gint64));
        qsort(sorted, n, sizeof(gint64), cmp_gint64);
        stats->event_latency_p50_ns = sorted[(n - 1) / 2];
        stats->event_latency_p99_ns = sorted[(n - 1) * 99 / 100];
    }
    if (self->skel) {
        struct fp_stats k;
        struct bpf_prog_info info = {0};
        __u32 len = sizeof(info);

        read_kernel_stats(self, &k, &stats->flows_new);
        stats->flows_table_full = k.flows_table_full;
        stats->events = k.events;
        stats->events_dropped = k.events_dropped;
        stats->samples = k.samples;
        stats->samples_skipped = k.samples_skipped;
        stats->read_errors = k.read_errors;
        stats->checkpoints = k.checkpoints;
        if (bpf_obj_get_info_by_fd(bpf_program__fd(self->skel->progs.fp_nf_hook), &info, &len) ==
            0) {
            stats->bpf_run_time_ns = info.run_time_ns;
            stats->bpf_run_count = info.run_cnt;
        }
    }
}

/**
 * fp_sense_probe:
 * @config: the configuration (hook priority, sizes)
 *
 * Tries each backend without keeping anything attached.
 *
 * Returns: (transfer full): a report for `footprintd --probe`
 */
char *fp_sense_probe(const FpConfig *config)
{
    GString *out = g_string_new(NULL);
    struct utsname u;
    g_autofree char *reason = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *acct = NULL;
    FpSense probe = {0};
    gboolean bpf_ok;
    int kernel_nf;

    libbpf_set_print(libbpf_print);
    uname(&u);
    g_string_append_printf(out, "kernel: %s %s\n", u.sysname, u.release);
    g_string_append_printf(out, "kernel BTF: %s\n",
                           g_file_test("/sys/kernel/btf/vmlinux", G_FILE_TEST_EXISTS) ? "yes"
                                                                                      : "no");
    g_string_append_printf(out, "conntrack: %s\n",
                           fp_conntrack_available(&reason) ? "yes" : reason);
    if (g_file_get_contents("/proc/sys/net/netfilter/nf_conntrack_acct", &acct, NULL, NULL))
        g_string_append_printf(out, "nf_conntrack_acct: %s", acct);
    kernel_nf = fp_bpf_netfilter_kernel_supports();
    g_string_append_printf(
        out, "kernel BPF netfilter program type: %s%s\n",
        kernel_nf == 0 ? "yes" : "no: ", kernel_nf == 0 ? "" : g_strerror(-kernel_nf));
    for (guint i = 0; i < FP_BPF_NETFILTER_N_LINKS; i++)
        probe.link_fds[i] = -1;
    bpf_ok = bpf_start(&probe, config, &error);
    g_string_append_printf(out, "BPF netfilter programs (Linux >= 6.4): %s%s\n",
                           bpf_ok ? "yes" : "no: ", bpf_ok ? "" : error->message);
    if (bpf_ok)
        g_string_append_printf(out, "hook priority available: %d\n", probe.stats.hook_priority);
    bpf_stop(&probe);
    g_string_append_printf(out, "ctnetlink fallback: %s\n", reason ? "no" : "yes");
    g_string_append_printf(out, "backend: %s\n",
                           config->backend != FP_BACKEND_AUTO
                               ? fp_backend_to_string(config->backend)
                           : bpf_ok ? "bpf-netfilter"
                           : reason ? "none"
                                    : "ctnetlink");
    return g_string_free(out, FALSE);
}
