/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * footprintd.conf as fp_config_load_file() hands it to the parser: the
 * bytes of the file, not NUL-terminated, with their length.  A failed load
 * must leave the configuration exactly as it was ("nothing of a failed load
 * is applied"), so that is checked too.
 */
#include "config.h"

#include "fp-config.h"
#include "fp-error.h"

static gboolean fp_fuzz_one(const guint8 *data, gsize size, GError **error);

#include "fuzz.h"

static gboolean same_config(const FpConfig *a, const FpConfig *b)
{
    const FpTuningConfig *x = &a->tuning, *y = &b->tuning;

    if (x->mode != y->mode || x->egress_rate_mbit != y->egress_rate_mbit ||
        x->ct_mark_mask != y->ct_mark_mask || x->fair_slots != y->fair_slots ||
        x->demoted_min_share != y->demoted_min_share ||
        x->demote_throughput_vms != y->demote_throughput_vms || x->hold_s != y->hold_s ||
        x->flow_idle_s != y->flow_idle_s ||
        x->max_changes_per_minute != y->max_changes_per_minute || x->max_flows != y->max_flows ||
        (x->egress == NULL) != (y->egress == NULL) ||
        (x->egress &&
         !g_strv_equal((const char *const *)x->egress, (const char *const *)y->egress)))
        return FALSE;
    return g_strcmp0(a->state_dir, b->state_dir) == 0 &&
           g_strcmp0(a->runtime_dir, b->runtime_dir) == 0 &&
           a->sweep_interval_ms == b->sweep_interval_ms && a->idle_timeout_s == b->idle_timeout_s &&
           a->backend == b->backend && a->elephant_bytes == b->elephant_bytes &&
           a->elephant_window_s == b->elephant_window_s &&
           a->flow_table_size == b->flow_table_size && a->ringbuf_size == b->ringbuf_size &&
           a->hook_priority == b->hook_priority && a->enable_acct == b->enable_acct &&
           g_strcmp0(a->libvirt_uri, b->libvirt_uri) == 0 &&
           a->forget_after_days == b->forget_after_days && a->save_interval_s == b->save_interval_s;
}

static gboolean fp_fuzz_one(const guint8 *data, gsize size, GError **error)
{
    g_autoptr(FpConfig) config = fp_config_new_default();
    g_autoptr(FpConfig) before = fp_config_new_default();
    gboolean ok;

    ok = fp_config_load_data(config, (const char *)data, size, "fuzz.conf", error);
    fp_fuzz_check_result("fp_config_load_data", ok, error ? *error : NULL);
    if (!ok && !same_config(config, before)) {
        fprintf(stderr, "fuzz: a failed load changed the configuration\n");
        abort();
    }
    if (ok) {
        /* What the daemon does next with a loaded config. */
        g_autoptr(FpConfig) copy = fp_config_dup(config);

        g_assert_true(same_config(copy, config));
        g_assert_nonnull(fp_mode_to_string(config->tuning.mode));
        g_assert_nonnull(fp_backend_to_string(config->backend));
    }
    return ok;
}
