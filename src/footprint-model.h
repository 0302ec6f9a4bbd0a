/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * footprint-model: the per-VM network footprint.  Pure code: it is fed one
 * FpFootprintSample per VM per interval (attribution computes them), keeps
 * time-weighted EWMAs, classifies with hysteresis and serializes itself (a
 * state file under the state dir, the libvirt metadata element).  No clock,
 * no libvirt, no I/O except the state file.
 *
 * The header is not called footprint.h: bpf/footprint.h is the BPF shared
 * header, and a src/footprint.h would shadow it for every "footprint.h"
 * include in src/ (quoted includes search the including file's directory
 * first).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The libvirt metadata namespace and key (a contract: README and footprintd(8)). */
#define FP_FOOTPRINT_MODEL_XMLNS "http://footprintd.org/xmlns/footprint/1.0"
#define FP_FOOTPRINT_MODEL_XML_KEY "footprint"
/* The operator's pin element (namespace FP_FOOTPRINT_PIN_XMLNS, domain-xml.h),
 * which footprintd never writes: <pin xmlns="..." class="latency"/> */
#define FP_FOOTPRINT_PIN_XML_KEY "pin"
/* Version of the state file and of the metadata element. */
#define FP_FOOTPRINT_FORMAT_VERSION 1
/* Bounds applied to untrusted input (state file, metadata element). */
#define FP_FOOTPRINT_STATE_MAX_SIZE (16u * 1024u * 1024u)
/* At most this many VMs in the state file: at their longest (about 700 bytes
 * each) they stay well within FP_FOOTPRINT_STATE_MAX_SIZE, so whatever the
 * writer writes, the loader reads. */
#define FP_FOOTPRINT_STATE_MAX_VMS 16384u
#define FP_FOOTPRINT_XML_MAX_SIZE (64u * 1024u)
/* The most evaluations in a row a pending class counts: switch_after's
 * upper bound.  The count saturates there (a long warm-up would otherwise
 * grow it without bound, and the state file must stay loadable). */
#define FP_FOOTPRINT_PENDING_MAX 1000u

/**
 * FpClass:
 * @FP_CLASS_UNKNOWN: not enough observation yet (or, as a pin: not pinned)
 * @FP_CLASS_IDLE: hardly any traffic
 * @FP_CLASS_LATENCY: mice-dominated: most bytes in short, small flows
 * @FP_CLASS_THROUGHPUT: elephant-dominated: most bytes in a few bulk flows
 * @FP_CLASS_MIXED: both, or neither clearly
 */
typedef enum {
    FP_CLASS_UNKNOWN,
    FP_CLASS_IDLE,
    FP_CLASS_LATENCY,
    FP_CLASS_THROUGHPUT,
    FP_CLASS_MIXED,
} FpClass;

#define FP_CLASS_COUNT (FP_CLASS_MIXED + 1)

const char *fp_class_to_string(FpClass klass);
gboolean fp_class_from_string(const char *s, FpClass *out);

/**
 * FpFootprintPolicy:
 * @window_s: EWMA time constant of every classified figure, seconds
 * @short_window_s: time constant of the short EWMA behind the peak, seconds
 * @warmup_s: observation time before a first class is given, seconds
 * @idle_bps: below this rate (rx + tx, bytes/s) ...
 * @idle_flow_rate: ... and below this many new flows/s, a VM is idle
 * @throughput_share: elephant byte share at or above which a VM is throughput
 * @latency_share: elephant byte share at or below which a VM is latency
 * @mixed_mice_rate: mice flows started/s at or above which an
 *     elephant-dominated VM is mixed instead of throughput; 0 disables
 * @hysteresis_share: how far below/above its share threshold a VM must
 *     get to leave throughput/latency
 * @hysteresis_ratio: relative margin, the same for the rate thresholds
 *     (idle_bps, idle_flow_rate, mixed_mice_rate)
 * @switch_after: evaluations in a row another class must win before the
 *     class changes
 * @metadata_interval_s: least time between two libvirt metadata writes
 *     that are due to confidence alone
 * @metadata_confidence_step: confidence change that makes a write due
 *
 * Thresholds of the model.  fp_footprint_policy_init() fills the defaults
 * documented in footprintd.conf(5); fp_footprint_policy_check() validates.
 */
typedef struct {
    double window_s;
    double short_window_s;
    double warmup_s;
    double idle_bps;
    double idle_flow_rate;
    double throughput_share;
    double latency_share;
    double mixed_mice_rate;
    double hysteresis_share;
    double hysteresis_ratio;
    guint switch_after;
    double metadata_interval_s;
    double metadata_confidence_step;
} FpFootprintPolicy;

void fp_footprint_policy_init(FpFootprintPolicy *policy);
gboolean fp_footprint_policy_check(const FpFootprintPolicy *policy, GError **error);

