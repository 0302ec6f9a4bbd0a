/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * footprint-model: per-VM network footprint, learned from per-interval
 * samples.
 *
 * Figures.  Every rate is a time-weighted EWMA with time constant
 * window_s: for a sample of length dt, alpha = 1 − e^(−dt/window).  Until a
 * full window has been observed the average is the plain mean of everything
 * seen (alpha = dt/observed), so a young model is not biased towards its
 * initial zeros.  The peak is the highest short-window (short_window_s)
 * rate, decaying with the long window; peak/mean says how bursty a VM is.
 *
 * Classes, in this order:
 *   idle        rx+tx < idle_bps and new flows/s < idle_flow_rate
 *   throughput  elephant byte share >= throughput_share, unless mice flows
 *               start at >= mixed_mice_rate (then mixed: both at once)
 *   latency     elephant byte share <= latency_share
 *   mixed       anything else
 *
 * Hysteresis, two kinds.  A threshold is crossed at its nominal value to
 * enter a class, but leaving the current class needs crossing it by a margin
 * (hysteresis_share on shares, ×(1 + hysteresis_ratio) on rates): slow drift
 * around a threshold does not flap.  And another class must win
 * switch_after evaluations in a row before the class changes: noise does
 * not flap either.  Nothing is classified before warmup_s of observation.
 *
 * Confidence = maturity × separation: maturity = 1 − e^(−observed/window)
 * (how much history backs the figures), separation = how deep inside the
 * class's region (nominal thresholds) the figures lie, 0.5 on a boundary,
 * 1 far inside, below 0.5 when hysteresis holds a class the figures have
 * already left.  A pinned class (the operator's override) is in effect with
 * confidence 1; learning goes on underneath and explain shows both.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "atomic-file.h"
#include "domain-xml.h"
#include "footprint-model.h"
#include "fp-cleanup.h"
#include "fp-error.h"
#include "xml-reader.h"

/* Limits of the metadata element parser (the input is at most 64 KiB). */
#define FP_FXML_MAX_ELEMENTS 64u
#define FP_FXML_MAX_ATTRIBUTES 256u
/* Largest accepted rate (bytes/s or flows/s) in untrusted input: 1 PB/s. */
#define FP_RATE_MAX 1e15
/* Longest accepted sample interval. */
#define FP_SAMPLE_MAX_US (G_GINT64_CONSTANT(24) * 3600 * G_USEC_PER_SEC)

static const char *const fp_class_names[FP_CLASS_COUNT] = {
    [FP_CLASS_UNKNOWN] = "unknown", [FP_CLASS_IDLE] = "idle",
    [FP_CLASS_LATENCY] = "latency", [FP_CLASS_THROUGHPUT] = "throughput",
    [FP_CLASS_MIXED] = "mixed",
};

struct _FpFootprint {
    FpFootprintPolicy policy;
    FpFootprintState st;
    guint64 samples;
    FpFootprintTotals totals;
    gint64 last_seen; /* Unix seconds the VM was last seen running, 0: not known */
};

struct _FpFootprintSet {
    FpFootprintPolicy policy;
    GHashTable *vms; /* uuid (owned) → FpFootprint (owned) */
};

/* Thresholds in effect for a VM currently in some class. */
typedef struct {
    double idle_bps;
    double idle_flow_rate;
    double throughput_share;
    double latency_share;
    double mixed_mice_rate;
} FpThresholds;

/* The figures a classification looks at. */
typedef struct {
    double total_bps;
    double share;
    double mice_rate;
    double new_flow_rate;
} FpFigures;

/* ---- classes ------------------------------------------------------------ */

/**
 * fp_class_to_string:
 * @klass: a class
 *
 * Returns: (transfer none): the class name used in the config, the
 * metadata, D-Bus and metrics: "unknown", "idle", "latency", "throughput"
 * or "mixed".
 */
const char *fp_class_to_string(FpClass klass)
{
    if ((guint)klass >= FP_CLASS_COUNT)
        return "unknown";
    return fp_class_names[klass];
}

/**
 * fp_class_from_string:
 * @s: a class name, exactly as fp_class_to_string() writes it
 * @out: (out): the class
 *
 * Returns: %TRUE when @s names a class.
 */
gboolean fp_class_from_string(const char *s, FpClass *out)
{
    if (s == NULL)
        return FALSE;
    for (guint i = 0; i < FP_CLASS_COUNT; i++) {
        if (strcmp(s, fp_class_names[i]) == 0) {
            *out = (FpClass)i;
            return TRUE;
        }
    }
    return FALSE;
}

/* ---- policy ------------------------------------------------------------- */

/**
 * fp_footprint_policy_init:
 * @policy: (out): the policy to fill
 *
 * Fills the defaults documented in footprintd.conf(5), [footprint].
 */
void fp_footprint_policy_init(FpFootprintPolicy *policy)
{
    *policy = (FpFootprintPolicy){
        .window_s = 60.0,
        .short_window_s = 5.0,
        .warmup_s = 20.0,
        .idle_bps = 8192.0,
        .idle_flow_rate = 0.2,
        .throughput_share = 0.7,
        .latency_share = 0.3,
        .mixed_mice_rate = 50.0,
        .hysteresis_share = 0.05,
        .hysteresis_ratio = 0.25,
        .switch_after = 5,
        .metadata_interval_s = 300.0,
        .metadata_confidence_step = 0.1,
    };
}

static gboolean fp_check_range(double v, double min, double max, const char *key, GError **error)
{
    if (!isfinite(v) || v < min || v > max) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID,
                    "footprint policy: %s = %g is out of range (%g..%g)", key, v, min, max);
        return FALSE;
    }
    return TRUE;
}

/**
 * fp_footprint_policy_check:
 * @policy: a policy
 * @error: return location for an #FP_ERROR_INVALID naming the key
 *
 * Checks every threshold against its range and the thresholds against each
 * other (the ranges are listed in footprintd.conf(5)).
 *
 * Returns: %TRUE when @policy is usable.
 */
gboolean fp_footprint_policy_check(const FpFootprintPolicy *policy, GError **error)
{
    const FpFootprintPolicy *p = policy;

    if (!fp_check_range(p->window_s, 1, 86400, "window", error) ||
        !fp_check_range(p->short_window_s, 0.1, 3600, "short_window", error) ||
        !fp_check_range(p->warmup_s, 0, 86400, "warmup", error) ||
        !fp_check_range(p->idle_bps, 1, 1e12, "idle_bps", error) ||
        !fp_check_range(p->idle_flow_rate, 0.001, 1e6, "idle_flow_rate", error) ||
        !fp_check_range(p->throughput_share, 0.01, 0.99, "throughput_share", error) ||
        !fp_check_range(p->latency_share, 0.01, 0.99, "latency_share", error) ||
        !fp_check_range(p->mixed_mice_rate, 0, 1e6, "mixed_mice_rate", error) ||
        !fp_check_range(p->hysteresis_share, 0, 0.5, "hysteresis_share", error) ||
        !fp_check_range(p->hysteresis_ratio, 0, 1, "hysteresis_ratio", error) ||
        !fp_check_range(p->switch_after, 1, FP_FOOTPRINT_PENDING_MAX, "switch_after", error) ||
        !fp_check_range(p->metadata_interval_s, 0, 86400, "metadata_interval", error) ||
        !fp_check_range(p->metadata_confidence_step, 0.01, 1, "metadata_confidence_step", error))
        return FALSE;
    if (p->short_window_s > p->window_s) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID,
                    "footprint policy: short_window (%g) must not exceed window (%g)",
                    p->short_window_s, p->window_s);
        return FALSE;
    }
    if (p->latency_share + p->hysteresis_share >= p->throughput_share) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID,
                    "footprint policy: latency_share (%g) + hysteresis_share (%g) must be below "
                    "throughput_share (%g)",
                    p->latency_share, p->hysteresis_share, p->throughput_share);
        return FALSE;
    }
    return TRUE;
}

/* ---- the model ---------------------------------------------------------- */

/**
 * fp_footprint_new:
 * @policy: (nullable): thresholds (copied), %NULL for the defaults
 *
 * Returns: (transfer full): a model that has seen nothing: class unknown,
 * confidence 0.
 */
FpFootprint *fp_footprint_new(const FpFootprintPolicy *policy)
{
    FpFootprint *fp = g_new0(FpFootprint, 1);

    if (policy != NULL)
        fp->policy = *policy;
    else
        fp_footprint_policy_init(&fp->policy);
    return fp;
}

/**
 * fp_footprint_free:
 * @fp: (nullable): a model
 */
void fp_footprint_free(FpFootprint *fp)
{
    g_free(fp);
}

static FpFigures fp_figures(const FpFootprintState *st)
{
    FpFigures f;

    f.total_bps = st->rx_bps + st->tx_bps;
    f.share = f.total_bps > 0 ? CLAMP(st->elephant_bps / f.total_bps, 0.0, 1.0) : 0.0;
    f.mice_rate = st->mice_rate;
    f.new_flow_rate = st->new_flow_rate;
    return f;
}

/* Nominal thresholds to enter a class; leaving @current needs a margin. */
static FpThresholds fp_thresholds(const FpFootprintPolicy *p, FpClass current)
{
    FpThresholds t = {
        .idle_bps = p->idle_bps,
        .idle_flow_rate = p->idle_flow_rate,
        .throughput_share = p->throughput_share,
        .latency_share = p->latency_share,
        .mixed_mice_rate = p->mixed_mice_rate,
    };
    double ratio = 1.0 + p->hysteresis_ratio;

    switch (current) {
    case FP_CLASS_IDLE:
        t.idle_bps *= ratio;
        t.idle_flow_rate *= ratio;
        break;
    case FP_CLASS_THROUGHPUT:
        t.throughput_share -= p->hysteresis_share;
        t.mixed_mice_rate *= ratio;
        break;
    case FP_CLASS_LATENCY:
        t.latency_share += p->hysteresis_share;
        break;
    case FP_CLASS_MIXED:
        /* Mixed entered through the mice rate is left below it by a margin. */
        t.mixed_mice_rate /= ratio;
        break;
    case FP_CLASS_UNKNOWN:
        break;
    }
    return t;
}

static FpClass fp_classify(const FpFigures *f, const FpThresholds *t)
{
    if (f->total_bps < t->idle_bps && f->new_flow_rate < t->idle_flow_rate)
        return FP_CLASS_IDLE;
    if (f->share >= t->throughput_share) {
        if (t->mixed_mice_rate > 0 && f->mice_rate >= t->mixed_mice_rate)
            return FP_CLASS_MIXED;
        return FP_CLASS_THROUGHPUT;
    }
    if (f->share <= t->latency_share)
        return FP_CLASS_LATENCY;
    return FP_CLASS_MIXED;
}

/* 0.5 on a boundary, 1 when @v (distance into the region, normalized) ≥ 1. */
static double fp_depth(double v)
{
    return 0.5 + 0.5 * CLAMP(v, -1.0, 1.0);
}

static double fp_separation(FpClass klass, const FpFigures *f, const FpFootprintPolicy *p)
{
    double mid = (p->latency_share + p->throughput_share) / 2;
    double half = (p->throughput_share - p->latency_share) / 2;
    double mice = 1.0, band;

    switch (klass) {
    case FP_CLASS_IDLE:
        return MIN(fp_depth((p->idle_bps - f->total_bps) / p->idle_bps),
                   fp_depth((p->idle_flow_rate - f->new_flow_rate) / p->idle_flow_rate));
    case FP_CLASS_THROUGHPUT:
        if (p->mixed_mice_rate > 0)
            mice = fp_depth((p->mixed_mice_rate - f->mice_rate) / p->mixed_mice_rate);
        return MIN(fp_depth((f->share - p->throughput_share) / (1 - p->throughput_share)), mice);
    case FP_CLASS_LATENCY:
        return fp_depth((p->latency_share - f->share) / p->latency_share);
    case FP_CLASS_MIXED:
        band = fp_depth((half - fabs(f->share - mid)) / half);
        if (f->share >= p->throughput_share && p->mixed_mice_rate > 0)
            band = MAX(band, fp_depth((f->mice_rate - p->mixed_mice_rate) / p->mixed_mice_rate));
        return band;
    case FP_CLASS_UNKNOWN:
        break;
    }
    return 0.0;
}

static double fp_maturity(const FpFootprint *fp)
{
    return -expm1(-fp->st.observed_s / fp->policy.window_s);
}

static void fp_update_confidence(FpFootprint *fp)
{
    FpFigures f = fp_figures(&fp->st);

    if (fp->st.learned == FP_CLASS_UNKNOWN) {
        fp->st.confidence = 0.0;
        return;
    }
    fp->st.confidence =
        CLAMP(fp_maturity(fp) * fp_separation(fp->st.learned, &f, &fp->policy), 0.0, 1.0);
}

/**
 * fp_footprint_set_policy:
 * @fp: a model
 * @policy: new thresholds (copied), already checked
 *
 * Applies new thresholds (configuration reload).  The figures are kept; the
 * class follows at the next evaluations, with hysteresis as usual.
 */
void fp_footprint_set_policy(FpFootprint *fp, const FpFootprintPolicy *policy)
{
    fp->policy = *policy;
    fp_update_confidence(fp);
}

/* See the top of the file: a plain mean until a window has been observed. */
static double fp_alpha(double dt, double tau, double observed)
{
    if (observed + dt < tau)
        return dt / (observed + dt);
    return -expm1(-dt / tau);
}

static void fp_ewma(double *avg, double x, double alpha)
{
    *avg += alpha * (x - *avg);
}

static void fp_evaluate(FpFootprint *fp)
{
    FpFootprintState *st = &fp->st;
    FpFigures f = fp_figures(st);
    FpThresholds t = fp_thresholds(&fp->policy, st->learned);
    FpClass raw = fp_classify(&f, &t);

    if (raw == st->learned) {
        st->pending = FP_CLASS_UNKNOWN;
        st->pending_count = 0;
    } else if (raw == st->pending) {
        /* Saturates: in a long warm-up the count would grow without bound,
         * and switch_after is at most this. */
        if (st->pending_count < FP_FOOTPRINT_PENDING_MAX)
            st->pending_count++;
    } else {
        st->pending = raw;
        st->pending_count = 1;
    }
    if (st->observed_s >= fp->policy.warmup_s && st->pending != FP_CLASS_UNKNOWN &&
        st->pending_count >= fp->policy.switch_after) {
        st->learned = st->pending;
        st->pending = FP_CLASS_UNKNOWN;
        st->pending_count = 0;
    }
    fp_update_confidence(fp);
}

/**
 * fp_footprint_feed:
 * @fp: a model
 * @sample: what the VM did during one interval
 * @error: return location for an #FP_ERROR_INVALID
 *
 * Folds @sample into the figures and evaluates the class once.  Bytes of
 * elephant flows beyond the interval's total are counted as the total.
 *
 * Returns: %FALSE, with the model unchanged, when the interval length is
 * not in 1 µs..24 h.
 */
gboolean fp_footprint_feed(FpFootprint *fp, const FpFootprintSample *sample, GError **error)
{
    FpFootprintState *st = &fp->st;
    double dt, a, as, decay, total;

    g_return_val_if_fail(fp != NULL && sample != NULL, FALSE);

    if (sample->interval_us <= 0 || sample->interval_us > FP_SAMPLE_MAX_US) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID,
                    "footprint sample: interval of %" G_GINT64_FORMAT " µs is out of range",
                    sample->interval_us);
        return FALSE;
    }
    dt = (double)sample->interval_us / G_USEC_PER_SEC;
    a = fp_alpha(dt, fp->policy.window_s, st->observed_s);
    as = fp_alpha(dt, fp->policy.short_window_s, st->observed_s);
    total = (double)sample->rx_bytes + (double)sample->tx_bytes;

    fp_ewma(&st->rx_bps, (double)sample->rx_bytes / dt, a);
    fp_ewma(&st->tx_bps, (double)sample->tx_bytes / dt, a);
    fp_ewma(&st->elephant_bps, MIN((double)sample->elephant_bytes, total) / dt, a);
    fp_ewma(&st->elephants, sample->elephant_flows, a);
    fp_ewma(&st->active_flows, sample->active_flows, a);
    fp_ewma(&st->mice_rate, sample->mice_started / dt, a);
    fp_ewma(&st->mice_end_rate, sample->mice_ended / dt, a);
    fp_ewma(&st->new_flow_rate, sample->new_flows / dt, a);
    fp_ewma(&st->short_bps, total / dt, as);
    decay = exp(-dt / fp->policy.window_s);
    st->peak_bps = MAX(st->short_bps, st->peak_bps * decay);
    st->observed_s += dt;

    fp->samples++;
    fp->totals.rx_bytes += sample->rx_bytes;
    fp->totals.tx_bytes += sample->tx_bytes;
    fp->totals.flows += sample->new_flows;
    fp->totals.mice_started += sample->mice_started;
    fp->totals.mice_ended += sample->mice_ended;
    fp->totals.active_flows = sample->active_flows;
    fp->totals.elephant_flows = sample->elephant_flows;

    fp_evaluate(fp);
    return TRUE;
}

/**
 * fp_footprint_get_class:
 * @fp: a model
 *
 * Returns: the class in effect: the pinned class when there is one, the
 * learned class otherwise.
 */
FpClass fp_footprint_get_class(const FpFootprint *fp)
{
    return fp->st.pinned != FP_CLASS_UNKNOWN ? fp->st.pinned : fp->st.learned;
}

/**
 * fp_footprint_get_learned_class:
 * @fp: a model
 *
 * Returns: the learned class, whatever the pin.
 */
FpClass fp_footprint_get_learned_class(const FpFootprint *fp)
{
    return fp->st.learned;
}

/**
 * fp_footprint_get_confidence:
 * @fp: a model
 *
 * Returns: the confidence in fp_footprint_get_class(), 0..1: 1 when pinned.
 */
double fp_footprint_get_confidence(const FpFootprint *fp)
{
    return fp->st.pinned != FP_CLASS_UNKNOWN ? 1.0 : fp->st.confidence;
}

/**
 * fp_footprint_set_pinned:
 * @fp: a model
 * @pinned: the operator's class, %FP_CLASS_UNKNOWN to unpin
 *
 * Pins a class: it is in effect until unpinned, whatever is learned.
 */
void fp_footprint_set_pinned(FpFootprint *fp, FpClass pinned)
{
    g_return_if_fail((guint)pinned < FP_CLASS_COUNT);
    fp->st.pinned = pinned;
}

/**
 * fp_footprint_get_pinned:
 * @fp: a model
 *
 * Returns: the pinned class, %FP_CLASS_UNKNOWN when not pinned.
 */
FpClass fp_footprint_get_pinned(const FpFootprint *fp)
{
    return fp->st.pinned;
}

/**
 * fp_footprint_get_state:
 * @fp: a model
 * @state: (out): what the model remembers
 */