/**
 * FpFootprintSample:
 * @interval_us: length of the interval, µs (> 0)
 * @rx_bytes: bytes towards the VM in the interval
 * @tx_bytes: bytes from the VM in the interval
 * @active_flows: flows of the VM that moved bytes in the interval
 * @new_flows: flows of the VM first seen in the interval
 * @elephant_flows: active elephant flows
 * @elephant_bytes: bytes of elephant flows in the interval (both
 *     directions; part of @rx_bytes + @tx_bytes)
 * @mice_started: non-elephant flows first seen in the interval
 * @mice_ended: non-elephant flows that ended in the interval
 *
 * What attribution reports about one VM for one interval (one sweep).
 */
typedef struct {
    gint64 interval_us;
    guint64 rx_bytes;
    guint64 tx_bytes;
    guint active_flows;
    guint new_flows;
    guint elephant_flows;
    guint64 elephant_bytes;
    guint mice_started;
    guint mice_ended;
} FpFootprintSample;

/**
 * FpFootprintState:
 * @learned: the learned class
 * @pinned: the operator's override, %FP_CLASS_UNKNOWN when not pinned
 * @confidence: confidence in @learned, 0..1
 * @rx_bps: EWMA of bytes/s towards the VM
 * @tx_bps: EWMA of bytes/s from the VM
 * @elephant_bps: EWMA of bytes/s in elephant flows
 * @elephants: EWMA of the number of active elephant flows
 * @active_flows: EWMA of the number of active flows
 * @mice_rate: EWMA of mice flows started per second
 * @mice_end_rate: EWMA of mice flows ended per second
 * @new_flow_rate: EWMA of new flows per second
 * @short_bps: short-window EWMA of rx + tx bytes/s
 * @peak_bps: the highest @short_bps, decaying with the long window
 * @observed_s: seconds of traffic observed so far
 * @pending: the class that is winning but has not yet switched, or
 *     %FP_CLASS_UNKNOWN
 * @pending_count: evaluations in a row @pending has won, at most
 *     %FP_FOOTPRINT_PENDING_MAX
 *
 * Everything the model remembers: what the state file and (except the
 * pending fields) the metadata element carry.
 */
typedef struct {
    FpClass learned;
    FpClass pinned;
    double confidence;
    double rx_bps;
    double tx_bps;
    double elephant_bps;
    double elephants;
    double active_flows;
    double mice_rate;
    double mice_end_rate;
    double new_flow_rate;
    double short_bps;
    double peak_bps;
    double observed_s;
    FpClass pending;
    guint pending_count;
} FpFootprintState;

gboolean fp_footprint_state_check(const FpFootprintState *state, GError **error);

/**
 * FpFootprintExplain:
 * @klass: the class in effect (@pinned when set, else @learned)
 * @learned: the learned class
 * @pinned: the operator's pin, %FP_CLASS_UNKNOWN when none
 * @candidate: what the latest evaluation alone says
 * @pending: the class winning towards a switch, %FP_CLASS_UNKNOWN if none
 * @pending_count: how many evaluations in a row @pending has won
 * @confidence: confidence in @klass (1 when pinned)
 * @learned_confidence: confidence in @learned: @maturity × @separation
 * @maturity: 1 − e^(−observed/window): how much history backs the figures
 * @separation: how deep inside its class's region the figures lie: 0.5 on
 *     the boundary, 1 far inside, below 0.5 when hysteresis holds a class
 *     the figures have left
 * @warm: the warm-up is over
 * @rx_bps: bytes/s towards the VM (EWMA)
 * @tx_bps: bytes/s from the VM (EWMA)
 * @total_bps: @rx_bps + @tx_bps
 * @elephants: active elephant flows (EWMA)
 * @elephant_share: share of bytes in elephant flows, 0..1
 * @mice_rate: mice flows started per second (EWMA)
 * @new_flow_rate: new flows per second (EWMA)
 * @peak_bps: recent peak of the short-window rate
 * @peak_ratio: @peak_bps / @total_bps (1 = steady), 0 with no traffic
 * @observed_s: seconds observed
 * @samples: samples fed since the model was created or restored
 * @idle_bps: the idle rate threshold in effect (hysteresis applied)
 * @idle_flow_rate: the idle new-flow threshold in effect
 * @throughput_share: the throughput share threshold in effect
 * @latency_share: the latency share threshold in effect
 * @mixed_mice_rate: the mixed mice-rate threshold in effect
 * @policy: the nominal thresholds
 *
 * The numbers and thresholds behind a class (footprintctl explain).
 */
typedef struct {
    FpClass klass;
    FpClass learned;
    FpClass pinned;
    FpClass candidate;
    FpClass pending;
    guint pending_count;
    double confidence;
    double learned_confidence;
    double maturity;
    double separation;
    gboolean warm;
    double rx_bps;
    double tx_bps;
    double total_bps;
    double elephants;
    double elephant_share;
    double mice_rate;
    double new_flow_rate;
    double peak_bps;
    double peak_ratio;
    double observed_s;
    guint64 samples;
    double idle_bps;
    double idle_flow_rate;
    double throughput_share;
    double latency_share;
    double mixed_mice_rate;
    FpFootprintPolicy policy;
} FpFootprintExplain;

/**
 * FpFootprintTotals:
 * @rx_bytes: bytes towards the VM since the model was created
 * @tx_bytes: bytes from the VM
 * @flows: flows started
 * @mice_started: mice flows started
 * @mice_ended: mice flows ended
 * @active_flows: active flows in the latest sample
 * @elephant_flows: active elephant flows in the latest sample
 *
 * Counters since the model was created (not persisted: Prometheus counters
 * may reset when the agent restarts).
 */
typedef struct {
    guint64 rx_bytes;
    guint64 tx_bytes;
    guint64 flows;
    guint64 mice_started;
    guint64 mice_ended;
    guint active_flows;
    guint elephant_flows;
} FpFootprintTotals;

typedef struct _FpFootprint FpFootprint;

FpFootprint *fp_footprint_new(const FpFootprintPolicy *policy);
void fp_footprint_free(FpFootprint *fp);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpFootprint, fp_footprint_free)

void fp_footprint_set_policy(FpFootprint *fp, const FpFootprintPolicy *policy);
gboolean fp_footprint_feed(FpFootprint *fp, const FpFootprintSample *sample, GError **error);
FpClass fp_footprint_get_class(const FpFootprint *fp);
FpClass fp_footprint_get_learned_class(const FpFootprint *fp);
double fp_footprint_get_confidence(const FpFootprint *fp);
void fp_footprint_set_pinned(FpFootprint *fp, FpClass pinned);
FpClass fp_footprint_get_pinned(const FpFootprint *fp);
void fp_footprint_get_state(const FpFootprint *fp, FpFootprintState *state);
gboolean fp_footprint_set_state(FpFootprint *fp, const FpFootprintState *state, GError **error);
void fp_footprint_get_totals(const FpFootprint *fp, FpFootprintTotals *totals);
void fp_footprint_explain(const FpFootprint *fp, FpFootprintExplain *explain);
char *fp_footprint_explain_to_text(const FpFootprintExplain *explain);
GVariant *fp_footprint_explain_to_variant(const FpFootprintExplain *explain);

gboolean fp_footprint_metadata_due(const FpFootprintState *written, const FpFootprintState *now,
                                   double seconds_since_write, const FpFootprintPolicy *policy);

/* ---- libvirt metadata element ------------------------------------------ */

char *fp_footprint_state_to_xml(const FpFootprintState *state, gint64 updated_unix);
gboolean fp_footprint_state_from_xml(const char *xml, gsize len, const char *origin,
                                     FpFootprintState *state, gint64 *updated_unix, GError **error);
FpClass fp_footprint_pinned_attribute(const char *xml, const char *name, GError **error);
gboolean fp_footprint_pin_from_xml(const char *xml, gsize len, const char *origin, FpClass *pin,
                                   GError **error);

/* ---- all VMs, and the state file --------------------------------------- */

typedef struct _FpFootprintSet FpFootprintSet;

FpFootprintSet *fp_footprint_set_new(const FpFootprintPolicy *policy);
void fp_footprint_set_free(FpFootprintSet *set);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpFootprintSet, fp_footprint_set_free)

void fp_footprint_set_set_policy(FpFootprintSet *set, const FpFootprintPolicy *policy);
FpFootprint *fp_footprint_set_ensure(FpFootprintSet *set, const char *uuid, gboolean *created);
FpFootprint *fp_footprint_set_lookup(FpFootprintSet *set, const char *uuid);
gboolean fp_footprint_set_remove(FpFootprintSet *set, const char *uuid);
guint fp_footprint_set_size(FpFootprintSet *set);
GPtrArray *fp_footprint_set_list_uuids(FpFootprintSet *set);
gint64 fp_footprint_get_last_seen(const FpFootprint *fp);
void fp_footprint_set_touch(FpFootprintSet *set, const char *uuid, gint64 now_unix);
guint fp_footprint_set_forget(FpFootprintSet *set, gint64 now_unix, gint64 max_age_s, guint max_vms,
                              GPtrArray *forgotten);
char *fp_footprint_set_to_data(FpFootprintSet *set, gsize *len);
gboolean fp_footprint_set_save(FpFootprintSet *set, const char *path, GError **error);
gboolean fp_footprint_set_load(FpFootprintSet *set, const char *path, GPtrArray *skipped,
                               GError **error);
gboolean fp_footprint_set_load_data(FpFootprintSet *set, const char *data, gsize len,
                                    const char *origin, GPtrArray *skipped, GError **error);
char *fp_footprint_state_file_set_aside(const char *path, gint64 now_unix, GError **error);

G_END_DECLS