void fp_footprint_get_state(const FpFootprint *fp, FpFootprintState *state)
{
    *state = fp->st;
}

static gboolean fp_check_value(double v, double max, const char *name, GError **error)
{
    if (!isfinite(v) || v < 0 || v > max) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "%s = %g is out of range (0..%g)", name, v,
                    max);
        return FALSE;
    }
    return TRUE;
}

/**
 * fp_footprint_state_check:
 * @state: a state from untrusted input
 * @error: return location for an #FP_ERROR_INVALID naming the field
 *
 * Returns: %TRUE when every field of @state is in range.
 */
gboolean fp_footprint_state_check(const FpFootprintState *state, GError **error)
{
    const FpFootprintState *s = state;

    if ((guint)s->learned >= FP_CLASS_COUNT || (guint)s->pinned >= FP_CLASS_COUNT ||
        (guint)s->pending >= FP_CLASS_COUNT) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "class out of range");
        return FALSE;
    }
    return fp_check_value(s->confidence, 1, "confidence", error) &&
           fp_check_value(s->rx_bps, FP_RATE_MAX, "rx_bps", error) &&
           fp_check_value(s->tx_bps, FP_RATE_MAX, "tx_bps", error) &&
           fp_check_value(s->elephant_bps, FP_RATE_MAX, "elephant_bps", error) &&
           fp_check_value(s->elephants, FP_RATE_MAX, "elephants", error) &&
           fp_check_value(s->active_flows, FP_RATE_MAX, "active_flows", error) &&
           fp_check_value(s->mice_rate, FP_RATE_MAX, "mice_rate", error) &&
           fp_check_value(s->mice_end_rate, FP_RATE_MAX, "mice_end_rate", error) &&
           fp_check_value(s->new_flow_rate, FP_RATE_MAX, "new_flow_rate", error) &&
           fp_check_value(s->short_bps, FP_RATE_MAX, "short_bps", error) &&
           fp_check_value(s->peak_bps, FP_RATE_MAX, "peak_bps", error) &&
           fp_check_value(s->observed_s, 1e10, "observed_s", error);
}

/**
 * fp_footprint_set_state:
 * @fp: a model
 * @state: a remembered state (state file, metadata element)
 * @error: return location for an #FP_ERROR_INVALID
 *
 * Restores @state as the model's prior.  The confidence is recomputed from
 * the figures under the current policy.
 *
 * Returns: %FALSE, with the model unchanged, when @state is out of range.
 */
gboolean fp_footprint_set_state(FpFootprint *fp, const FpFootprintState *state, GError **error)
{
    if (!fp_footprint_state_check(state, error))
        return FALSE;
    fp->st = *state;
    /* A count without a class pending (or for the class already learnt)
     * means nothing, and the writers do not write it. */
    if (fp->st.pending == fp->st.learned || fp->st.pending == FP_CLASS_UNKNOWN) {
        fp->st.pending = FP_CLASS_UNKNOWN;
        fp->st.pending_count = 0;
    }
    fp_update_confidence(fp);
    return TRUE;
}

/**
 * fp_footprint_get_totals:
 * @fp: a model
 * @totals: (out): counters since the model was created
 */
void fp_footprint_get_totals(const FpFootprint *fp, FpFootprintTotals *totals)
{
    *totals = fp->totals;
}

/**
 * fp_footprint_explain:
 * @fp: a model
 * @explain: (out): the figures and thresholds behind its class
 */
void fp_footprint_explain(const FpFootprint *fp, FpFootprintExplain *explain)
{
    FpFigures f = fp_figures(&fp->st);
    FpThresholds t = fp_thresholds(&fp->policy, fp->st.learned);
    FpFootprintExplain *e = explain;

    memset(e, 0, sizeof(*e));
    e->klass = fp_footprint_get_class(fp);
    e->learned = fp->st.learned;
    e->pinned = fp->st.pinned;
    e->candidate = fp_classify(&f, &t);
    e->pending = fp->st.pending;
    e->pending_count = fp->st.pending_count;
    e->confidence = fp_footprint_get_confidence(fp);
    e->learned_confidence = fp->st.confidence;
    e->maturity = fp_maturity(fp);
    e->separation = fp_separation(fp->st.learned, &f, &fp->policy);
    e->warm = fp->st.observed_s >= fp->policy.warmup_s;
    e->rx_bps = fp->st.rx_bps;
    e->tx_bps = fp->st.tx_bps;
    e->total_bps = f.total_bps;
    e->elephants = fp->st.elephants;
    e->elephant_share = f.share;
    e->mice_rate = f.mice_rate;
    e->new_flow_rate = f.new_flow_rate;
    e->peak_bps = fp->st.peak_bps;
    e->peak_ratio = f.total_bps > 0 ? fp->st.peak_bps / f.total_bps : 0.0;
    e->observed_s = fp->st.observed_s;
    e->samples = fp->samples;
    e->idle_bps = t.idle_bps;
    e->idle_flow_rate = t.idle_flow_rate;
    e->throughput_share = t.throughput_share;
    e->latency_share = t.latency_share;
    e->mixed_mice_rate = t.mixed_mice_rate;
    e->policy = fp->policy;
}

/* One line: why the figures alone give e->candidate. */
static char *fp_explain_reason(const FpFootprintExplain *e)
{
    gboolean mice_on = e->mixed_mice_rate > 0;

    switch (e->candidate) {
    case FP_CLASS_IDLE:
        return g_strdup_printf("rx+tx %.0f B/s < %.0f B/s and new flows %.3g/s < %.3g/s",
                               e->total_bps, e->idle_bps, e->new_flow_rate, e->idle_flow_rate);
    case FP_CLASS_THROUGHPUT:
        return g_strdup_printf("elephant share %.3f >= %.3f%s", e->elephant_share,
                               e->throughput_share,
                               mice_on ? " and mice flows below the mixed rate" : "");
    case FP_CLASS_LATENCY:
        return g_strdup_printf("elephant share %.3f <= %.3f", e->elephant_share, e->latency_share);
    case FP_CLASS_MIXED:
        if (e->elephant_share >= e->throughput_share)
            return g_strdup_printf("elephant share %.3f >= %.3f but mice flows start at "
                                   "%.3g/s >= %.3g/s",
                                   e->elephant_share, e->throughput_share, e->mice_rate,
                                   e->mixed_mice_rate);
        return g_strdup_printf("elephant share %.3f between %.3f and %.3f", e->elephant_share,
                               e->latency_share, e->throughput_share);
    case FP_CLASS_UNKNOWN:
        break;
    }
    return g_strdup("no figures");
}

/**
 * fp_footprint_explain_to_text:
 * @explain: an explanation
 *
 * Returns: (transfer full): a few lines for people (footprintctl explain).
 */
char *fp_footprint_explain_to_text(const FpFootprintExplain *explain)
{
    const FpFootprintExplain *e = explain;
    g_autofree char *reason = fp_explain_reason(e);
    GString *s = g_string_new(NULL);

    g_string_append_printf(s, "class        %s", fp_class_to_string(e->klass));
    if (e->pinned != FP_CLASS_UNKNOWN)
        g_string_append_printf(s, " (pinned by the operator; learned: %s, confidence %.2f)\n",
                               fp_class_to_string(e->learned), e->learned_confidence);
    else
        g_string_append_printf(s, " (learned)\n");
    g_string_append_printf(s, "confidence   %.2f = maturity %.2f x separation %.2f%s\n",
                           e->learned_confidence, e->maturity, e->separation,
                           e->warm ? "" : " (warming up)");
    g_string_append_printf(s, "now          %s: %s\n", fp_class_to_string(e->candidate), reason);
    if (e->pending != FP_CLASS_UNKNOWN)
        g_string_append_printf(s, "switching    to %s after %u of %u evaluations in a row\n",
                               fp_class_to_string(e->pending), e->pending_count,
                               e->policy.switch_after);
    g_string_append_printf(
        s, "figures      (EWMA over %gs, observed %.0fs, %" G_GUINT64_FORMAT " samples)\n",
        e->policy.window_s, e->observed_s, e->samples);
    g_string_append_printf(s, "  rx %.0f B/s, tx %.0f B/s, peak %.0f B/s (%.2fx mean)\n", e->rx_bps,
                           e->tx_bps, e->peak_bps, e->peak_ratio);
    g_string_append_printf(s, "  elephants %.2f, elephant byte share %.3f\n", e->elephants,
                           e->elephant_share);
    g_string_append_printf(s, "  mice flows %.3g/s, new flows %.3g/s\n", e->mice_rate,
                           e->new_flow_rate);
    g_string_append_printf(s, "thresholds   (in effect for %s; nominal in brackets)\n",
                           fp_class_to_string(e->learned));
    g_string_append_printf(
        s, "  idle       rx+tx < %.0f B/s [%.0f] and new flows < %.3g/s [%.3g]\n", e->idle_bps,
        e->policy.idle_bps, e->idle_flow_rate, e->policy.idle_flow_rate);
    g_string_append_printf(s, "  throughput elephant share >= %.3f [%.3f]", e->throughput_share,
                           e->policy.throughput_share);
    if (e->mixed_mice_rate > 0)
        g_string_append_printf(s, " and mice < %.3g/s [%.3g]", e->mixed_mice_rate,
                               e->policy.mixed_mice_rate);
    g_string_append_printf(s, "\n  latency    elephant share <= %.3f [%.3f]\n", e->latency_share,
                           e->policy.latency_share);
    g_string_append_printf(s,
                           "  mixed      otherwise; a new class must win %u evaluations in a "
                           "row\n",
                           e->policy.switch_after);
    return g_string_free(s, FALSE);
}

/**
 * fp_footprint_explain_to_variant:
 * @explain: an explanation
 *
 * The explanation as a D-Bus a{sv} with stable field names (the
 * `footprintctl explain --json` contract): strings "class", "learned",
 * "pinned" ("" when none), "candidate", "pending" ("" when none), "reason";
 * "pending_count", "switch_after" (u); "samples" (t); "warm" (b); doubles
 * "confidence", "learned_confidence", "maturity", "separation", "rx_bps",
 * "tx_bps", "total_bps", "elephants", "elephant_share", "mice_rate",
 * "new_flow_rate", "peak_bps", "peak_ratio", "observed_s", "window_s",
 * "idle_bps", "idle_flow_rate", "throughput_share", "latency_share",
 * "mixed_mice_rate" (in effect) and the same five prefixed with
 * "nominal_".
 *
 * Returns: (transfer floating): an a{sv}.
 */
GVariant *fp_footprint_explain_to_variant(const FpFootprintExplain *explain)
{
    const FpFootprintExplain *e = explain;
    g_autofree char *reason = fp_explain_reason(e);
    GVariantBuilder b;
    const struct {
        const char *key;
        double value;
    } doubles[] = {
        {"confidence", e->confidence},
        {"learned_confidence", e->learned_confidence},
        {"maturity", e->maturity},
        {"separation", e->separation},
        {"rx_bps", e->rx_bps},
        {"tx_bps", e->tx_bps},
        {"total_bps", e->total_bps},
        {"elephants", e->elephants},
        {"elephant_share", e->elephant_share},
        {"mice_rate", e->mice_rate},
        {"new_flow_rate", e->new_flow_rate},
        {"peak_bps", e->peak_bps},
        {"peak_ratio", e->peak_ratio},
        {"observed_s", e->observed_s},
        {"window_s", e->policy.window_s},
        {"idle_bps", e->idle_bps},
        {"idle_flow_rate", e->idle_flow_rate},
        {"throughput_share", e->throughput_share},
        {"latency_share", e->latency_share},
        {"mixed_mice_rate", e->mixed_mice_rate},
        {"nominal_idle_bps", e->policy.idle_bps},
        {"nominal_idle_flow_rate", e->policy.idle_flow_rate},
        {"nominal_throughput_share", e->policy.throughput_share},
        {"nominal_latency_share", e->policy.latency_share},
        {"nominal_mixed_mice_rate", e->policy.mixed_mice_rate},
    };

    g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
    g_variant_builder_add(&b, "{sv}", "class", g_variant_new_string(fp_class_to_string(e->klass)));
    g_variant_builder_add(&b, "{sv}", "learned",
                          g_variant_new_string(fp_class_to_string(e->learned)));
    g_variant_builder_add(
        &b, "{sv}", "pinned",
        g_variant_new_string(e->pinned != FP_CLASS_UNKNOWN ? fp_class_to_string(e->pinned) : ""));
    g_variant_builder_add(&b, "{sv}", "candidate",
                          g_variant_new_string(fp_class_to_string(e->candidate)));
    g_variant_builder_add(
        &b, "{sv}", "pending",
        g_variant_new_string(e->pending != FP_CLASS_UNKNOWN ? fp_class_to_string(e->pending) : ""));
    g_variant_builder_add(&b, "{sv}", "reason", g_variant_new_string(reason));
    g_variant_builder_add(&b, "{sv}", "pending_count", g_variant_new_uint32(e->pending_count));
    g_variant_builder_add(&b, "{sv}", "switch_after", g_variant_new_uint32(e->policy.switch_after));
    g_variant_builder_add(&b, "{sv}", "samples", g_variant_new_uint64(e->samples));
    g_variant_builder_add(&b, "{sv}", "warm", g_variant_new_boolean(e->warm));
    for (guint i = 0; i < G_N_ELEMENTS(doubles); i++)
        g_variant_builder_add(&b, "{sv}", doubles[i].key, g_variant_new_double(doubles[i].value));
    return g_variant_builder_end(&b);
}

/**
 * fp_footprint_metadata_due:
 * @written: (nullable): the state last written to libvirt, %NULL if never
 * @now: the current state
 * @seconds_since_write: time since that write
 * @policy: thresholds (metadata_interval_s, metadata_confidence_step)
 *
 * Whether the libvirt metadata element should be written now: at once when
 * the class in effect or the pin changed (hysteresis already limits how
 * often), else when the confidence moved by metadata_confidence_step and
 * metadata_interval_s has passed.
 *
 * Returns: %TRUE when a write is due.
 */
gboolean fp_footprint_metadata_due(const FpFootprintState *written, const FpFootprintState *now,
                                   double seconds_since_write, const FpFootprintPolicy *policy)
{
    if (written == NULL)
        return TRUE;
    if (written->learned != now->learned || written->pinned != now->pinned)
        return TRUE;
    return fabs(now->confidence - written->confidence) >= policy->metadata_confidence_step &&
           seconds_since_write >= policy->metadata_interval_s;
}

/* ---- what a writer may write -------------------------------------------- */

/* The figures of a state, with their largest value in a file (state file,
 * metadata element). */
static const struct {
    const char *key;
    gsize offset;
    double max;
} fp_state_doubles[] = {
    {"confidence", G_STRUCT_OFFSET(FpFootprintState, confidence), 1},
    {"rx_bps", G_STRUCT_OFFSET(FpFootprintState, rx_bps), FP_RATE_MAX},
    {"tx_bps", G_STRUCT_OFFSET(FpFootprintState, tx_bps), FP_RATE_MAX},
    {"elephant_bps", G_STRUCT_OFFSET(FpFootprintState, elephant_bps), FP_RATE_MAX},
    {"elephants", G_STRUCT_OFFSET(FpFootprintState, elephants), FP_RATE_MAX},
    {"active_flows", G_STRUCT_OFFSET(FpFootprintState, active_flows), FP_RATE_MAX},
    {"mice_rate", G_STRUCT_OFFSET(FpFootprintState, mice_rate), FP_RATE_MAX},
    {"mice_end_rate", G_STRUCT_OFFSET(FpFootprintState, mice_end_rate), FP_RATE_MAX},
    {"new_flow_rate", G_STRUCT_OFFSET(FpFootprintState, new_flow_rate), FP_RATE_MAX},
    {"short_bps", G_STRUCT_OFFSET(FpFootprintState, short_bps), FP_RATE_MAX},
    {"peak_bps", G_STRUCT_OFFSET(FpFootprintState, peak_bps), FP_RATE_MAX},
    {"observed_s", G_STRUCT_OFFSET(FpFootprintState, observed_s), 1e10},
};

/*
 * What the writers (state file, metadata element) write: every figure in
 * the range the readers accept.  A model fed extreme samples (a tiny
 * interval, a counter jump) can go beyond it; a file its own reader
 * refuses would lose the VM's footprint at the next start.
 */
static void fp_state_saturate(FpFootprintState *st)
{
    for (guint k = 0; k < G_N_ELEMENTS(fp_state_doubles); k++) {
        double *v = &G_STRUCT_MEMBER(double, st, fp_state_doubles[k].offset);

        if (isnan(*v) || *v < 0)
            *v = 0;
        else if (*v > fp_state_doubles[k].max)
            *v = fp_state_doubles[k].max;
    }
    st->pending_count = MIN(st->pending_count, FP_FOOTPRINT_PENDING_MAX);
}

/* ---- libvirt metadata element ------------------------------------------- */

static void fp_xml_set_double(xmlNode *node, const char *name, double v)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];

    /* Six significant digits: a summary for people and a prior, not a dump. */
    g_ascii_formatd(buf, sizeof(buf), "%.6g", v);
    xmlSetProp(node, BAD_CAST name, BAD_CAST buf);
}

/**
 * fp_footprint_state_to_xml:
 * @state: a state
 * @updated_unix: when it was learned, Unix seconds; 0 to leave it out
 *
 * The libvirt metadata element (figures saturated to what
 * fp_footprint_state_from_xml() accepts): an unprefixed `<footprint>` in namespace
 * %FP_FOOTPRINT_MODEL_XMLNS with attributes version, class, confidence,
 * rx_bps, tx_bps, elephants, elephant_share, mice_rate, new_flow_rate,
 * peak_bps, observed_s, updated (ISO 8601, UTC) and, when pinned, pinned.
 * libxml2 escapes every value.  For virDomainSetMetadata() with
 * key %FP_FOOTPRINT_MODEL_XML_KEY and uri %FP_FOOTPRINT_MODEL_XMLNS.
 *
 * Returns: (transfer full): the element, one line, or %NULL when out of
 * memory.
 */
char *fp_footprint_state_to_xml(const FpFootprintState *state, gint64 updated_unix)
{
    g_autoptr(xmlDoc) doc = xmlNewDoc(BAD_CAST "1.0");
    FpFootprintState st = *state;
    FpFigures f;
    xmlNode *root;
    xmlNs *ns;
    xmlBuffer *buf;
    char *ret = NULL;

    fp_state_saturate(&st);
    f = fp_figures(&st);
    if (doc == NULL)
        return NULL;
    root = xmlNewDocNode(doc, NULL, BAD_CAST "footprint", NULL);
    if (root == NULL)
        return NULL;
    xmlDocSetRootElement(doc, root);
    ns = xmlNewNs(root, BAD_CAST FP_FOOTPRINT_MODEL_XMLNS, NULL);
    xmlSetNs(root, ns);
    xmlSetProp(root, BAD_CAST "version", BAD_CAST G_STRINGIFY(FP_FOOTPRINT_FORMAT_VERSION));
    xmlSetProp(root, BAD_CAST "class", BAD_CAST fp_class_to_string(st.learned));
    if (st.pinned != FP_CLASS_UNKNOWN)
        xmlSetProp(root, BAD_CAST "pinned", BAD_CAST fp_class_to_string(st.pinned));
    fp_xml_set_double(root, "confidence", st.confidence);
    fp_xml_set_double(root, "rx_bps", st.rx_bps);
    fp_xml_set_double(root, "tx_bps", st.tx_bps);
    fp_xml_set_double(root, "elephants", st.elephants);
    fp_xml_set_double(root, "elephant_share", f.share);
    fp_xml_set_double(root, "mice_rate", st.mice_rate);
    fp_xml_set_double(root, "new_flow_rate", st.new_flow_rate);
    fp_xml_set_double(root, "peak_bps", st.peak_bps);
    fp_xml_set_double(root, "observed_s", st.observed_s);
    if (updated_unix > 0) {
        g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(updated_unix);
        g_autofree char *iso = dt != NULL ? g_date_time_format_iso8601(dt) : NULL;

        if (iso != NULL)
            xmlSetProp(root, BAD_CAST "updated", BAD_CAST iso);
    }
    buf = xmlBufferCreate();
    if (buf == NULL)
        return NULL;
    if (xmlNodeDump(buf, doc, root, 0, 0) >= 0)
        ret = g_strndup((const char *)xmlBufferContent(buf), (gsize)xmlBufferLength(buf));
    xmlBufferFree(buf);
    return ret;
}

/* Bounds of the metadata element (the input is at most 64 KiB). */
static const FpXmlLimits fp_fxml_limits = {
    .max_elements = FP_FXML_MAX_ELEMENTS,
    .max_attributes = FP_FXML_MAX_ATTRIBUTES,
    .max_element_attributes = FP_FXML_MAX_ATTRIBUTES,
    .max_namespace_decls = FP_FXML_MAX_ATTRIBUTES,
};

static gboolean fp_parse_double(const char *text, double max, double *out)
{
    char *end = NULL;
    double v;

    if (text == NULL || *text == '\0' || g_ascii_isspace(*text))
        return FALSE;
    errno = 0;
    v = g_ascii_strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !isfinite(v) || v < 0 || v > max)
        return FALSE;
    *out = v;
    return TRUE;
}

#define fp_fxml_error_set(error, origin, ...)                                                      \
    fp_error_set_about(error, FP_ERROR_INVALID, "footprint metadata of", origin, __VA_ARGS__)

/**
 * fp_footprint_pinned_attribute:
 * @xml: (nullable): a domain's footprint element, as the inventory read it
 * @name: the domain's name, for messages
 * @error: return location for why the element could not be read
 *
 * The older way's pin: the pinned attribute of our own element.
 *
 * Returns: the pin, %FP_CLASS_UNKNOWN when none (or unreadable, @error set)
 */
FpClass fp_footprint_pinned_attribute(const char *xml, const char *name, GError **error)
{
    FpFootprintState st;
    g_autofree char *origin = NULL;

    if (xml == NULL)
        return FP_CLASS_UNKNOWN;
    origin = g_strdup_printf("domain '%s' metadata", name);
    if (!fp_footprint_state_from_xml(xml, strlen(xml), origin, &st, NULL, error))
        return FP_CLASS_UNKNOWN;
    return st.pinned;
}

/**
 * fp_footprint_pin_from_xml:
 * @xml: the operator's pin element, as libvirt returns it (untrusted)
 * @len: its length in bytes
 * @origin: (nullable): what it is, for messages (e.g. "domain 'web' metadata")
 * @pin: (out): the pinned class
 * @error: return location for an #FP_ERROR_INVALID
 *
 * Reads `<pin class="CLASS"/>` in %FP_FOOTPRINT_PIN_XMLNS: the operator's
 * own element, which footprintd never writes, so that no write of its own
 * (which may wait 30 s for the domain's job) can overwrite a pin.
 *
 * Returns: %TRUE with @pin one of idle, latency, throughput, mixed
 */
gboolean fp_footprint_pin_from_xml(const char *xml, gsize len, const char *origin, FpClass *pin,
                                   GError **error)
{
    g_autoptr(xmlDoc) doc = NULL;
    g_autofree char *why = NULL;
    g_autofree char *value = NULL;
    xmlNode *root;

    if (xml == NULL || len == 0 || len > FP_FOOTPRINT_XML_MAX_SIZE) {
        fp_fxml_error_set(error, origin,
                          "pin: size %" G_GSIZE_FORMAT " is out of range (1..%u bytes)", len,
                          FP_FOOTPRINT_XML_MAX_SIZE);
        return FALSE;
    }
    doc = fp_xml_read_untrusted(xml, len, &fp_fxml_limits, &why);
    if (doc == NULL) {
        fp_fxml_error_set(error, origin, "pin: %s", why);
        return FALSE;
    }
    root = xmlDocGetRootElement(doc);
    if (root == NULL || !xmlStrEqual(root->name, BAD_CAST FP_FOOTPRINT_PIN_XML_KEY) ||
        root->ns == NULL || !xmlStrEqual(root->ns->href, BAD_CAST FP_FOOTPRINT_PIN_XMLNS)) {
        fp_fxml_error_set(error, origin, "not a <pin> element in namespace %s",
                          FP_FOOTPRINT_PIN_XMLNS);
        return FALSE;
    }
    value = (char *)xmlGetNoNsProp(root, BAD_CAST "class");
    if (value == NULL || !fp_class_from_string(value, pin) || *pin == FP_CLASS_UNKNOWN) {
        g_autofree char *p = fp_text_sanitize(value ? value : "", 64);

        fp_fxml_error_set(error, origin,
                          "invalid pin class '%s' (expected idle, latency, throughput or mixed)",
                          p);
        return FALSE;
    }
    return TRUE;
}

/**
 * fp_footprint_state_from_xml:
 * @xml: the element (as libvirt returns it); need not be NUL-terminated
 * @len: length of @xml in bytes
 * @origin: (nullable): whose metadata, for messages (a domain name)
 * @state: (out): the state it describes; fields it lacks are zero
 * @updated_unix: (out) (optional): its "updated" time, 0 when absent
 * @error: return location for an #FP_ERROR_INVALID
 *
 * Parses a `<footprint>` element in namespace %FP_FOOTPRINT_MODEL_XMLNS,
 * with or without a prefix.  The input is untrusted (whoever may edit the
 * domain's metadata wrote it): at most %FP_FOOTPRINT_XML_MAX_SIZE bytes of
 * UTF-8, no DOCTYPE, no entities, no network, bounded elements and
 * attributes.  Every attribute is optional, so an operator may write just
 * `<footprint xmlns="..." pinned="latency"/>`; a version above
 * %FP_FOOTPRINT_FORMAT_VERSION, an unknown class or an out-of-range number
 * fails the whole element.  Unknown attributes and child elements are
 * ignored (forward compatibility).
 *
 * Returns: %TRUE on success.
 */
gboolean fp_footprint_state_from_xml(const char *xml, gsize len, const char *origin,
                                     FpFootprintState *state, gint64 *updated_unix, GError **error)
{
    g_autoptr(xmlDoc) doc = NULL;
    FpFootprintState st = {0};
    double share = 0;
    gint64 updated = 0;
    g_autofree char *why = NULL;
    xmlNode *root;
    const struct {
        const char *name;
        double *value;
        double max;
    } numbers[] = {
        {"confidence", &st.confidence, 1},
        {"rx_bps", &st.rx_bps, FP_RATE_MAX},
        {"tx_bps", &st.tx_bps, FP_RATE_MAX},
        {"elephants", &st.elephants, FP_RATE_MAX},
        {"elephant_share", &share, 1},
        {"mice_rate", &st.mice_rate, FP_RATE_MAX},
        {"new_flow_rate", &st.new_flow_rate, FP_RATE_MAX},
        {"peak_bps", &st.peak_bps, FP_RATE_MAX},
        {"observed_s", &st.observed_s, 1e10},
    };

    g_return_val_if_fail(xml != NULL || len == 0, FALSE);
    g_return_val_if_fail(state != NULL, FALSE);

    if (len == 0 || len > FP_FOOTPRINT_XML_MAX_SIZE) {
        fp_fxml_error_set(error, origin, "size %" G_GSIZE_FORMAT " is out of range (1..%u bytes)",
                          len, FP_FOOTPRINT_XML_MAX_SIZE);
        return FALSE;
    }
    doc = fp_xml_read_untrusted(xml, len, &fp_fxml_limits, &why);
    if (doc == NULL) {
        fp_fxml_error_set(error, origin, "%s", why);
        return FALSE;
    }
    /* libxml2 refuses invalid UTF-8 already (the reader ignores encoding
     * declarations); this fails closed should that ever change. */
    if (!g_utf8_validate_len(xml, len, NULL)) {
        fp_fxml_error_set(error, origin, "not valid UTF-8");
        return FALSE;
    }
    root = xmlDocGetRootElement(doc);
    if (root == NULL || !xmlStrEqual(root->name, BAD_CAST FP_FOOTPRINT_MODEL_XML_KEY) ||
        root->ns == NULL || !xmlStrEqual(root->ns->href, BAD_CAST FP_FOOTPRINT_MODEL_XMLNS)) {
        fp_fxml_error_set(error, origin, "not a <footprint> element in namespace %s",
                          FP_FOOTPRINT_MODEL_XMLNS);
        return FALSE;
    }

    for (xmlAttr *a = root->properties; a != NULL; a = a->next) {
        g_autofree char *value = NULL;
        const char *name = (const char *)a->name;

        /* Attributes in another namespace belong to someone else. */
        if (a->ns != NULL)
            continue;
        value = (char *)xmlNodeGetContent((xmlNode *)a);
        if (value == NULL)
            value = g_strdup("");

        if (strcmp(name, "version") == 0) {
            guint64 v = 0;

            if (!g_ascii_string_to_unsigned(value, 10, 1, G_MAXINT, &v, NULL)) {
                g_autofree char *p = fp_text_sanitize(value, 64);

                fp_fxml_error_set(error, origin, "invalid version '%s'", p);
                return FALSE;
            }
            if (v > FP_FOOTPRINT_FORMAT_VERSION) {
                fp_fxml_error_set(error, origin,
                                  "version %" G_GUINT64_FORMAT " is newer than this footprintd "
                                  "understands (%d)",
                                  v, FP_FOOTPRINT_FORMAT_VERSION);
                return FALSE;
            }
            continue;
        }
        if (strcmp(name, "class") == 0 || strcmp(name, "pinned") == 0) {
            gboolean pinned = name[0] == 'p';
            FpClass k;

            if (!fp_class_from_string(value, &k) || (pinned && k == FP_CLASS_UNKNOWN)) {
                g_autofree char *p = fp_text_sanitize(value, 64);

                fp_fxml_error_set(error, origin,
                                  "invalid %s '%s' (expected idle, latency, throughput or "
                                  "mixed)",
                                  name, p);
                return FALSE;
            }
            *(pinned ? &st.pinned : &st.learned) = k;
            continue;
        }
        if (strcmp(name, "updated") == 0) {
            g_autoptr(GTimeZone) utc = g_time_zone_new_utc();
            g_autoptr(GDateTime) dt = g_date_time_new_from_iso8601(value, utc);

            if (dt == NULL || g_date_time_to_unix(dt) <= 0) {
                g_autofree char *p = fp_text_sanitize(value, 64);

                fp_fxml_error_set(error, origin, "invalid updated time '%s'", p);
                return FALSE;
            }
            updated = g_date_time_to_unix(dt);
            continue;
        }
        for (guint i = 0; i < G_N_ELEMENTS(numbers); i++) {
            if (strcmp(name, numbers[i].name) != 0)
                continue;
            if (!fp_parse_double(value, numbers[i].max, numbers[i].value)) {
                g_autofree char *p = fp_text_sanitize(value, 64);

                fp_fxml_error_set(error, origin, "invalid %s '%s' (a number in 0..%g)", name, p,
                                  numbers[i].max);
                return FALSE;
            }
        }
        /* Unknown attributes are ignored. */
    }
    st.elephant_bps = share * (st.rx_bps + st.tx_bps);
    st.short_bps = st.rx_bps + st.tx_bps;

    *state = st;
    if (updated_unix != NULL)
        *updated_unix = updated;
    return TRUE;
}

/* ---- all VMs ------------------------------------------------------------ */

/* The canonical form domain-xml.c produces: lowercase, with dashes. */
static gboolean fp_uuid_is_canonical(const char *uuid)
{
    if (uuid == NULL || strlen(uuid) != 36 || !g_uuid_string_is_valid(uuid))
        return FALSE;
    for (const char *p = uuid; *p != '\0'; p++)
        if (g_ascii_isupper(*p))
            return FALSE;
    return TRUE;
}

/**
 * fp_footprint_set_new:
 * @policy: (nullable): thresholds for every model (copied), %NULL for the
 *     defaults
 *
 * Returns: (transfer full): an empty set of per-VM models, keyed by uuid.
 */
FpFootprintSet *fp_footprint_set_new(const FpFootprintPolicy *policy)
{
    FpFootprintSet *set = g_new0(FpFootprintSet, 1);

    if (policy != NULL)
        set->policy = *policy;
    else
        fp_footprint_policy_init(&set->policy);
    set->vms =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)fp_footprint_free);
    return set;
}

/**
 * fp_footprint_set_free:
 * @set: (nullable): a set
 */
void fp_footprint_set_free(FpFootprintSet *set)
{
    if (set == NULL)
        return;
    g_hash_table_unref(set->vms);
    g_free(set);
}

/**
 * fp_footprint_set_set_policy:
 * @set: a set
 * @policy: new thresholds (copied), already checked
 *
 * Applies new thresholds to every model (configuration reload).
 */
void fp_footprint_set_set_policy(FpFootprintSet *set, const FpFootprintPolicy *policy)
{
    GHashTableIter it;
    gpointer value;

    set->policy = *policy;
    g_hash_table_iter_init(&it, set->vms);
    while (g_hash_table_iter_next(&it, NULL, &value))
        fp_footprint_set_policy(value, policy);
}

/**
 * fp_footprint_set_ensure:
 * @set: a set
 * @uuid: a domain uuid, canonical lowercase form
 * @created: (out) (optional): whether the model was created now
 *
 * Returns: (transfer none) (nullable): the VM's model, created empty when
 * missing; %NULL when @uuid is not a canonical uuid.
 */
FpFootprint *fp_footprint_set_ensure(FpFootprintSet *set, const char *uuid, gboolean *created)
{
    FpFootprint *fp;

    if (created != NULL)
        *created = FALSE;
    if (!fp_uuid_is_canonical(uuid))
        return NULL;
    fp = g_hash_table_lookup(set->vms, uuid);
    if (fp != NULL)
        return fp;
    fp = fp_footprint_new(&set->policy);
    g_hash_table_insert(set->vms, g_strdup(uuid), fp);
    if (created != NULL)
        *created = TRUE;
    return fp;
}

/**
 * fp_footprint_set_lookup:
 * @set: a set
 * @uuid: a domain uuid
 *
 * Returns: (transfer none) (nullable): the VM's model, or %NULL.
 */
FpFootprint *fp_footprint_set_lookup(FpFootprintSet *set, const char *uuid)
{
    return uuid != NULL ? g_hash_table_lookup(set->vms, uuid) : NULL;
}

/**
 * fp_footprint_set_remove:
 * @set: a set
 * @uuid: a domain uuid
 *
 * Forgets a VM (undefined, or migrated away).
 *
 * Returns: %TRUE when it was known.
 */
gboolean fp_footprint_set_remove(FpFootprintSet *set, const char *uuid)
{
    return uuid != NULL && g_hash_table_remove(set->vms, uuid);
}

/**
 * fp_footprint_set_size:
 * @set: a set
 *
 * Returns: the number of VMs.
 */
guint fp_footprint_set_size(FpFootprintSet *set)
{
    return g_hash_table_size(set->vms);
}

static gint fp_strcmp_ptr(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/**
 * fp_footprint_set_list_uuids:
 * @set: a set
 *
 * Returns: (transfer container) (element-type utf8): the VMs' uuids,
 * sorted; the strings belong to @set.
 */
GPtrArray *fp_footprint_set_list_uuids(FpFootprintSet *set)
{
    GPtrArray *out = g_ptr_array_new();
    GHashTableIter it;
    gpointer key;

    g_hash_table_iter_init(&it, set->vms);
    while (g_hash_table_iter_next(&it, &key, NULL))
        g_ptr_array_add(out, key);
    g_ptr_array_sort(out, fp_strcmp_ptr);
    return out;
}

/* ---- the state file ----------------------------------------------------- */

#define FP_STATE_GROUP "footprintd"
#define FP_STATE_VM_PREFIX "vm "
/* Largest accepted last_seen: far beyond any clock, far below overflow. */
#define FP_STATE_LAST_SEEN_MAX (G_GINT64_CONSTANT(1) << 40)

/**
 * fp_footprint_set_touch:
 * @set: a set
 * @uuid: a VM seen running now
 * @now_unix: the time, Unix seconds
 *
 * Records that the VM was seen running (fp_footprint_set_forget() keeps
 * the VMs seen lately).  An unknown @uuid is ignored.
 */
void fp_footprint_set_touch(FpFootprintSet *set, const char *uuid, gint64 now_unix)
{
    FpFootprint *fp = fp_footprint_set_lookup(set, uuid);

    if (fp != NULL)
        fp->last_seen = CLAMP(now_unix, 1, FP_STATE_LAST_SEEN_MAX);
}

typedef struct {
    const char *uuid;
    gint64 last_seen;
} FpSeen;

/* Oldest first; the uuid breaks ties, so that the order is stable. */
static gint fp_seen_cmp(gconstpointer a, gconstpointer b)
{
    const FpSeen *x = a, *y = b;

    if (x->last_seen != y->last_seen)
        return x->last_seen < y->last_seen ? -1 : 1;
    return strcmp(x->uuid, y->uuid);
}

static guint fp_set_bound(FpFootprintSet *set, gint64 now_unix, gint64 max_age_s, guint max_vms,
                          gboolean unknown_is_now, GPtrArray *forgotten);

/**
 * fp_footprint_get_last_seen:
 * @fp: a model
 *
 * Returns: when its VM was last seen running (fp_footprint_set_touch()),
 * Unix seconds; 0 when not known
 */
gint64 fp_footprint_get_last_seen(const FpFootprint *fp)
{
    return fp->last_seen;
}

/**
 * fp_footprint_set_forget:
 * @set: a set
 * @now_unix: the time, Unix seconds
 * @max_age_s: VMs not seen for longer than this are forgotten
 * @max_vms: at most this many VMs are kept: the ones seen last
 * @forgotten: (element-type utf8) (nullable): receives one line per VM
 *     forgotten (add a free function to the array)
 *
 * Bounds the set: a host sees VMs come and go for years, and a model of a
 * VM that never comes back is of no use.  A VM whose last sighting is not
 * known (a state file written before footprintd kept it) counts as seen
 * now.
 *
 * Returns: how many VMs were forgotten
 */
guint fp_footprint_set_forget(FpFootprintSet *set, gint64 now_unix, gint64 max_age_s, guint max_vms,
                              GPtrArray *forgotten)
{
    return fp_set_bound(set, now_unix, max_age_s, max_vms, TRUE, forgotten);
}

/* fp_footprint_set_forget(); @unknown_is_now: a VM never seen counts as
 * seen now (and is recorded so), else as the oldest. */
static guint fp_set_bound(FpFootprintSet *set, gint64 now_unix, gint64 max_age_s, guint max_vms,
                          gboolean unknown_is_now, GPtrArray *forgotten)
{
    g_autoptr(GArray) seen = g_array_new(FALSE, FALSE, sizeof(FpSeen));
    g_autoptr(GPtrArray) drop = g_ptr_array_new_with_free_func(g_free);
    GHashTableIter it;
    gpointer key, value;

    g_hash_table_iter_init(&it, set->vms);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        FpFootprint *fp = value;
        FpSeen e = {key, fp->last_seen};

        if (fp->last_seen == 0 && unknown_is_now) {
            fp->last_seen = CLAMP(now_unix, 1, FP_STATE_LAST_SEEN_MAX);
            e.last_seen = fp->last_seen;
        }
        g_array_append_val(seen, e);
    }
    g_array_sort(seen, fp_seen_cmp);
    for (guint i = 0; i < seen->len; i++) {
        const FpSeen *e = &g_array_index(seen, FpSeen, i);
        gint64 age = now_unix - e->last_seen;
        char *why = NULL;

        if (e->last_seen > 0 && age > max_age_s)
            why = g_strdup_printf("VM %s: not seen for %" G_GINT64_FORMAT
                                  " days: its footprint is forgotten",
                                  e->uuid, age / 86400);
        else if (seen->len - i > max_vms)
            why = g_strdup_printf("VM %s: seen longest ago of %u VMs, over the bound of %u: its "
                                  "footprint is forgotten",
                                  e->uuid, seen->len, max_vms);
        if (why == NULL)
            continue;
        g_ptr_array_add(drop, g_strdup(e->uuid));
        if (forgotten != NULL)
            g_ptr_array_add(forgotten, why);
        else
            g_free(why);
    }
    for (guint i = 0; i < drop->len; i++)
        g_hash_table_remove(set->vms, g_ptr_array_index(drop, i));
    return drop->len;
}

/**
 * fp_footprint_set_to_data:
 * @set: a set
 * @len: (out): the text's length
 *
 * The state file's text: a GKeyFile, group [footprintd] with format=1,
 * one group [vm UUID] per VM.  What is written is what
 * fp_footprint_set_load_data() accepts: figures are saturated to the
 * loader's bounds.
 *
 * Returns: (transfer full): the text
 */
char *fp_footprint_set_to_data(FpFootprintSet *set, gsize *len)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autoptr(GPtrArray) uuids = fp_footprint_set_list_uuids(set);

    g_key_file_set_comment(kf, NULL, NULL,
                           " footprintd: learnt per-VM network footprints. Written by footprintd;"
                           "\n do not edit while it runs (pin a class in the libvirt metadata).",
                           NULL);
    g_key_file_set_integer(kf, FP_STATE_GROUP, "format", FP_FOOTPRINT_FORMAT_VERSION);
    for (guint i = 0; i < uuids->len; i++) {
        const char *uuid = g_ptr_array_index(uuids, i);
        FpFootprint *fp = g_hash_table_lookup(set->vms, uuid);
        g_autofree char *group = g_strconcat(FP_STATE_VM_PREFIX, uuid, NULL);
        FpFootprintState st = fp->st;

        fp_state_saturate(&st);
        g_key_file_set_string(kf, group, "learned", fp_class_to_string(st.learned));
        if (st.pinned != FP_CLASS_UNKNOWN)
            g_key_file_set_string(kf, group, "pinned", fp_class_to_string(st.pinned));
        if (st.pending != FP_CLASS_UNKNOWN) {
            g_key_file_set_string(kf, group, "pending", fp_class_to_string(st.pending));
            g_key_file_set_uint64(kf, group, "pending_count", st.pending_count);
        }
        for (guint k = 0; k < G_N_ELEMENTS(fp_state_doubles); k++)
            g_key_file_set_double(kf, group, fp_state_doubles[k].key,
                                  G_STRUCT_MEMBER(double, &st, fp_state_doubles[k].offset));
        if (fp->last_seen > 0)
            g_key_file_set_int64(kf, group, "last_seen", fp->last_seen);
    }
    return g_key_file_to_data(kf, len, NULL);
}

/**
 * fp_footprint_set_save:
 * @set: a set
 * @path: the state file, e.g. STATE_DIR/footprints; its directory must exist
 * @error: return location for an #FP_ERROR_IO
 *
 * Writes fp_footprint_set_to_data() atomically (atomic-file.h): a
 * temporary file in the same directory, fsync, rename.  A crash or a full
 * disk leaves the old file or the new one, never a mix.
 *
 * Returns: %TRUE on success.
 */
gboolean fp_footprint_set_save(FpFootprintSet *set, const char *path, GError **error)
{
    gsize len = 0;
    g_autofree char *data = fp_footprint_set_to_data(set, &len);

    return fp_atomic_file_write(path, "footprint state", data, len, 0644, FP_ATOMIC_FILE_DURABLE,
                                error);
}

/*
 * Reads a regular file of at most FP_FOOTPRINT_STATE_MAX_SIZE bytes.  Opened
 * non-blocking so a FIFO planted at @path cannot hang the main loop.
 * Returns -errno, -EFBIG when too large, -EINVAL when not a regular file.
 */
static int fp_read_state_file(const char *path, char **out, gsize *out_len)
{
    g_autofree char *buf = NULL;
    struct stat stbuf;
    gsize len = 0;
    int fd, r = 0;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return -errno;
    if (fstat(fd, &stbuf) < 0)
        r = -errno;
    else if (!S_ISREG(stbuf.st_mode))
        r = -EINVAL;
    else if (stbuf.st_size > (off_t)FP_FOOTPRINT_STATE_MAX_SIZE)
        r = -EFBIG;
    if (r < 0) {
        close(fd);
        return r;
    }
    /* The size may change under us: read with the bound, not st_size. */
    buf = g_malloc(FP_FOOTPRINT_STATE_MAX_SIZE + 1);
    while (len <= FP_FOOTPRINT_STATE_MAX_SIZE) {
        ssize_t n = read(fd, buf + len, FP_FOOTPRINT_STATE_MAX_SIZE + 1 - len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = -errno;
            break;
        }
        if (n == 0)
            break;
        len += (gsize)n;
    }
    close(fd);
    if (r < 0)
        return r;
    if (len > FP_FOOTPRINT_STATE_MAX_SIZE)
        return -EFBIG;
    buf[len] = '\0';
    *out = g_steal_pointer(&buf);
    *out_len = len;
    return 0;
}

static gboolean fp_load_class(GKeyFile *kf, const char *group, const char *key, FpClass *out,
                              GError **error)
{
    g_autofree char *s = NULL;

    if (!g_key_file_has_key(kf, group, key, NULL)) {
        *out = FP_CLASS_UNKNOWN;
        return TRUE;
    }
    s = g_key_file_get_string(kf, group, key, NULL);
    if (!fp_class_from_string(s, out)) {
        g_autofree char *p = fp_text_sanitize(s != NULL ? s : "", 64);

        g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "%s: invalid class '%s'", key, p);
        return FALSE;
    }
    return TRUE;
}

/* A figure of the state file: a finite number >= 0.  One above @max is
 * taken as @max (what the writer saturates to; older agents did not). */
static gboolean fp_load_double(const char *text, double max, double *out)
{
    char *end = NULL;
    double v;

    if (*text == '\0' || g_ascii_isspace(*text))
        return FALSE;
    /* An underflow is a number close to 0; an overflow is infinite. */
    v = g_ascii_strtod(text, &end);
    if (end == text || *end != '\0' || !isfinite(v) || v < 0)
        return FALSE;
    *out = MIN(v, max);
    return TRUE;
}

static gboolean fp_load_vm(GKeyFile *kf, const char *group, FpFootprintState *st, gint64 *last_seen,
                           GError **error)
{
    memset(st, 0, sizeof(*st));
    *last_seen = 0;
    if (!fp_load_class(kf, group, "learned", &st->learned, error) ||
        !fp_load_class(kf, group, "pinned", &st->pinned, error) ||
        !fp_load_class(kf, group, "pending", &st->pending, error))
        return FALSE;
    if (g_key_file_has_key(kf, group, "pending_count", NULL)) {
        g_autofree char *text = g_key_file_get_value(kf, group, "pending_count", NULL);
        guint64 n = 0;

        /* Older agents let it grow during a long warm-up: saturate. */
        if (text == NULL || !g_ascii_string_to_unsigned(text, 10, 0, G_MAXUINT64, &n, NULL)) {
            g_autofree char *p = fp_text_sanitize(text != NULL ? text : "", 64);

            g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "pending_count: invalid value '%s'", p);
            return FALSE;
        }
        st->pending_count = (guint)MIN(n, FP_FOOTPRINT_PENDING_MAX);
    }
    for (guint k = 0; k < G_N_ELEMENTS(fp_state_doubles); k++) {
        const char *key = fp_state_doubles[k].key;
        g_autofree char *text = g_key_file_get_value(kf, group, key, NULL);
        double v = 0;

        if (text == NULL)
            continue; /* absent: 0, as in a model that saw nothing */
        if (!fp_load_double(text, fp_state_doubles[k].max, &v)) {
            g_autofree char *p = fp_text_sanitize(text, 64);

            g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "%s: invalid value '%s'", key, p);
            return FALSE;
        }
        G_STRUCT_MEMBER(double, st, fp_state_doubles[k].offset) = v;
    }
    if (g_key_file_has_key(kf, group, "last_seen", NULL)) {
        g_autofree char *text = g_key_file_get_value(kf, group, "last_seen", NULL);

        if (text == NULL ||
            !g_ascii_string_to_signed(text, 10, 1, FP_STATE_LAST_SEEN_MAX, last_seen, NULL)) {
            g_autofree char *p = fp_text_sanitize(text != NULL ? text : "", 64);

            g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "last_seen: invalid value '%s'", p);
            return FALSE;
        }
    }
    return fp_footprint_state_check(st, error);
}

/* The file as a whole: a key file of a format we know.  Entries that are
 * wrong are skipped, each noted in @skipped; the others go to @vms. */
static gboolean fp_load_keyfile(FpFootprintSet *set, GKeyFile *kf, GHashTable *vms,
                                GPtrArray *skipped, GError **error)
{
    g_auto(GStrv) groups = NULL;
    g_autoptr(GError) local = NULL;
    gint64 format;

    if (!g_key_file_has_group(kf, FP_STATE_GROUP)) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "no [" FP_STATE_GROUP "] group");
        return FALSE;
    }
    format = g_key_file_get_int64(kf, FP_STATE_GROUP, "format", &local);
    if (local != NULL || format < 1) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "missing or invalid format");
        return FALSE;
    }
    if (format > FP_FOOTPRINT_FORMAT_VERSION) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID,
                    "format %" G_GINT64_FORMAT " is newer than this footprintd understands (%d)",
                    format, FP_FOOTPRINT_FORMAT_VERSION);
        return FALSE;
    }
    groups = g_key_file_get_groups(kf, NULL);
    for (guint i = 0; groups[i] != NULL; i++) {
        const char *group = groups[i];
        const char *uuid;
        FpFootprintState st;
        FpFootprint *fp;
        gint64 last_seen;

        g_clear_error(&local);
        if (strcmp(group, FP_STATE_GROUP) == 0)
            continue;
        if (!g_str_has_prefix(group, FP_STATE_VM_PREFIX) ||
            !fp_uuid_is_canonical(group + strlen(FP_STATE_VM_PREFIX))) {
            g_autofree char *p = fp_text_sanitize(group, 64);

            g_ptr_array_add(skipped, g_strdup_printf("unexpected group [%s]: ignored", p));
            continue;
        }
        uuid = group + strlen(FP_STATE_VM_PREFIX);
        fp = fp_footprint_new(&set->policy);
        if (!fp_load_vm(kf, group, &st, &last_seen, &local) ||
            !fp_footprint_set_state(fp, &st, &local)) {
            g_ptr_array_add(skipped, g_strdup_printf("VM %s: %s: its footprint is dropped", uuid,
                                                     local->message));
            fp_footprint_free(fp);
            continue;
        }
        fp->last_seen = last_seen;
        g_hash_table_replace(vms, g_strdup(uuid), fp);
    }
    return TRUE;
}

/**
 * fp_footprint_set_load_data:
 * @set: a set
 * @data: the state file's contents
 * @len: their length
 * @origin: the file's name, for messages
 * @skipped: (element-type utf8) (nullable): receives one line per entry
 *     of the file that was skipped (add a free function to the array)
 * @error: return location for an #FP_ERROR_INVALID
 *
 * Like fp_footprint_set_load(), from memory.
 */
gboolean fp_footprint_set_load_data(FpFootprintSet *set, const char *data, gsize len,
                                    const char *origin, GPtrArray *skipped, GError **error)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autoptr(GHashTable) vms = NULL;
    g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) local = NULL;
    g_autofree char *where = fp_text_sanitize(origin != NULL ? origin : "(memory)", 256);
    GHashTableIter it;
    gpointer key, value;

    if (len > FP_FOOTPRINT_STATE_MAX_SIZE) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "footprint state '%s': too large", where);
        return FALSE;
    }
    if (!g_utf8_validate_len(data, len, NULL)) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "footprint state '%s': not valid UTF-8",
                    where);
        return FALSE;
    }
    if (!g_key_file_load_from_data(kf, data, len, G_KEY_FILE_NONE, &local)) {
        g_autofree char *p = fp_text_sanitize(local->message, 200);

        g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "footprint state '%s': %s", where, p);
        return FALSE;
    }
    vms = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)fp_footprint_free);
    if (!fp_load_keyfile(set, kf, vms, notes, &local)) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "footprint state '%s': %s", where,
                    local->message);
        return FALSE;
    }
    g_hash_table_iter_init(&it, vms);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        g_hash_table_iter_steal(&it);
        g_hash_table_replace(set->vms, key, value);
    }
    /* The writer never writes more; keep the ones seen last. */
    if (g_hash_table_size(set->vms) > FP_FOOTPRINT_STATE_MAX_VMS)
        fp_set_bound(set, 0, G_MAXINT64, FP_FOOTPRINT_STATE_MAX_VMS, FALSE, notes);
    for (guint i = 0; skipped != NULL && i < notes->len; i++)
        g_ptr_array_add(skipped, g_strdup_printf("footprint state '%s': %s", where,
                                                 (const char *)g_ptr_array_index(notes, i)));
    return TRUE;
}

/**
 * fp_footprint_set_load:
 * @set: a set
 * @path: the state file written by fp_footprint_set_save()
 * @skipped: (element-type utf8) (nullable): receives one line per entry
 *     of the file that was skipped (add a free function to the array)
 * @error: return location for an #FP_ERROR
 *
 * Replaces the models of the VMs in the file with their saved state (VMs
 * not in the file are kept).  A file that cannot be used as a whole (it
 * cannot be read, is too large, not UTF-8, not a key file, of a wrong or
 * newer format) changes nothing and fails with one line naming the file
 * and the problem.  A bad entry (a bad class or number, an unexpected
 * group) loses that VM only: it is skipped and noted in @skipped, the
 * others are loaded.  A figure above its bound (an older agent wrote it)
 * is taken as the bound.
 *
 * Returns: %TRUE on success; %FALSE with #FP_ERROR_NOT_FOUND when the file
 * does not exist (first start), #FP_ERROR_INVALID when it is corrupt,
 * #FP_ERROR_IO when it cannot be read.
 */
gboolean fp_footprint_set_load(FpFootprintSet *set, const char *path, GPtrArray *skipped,
                               GError **error)
{
    g_autofree char *data = NULL;
    g_autofree char *where = fp_text_sanitize(path, 256);
    gsize len = 0;
    int r;

    r = fp_read_state_file(path, &data, &len);
    if (r < 0) {
        g_set_error(error, FP_ERROR, r == -ENOENT ? FP_ERROR_NOT_FOUND : FP_ERROR_IO,
                    "footprint state '%s': %s", where,
                    r == -EFBIG    ? "too large"
                    : r == -EINVAL ? "not a regular file"
                                   : g_strerror(-r));
        return FALSE;
    }
    return fp_footprint_set_load_data(set, data, len, path, skipped, error);
}

/**
 * fp_footprint_state_file_set_aside:
 * @path: a state file that cannot be used
 * @now_unix: the time, Unix seconds, for the new name
 * @error: return location for an #FP_ERROR_IO
 *
 * Renames @path to PATH.bad-YYYYmmddTHHMMSSZ (a number is added if that
 * exists), so that the next save does not overwrite what may still be
 * recovered by hand.
 *
 * Returns: (transfer full) (nullable): the new name, or %NULL
 */
char *fp_footprint_state_file_set_aside(const char *path, gint64 now_unix, GError **error)
{
    g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(now_unix);
    g_autofree char *stamp = dt != NULL ? g_date_time_format(dt, "%Y%m%dT%H%M%SZ") : NULL;

    for (guint n = 0; n < 100; n++) {
        g_autofree char *aside =
            n == 0 ? g_strdup_printf("%s.bad-%s", path, stamp != NULL ? stamp : "unknown")
                   : g_strdup_printf("%s.bad-%s.%u", path, stamp != NULL ? stamp : "unknown", n);

        if (g_file_test(aside, G_FILE_TEST_EXISTS | G_FILE_TEST_IS_SYMLINK))
            continue;
        if (rename(path, aside) < 0) {
            int saved = errno;
            g_autofree char *where = fp_text_sanitize(path, 256);

            g_set_error(error, FP_ERROR, FP_ERROR_IO,
                        "footprint state '%s': cannot move it aside: %s", where, g_strerror(saved));
            return NULL;
        }
        return g_steal_pointer(&aside);
    }
    g_set_error(error, FP_ERROR, FP_ERROR_IO, "footprint state '%s': too many files set aside",
                path);
    return NULL;
}
