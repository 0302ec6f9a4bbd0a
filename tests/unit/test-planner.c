/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Tests for tuning/planner.c.
 *
 * Fixture tests in the style of libvirt's: every
 * $FP_TEST_DATA_DIR/planner/NAME.in describes a host (VMs with their class
 * and interfaces, egress devices, watched elephant flows, the config) and
 * steps in time, each of which may change it; the planner runs once per
 * step with the previous step's plan, and the plans as text are compared
 * with NAME.out, whole.  FP_TEST_REGENERATE=1 rewrites the .out files from
 * the current output: review every diff by hand.
 *
 * NAME.in is a key file:
 *   [tuning], [sense]  config groups, as in footprintd.conf
 *   [vm NAME]    uuid=, class=, interfaces=TAP:IFINDEX,... , absent=true (not
 *                running until a step says vm.NAME=new)
 *   [device NAME] ifindex=, speed_mbit=, root=KIND HANDLE (e.g. "noqueue 0:",
 *                "htb 1:", "ours"), children_default=true
 *   [flow NAME]  tuple=, in=ORIG,REPLY, out=ORIG,REPLY (ifindexes; absent:
 *                devices unknown), bytes=ORIG,REPLY, rate_bps=, elephant_at=S,
 *                quiet_since=S (0: moving)
 *   [step S]     at S seconds: keys vm.NAME.class=, vm.NAME=gone|new,
 *                flow.NAME.rate_bps=, flow.NAME.quiet_since=, flow.NAME=ended|new,
 *                device.NAME.root=, device.NAME.speed_mbit=
 */
#include "config.h"

#include <string.h>

#include <glib.h>

#include "fp-error.h"
#include "planner.h"
#include "test-fixtures.h"

/* ---- the fixture's host ------------------------------------------------- */

typedef struct {
    char *name;
    char *uuid;
    FpClass klass;
    char **targets;
    guint32 *ifindex;
    guint n;
    gboolean present;
} FxVm;

typedef struct {
    char *name;
    FpPlanFlow flow;
    gboolean present;
} FxFlow;

typedef struct {
    GKeyFile *kf;
    FpConfig *config;
    GPtrArray *vms;     /* FxVm */
    GPtrArray *flows;   /* FxFlow */
    GPtrArray *devices; /* FpEgressDevice */
} FxHost;

static void fx_vm_free(gpointer data)
{
    FxVm *v = data;

    g_free(v->name);
    g_free(v->uuid);
    g_strfreev(v->targets);
    g_free(v->ifindex);
    g_free(v);
}

static void fx_flow_free(gpointer data)
{
    FxFlow *f = data;

    g_free(f->name);
    g_free(f);
}

static void fx_host_free(FxHost *h)
{
    g_key_file_unref(h->kf);
    fp_config_free(h->config);
    g_ptr_array_unref(h->vms);
    g_ptr_array_unref(h->flows);
    g_ptr_array_unref(h->devices);
    g_free(h);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FxHost, fx_host_free)

static gint64 seconds_us(const char *text)
{
    return (gint64)(g_ascii_strtod(text, NULL) * 1e6);
}

static void parse_pair(const char *text, guint64 out[2])
{
    g_auto(GStrv) p = g_strsplit(text, ",", 2);

    g_assert_cmpuint(g_strv_length(p), ==, 2);
    out[0] = g_ascii_strtoull(p[0], NULL, 10);
    out[1] = g_ascii_strtoull(p[1], NULL, 10);
}

static void parse_root(FpEgressDevice *d, const char *text)
{
    g_auto(GStrv) w = g_strsplit(text, " ", 2);

    g_free(d->root_kind);
    d->root_ours = g_str_equal(text, "ours");
    d->root_kind = g_strdup(d->root_ours ? "htb" : w[0]);
    d->root_handle =
        d->root_ours ? 0xfd000000U : (guint32)g_ascii_strtoull(w[1] ? w[1] : "0", NULL, 16) << 16;
}

static void set_flow_key(FxFlow *f, const char *key, const char *value)
{
    guint64 pair[2];

    if (g_str_equal(key, "tuple")) {
        g_autoptr(GError) error = NULL;

        g_assert_true(fp_flow_key_parse(value, &f->flow.key, &error));
    } else if (g_str_equal(key, "in") || g_str_equal(key, "out")) {
        guint32 *dst = g_str_equal(key, "in") ? f->flow.in_ifindex : f->flow.out_ifindex;

        parse_pair(value, pair);
        dst[0] = (guint32)pair[0];
        dst[1] = (guint32)pair[1];
        f->flow.has_devices = TRUE;
    } else if (g_str_equal(key, "bytes")) {
        parse_pair(value, f->flow.bytes);
    } else if (g_str_equal(key, "rate_bps")) {
        f->flow.rate_bps = g_ascii_strtod(value, NULL);
    } else if (g_str_equal(key, "elephant_at")) {
        f->flow.elephant_us = seconds_us(value);
    } else if (g_str_equal(key, "quiet_since")) {
        f->flow.quiet_since_us = seconds_us(value);
    } else {
        g_error("unknown flow key '%s'", key);
    }
}

static void set_device_key(FpEgressDevice *d, const char *key, const char *value)
{
    if (g_str_equal(key, "ifindex"))
        d->ifindex = (guint32)g_ascii_strtoull(value, NULL, 10);
    else if (g_str_equal(key, "speed_mbit"))
        d->speed_mbit = g_ascii_strtoull(value, NULL, 10);
    else if (g_str_equal(key, "root"))
        parse_root(d, value);
    else if (g_str_equal(key, "children_default"))
        d->children_default = g_str_equal(value, "true");
    else
        g_error("unknown device key '%s'", key);
}

static void set_vm_key(FxVm *v, const char *key, const char *value)
{
    if (g_str_equal(key, "uuid")) {
        g_free(v->uuid);
        v->uuid = g_strdup(value);
    } else if (g_str_equal(key, "class")) {
        g_assert_true(fp_class_from_string(value, &v->klass));
    } else if (g_str_equal(key, "absent")) {
        v->present = !g_str_equal(value, "true");
    } else if (g_str_equal(key, "interfaces")) {
        g_auto(GStrv) nics = g_strsplit(value, ",", -1);

        v->n = g_strv_length(nics);
        v->targets = g_new0(char *, v->n + 1);
        v->ifindex = g_new0(guint32, v->n + 1);
        for (guint i = 0; i < v->n; i++) {
            g_auto(GStrv) p = g_strsplit(g_strstrip(nics[i]), ":", 2);

            v->targets[i] = g_strdup(p[0]);
            v->ifindex[i] = p[1] ? (guint32)g_ascii_strtoull(p[1], NULL, 10) : 0;
        }
    } else {
        g_error("unknown vm key '%s'", key);
    }
}

static FxHost *fx_host_load(const char *path)
{
    g_autoptr(FxHost) h = g_new0(FxHost, 1);
    g_autoptr(GError) error = NULL;
    g_auto(GStrv) groups = NULL;
    g_autoptr(GString) conf = g_string_new(NULL);

    h->kf = g_key_file_new();
    h->config = fp_config_new_default();
    h->vms = g_ptr_array_new_with_free_func(fx_vm_free);
    h->flows = g_ptr_array_new_with_free_func(fx_flow_free);
    h->devices = g_ptr_array_new_with_free_func((GDestroyNotify)fp_egress_device_free);
    if (!g_key_file_load_from_file(h->kf, path, G_KEY_FILE_NONE, &error))
        g_error("%s: %s", path, error->message);
    groups = g_key_file_get_groups(h->kf, NULL);
    for (guint g = 0; groups[g]; g++) {
        const char *group = groups[g];
        g_auto(GStrv) keys = g_key_file_get_keys(h->kf, group, NULL, NULL);

        if (g_str_equal(group, "tuning") || g_str_equal(group, "sense")) {
            /* The config groups go through the real parser. */
            g_string_append_printf(conf, "[%s]\n", group);
            for (guint k = 0; keys[k]; k++) {
                g_autofree char *v = g_key_file_get_value(h->kf, group, keys[k], NULL);

                g_string_append_printf(conf, "%s=%s\n", keys[k], v);
            }
        } else if (g_str_has_prefix(group, "vm ")) {
            FxVm *v = g_new0(FxVm, 1);

            v->name = g_strdup(group + 3);
            v->present = TRUE;
            for (guint k = 0; keys[k]; k++) {
                g_autofree char *val = g_key_file_get_value(h->kf, group, keys[k], NULL);

                set_vm_key(v, keys[k], val);
            }
            g_ptr_array_add(h->vms, v);
        } else if (g_str_has_prefix(group, "device ")) {
            FpEgressDevice *d = fp_egress_device_new(group + 7);

            for (guint k = 0; keys[k]; k++) {
                g_autofree char *val = g_key_file_get_value(h->kf, group, keys[k], NULL);

                set_device_key(d, keys[k], val);
            }
            g_ptr_array_add(h->devices, d);
        } else if (g_str_has_prefix(group, "flow ")) {
            FxFlow *f = g_new0(FxFlow, 1);

            f->name = g_strdup(group + 5);
            f->present = TRUE;
            for (guint k = 0; keys[k]; k++) {
                g_autofree char *val = g_key_file_get_value(h->kf, group, keys[k], NULL);

                set_flow_key(f, keys[k], val);
            }
            g_ptr_array_add(h->flows, f);
        } else if (!g_str_has_prefix(group, "step ")) {
            g_error("%s: unknown group [%s]", path, group);
        }
    }
    if (!fp_config_load_data(h->config, conf->str, conf->len, path, &error))
        g_error("%s", error->message);
    return g_steal_pointer(&h);
}

static gpointer find_named(GPtrArray *a, gsize name_offset, const char *name)
{
    for (guint i = 0; i < a->len; i++) {
        char *n = *(char **)((char *)a->pdata[i] + name_offset);

        if (g_str_equal(n, name))
            return a->pdata[i];
    }
    g_error("fixture: no object named '%s'", name);
}

/* One step's changes: "vm.NAME.class", "vm.NAME", "flow.NAME.KEY", ... */
static void fx_apply_step(FxHost *h, const char *group, GPtrArray *gone)
{
    g_auto(GStrv) keys = g_key_file_get_keys(h->kf, group, NULL, NULL);

    for (guint k = 0; keys[k]; k++) {
        g_autofree char *value = g_key_file_get_value(h->kf, group, keys[k], NULL);
        g_auto(GStrv) p = g_strsplit(keys[k], ".", 3);

        g_assert_nonnull(p[1]);
        if (g_str_equal(p[0], "vm")) {
            FxVm *v = find_named(h->vms, G_STRUCT_OFFSET(FxVm, name), p[1]);

            if (p[2]) {
                set_vm_key(v, p[2], value);
            } else if (g_str_equal(value, "gone")) {
                v->present = FALSE;
                g_ptr_array_add(gone, g_strdup(v->uuid));
            } else {
                v->present = TRUE;
            }
        } else if (g_str_equal(p[0], "flow")) {
            FxFlow *f = find_named(h->flows, G_STRUCT_OFFSET(FxFlow, name), p[1]);

            if (p[2])
                set_flow_key(f, p[2], value);
            else
                f->present = !g_str_equal(value, "ended");
        } else if (g_str_equal(p[0], "device")) {
            FpEgressDevice *d = find_named(h->devices, G_STRUCT_OFFSET(FpEgressDevice, name), p[1]);

            g_assert_nonnull(p[2]);
            set_device_key(d, p[2], value);
        } else {
            g_error("unknown step key '%s'", keys[k]);
        }
    }
}

static FpVm *fx_vm_to_vm(const FxVm *v)
{
    FpVm *vm = g_new0(FpVm, 1);

    g_strlcpy(vm->uuid, v->uuid, sizeof(vm->uuid));
    vm->name = g_strdup(v->name);
    vm->interfaces = g_ptr_array_new_with_free_func((GDestroyNotify)fp_vm_interface_free);
    for (guint i = 0; i < v->n; i++) {
        FpVmInterface *nic = g_new0(FpVmInterface, 1);

        nic->type = g_strdup("bridge");
        nic->target = g_strdup(v->targets[i]);
        nic->queues = 1;
        nic->observable = TRUE;
        g_ptr_array_add(vm->interfaces, nic);
    }
    return vm;
}

static FpSnapshot *fx_snapshot(const FxHost *h, guint64 seq, gint64 now_us, GPtrArray *gone)
{
    FpSnapshot *s = fp_snapshot_new(seq, now_us, now_us);

    for (guint i = 0; i < h->vms->len; i++) {
        const FxVm *v = g_ptr_array_index(h->vms, i);
        g_autoptr(FpVm) vm = NULL;
        FpVmSnapshot *vs;

        if (!v->present)
            continue;
        vm = fx_vm_to_vm(v);
        vs = fp_snapshot_add_vm(s, vm, v->ifindex);
        vs->klass = vs->learned = v->klass;
    }
    for (guint i = 0; i < gone->len; i++)
        fp_snapshot_add_gone(s, gone->pdata[i]);
    fp_snapshot_seal(s);
    return s;
}

static gint step_order(gconstpointer a, gconstpointer b)
{
    double x = g_ascii_strtod(*(const char *const *)a + 5, NULL);
    double y = g_ascii_strtod(*(const char *const *)b + 5, NULL);

    return x < y ? -1 : x > y;
}

/* Runs every step of @path; returns the plans as text. */
static char *fx_run(const char *path)
{
    g_autoptr(FxHost) h = fx_host_load(path);
    g_auto(GStrv) groups = g_key_file_get_groups(h->kf, NULL);
    g_autoptr(GPtrArray) steps = g_ptr_array_new();
    g_autoptr(FpPlan) previous = NULL;
    GString *out = g_string_new(NULL);

    for (guint g = 0; groups[g]; g++)
        if (g_str_has_prefix(groups[g], "step "))
            g_ptr_array_add(steps, groups[g]);
    g_assert_cmpuint(steps->len, >, 0);
    g_ptr_array_sort(steps, step_order);
    for (guint i = 0; i < steps->len; i++) {
        const char *group = steps->pdata[i];
        gint64 now = seconds_us(group + 5);
        g_autoptr(GPtrArray) gone = g_ptr_array_new_with_free_func(g_free);
        g_autoptr(GPtrArray) flows = g_ptr_array_new();
        g_autoptr(FpSnapshot) snap = NULL;
        g_autofree char *text = NULL;
        FpPlanInput in = {0};
        FpPlan *plan;

        fx_apply_step(h, group, gone);
        snap = fx_snapshot(h, i + 1, now, gone);
        for (guint f = 0; f < h->flows->len; f++) {
            FxFlow *fx = g_ptr_array_index(h->flows, f);

            if (fx->present)
                g_ptr_array_add(flows, &fx->flow);
        }
        in.snapshot = snap;
        in.flows = flows;
        in.devices = h->devices;
        in.config = h->config;
        in.now_us = now;
        in.previous = previous;
        plan = fp_plan_compute(&in);
        text = fp_plan_to_text(plan);
        g_string_append_printf(out, "== %s\n%s", group, text);
        fp_plan_free(previous);
        previous = plan;
    }
    return g_string_free(out, FALSE);
}

/* ---- targeted ------------------------------------------------------------ */

static void test_flow_key(void)
{
    static const char *const good[] = {
        "tcp 10.0.0.2:40000 -> 198.51.100.1:443",
        "udp [fd00:201:1::2]:5353 -> [fd00:201:2::2]:53 zone 7",
        "icmp 10.0.0.2:17 -> 10.0.0.3:2048",
        "132 10.0.0.2:1 -> 10.0.0.3:2",
    };
    static const char *const bad[] = {
        "",
        "tcp 10.0.0.2:40000 198.51.100.1:443",
        "tcp 10.0.0.2 -> 198.51.100.1:443",
        "tcp 10.0.0.2:70000 -> 198.51.100.1:443",
        "tcp 10.0.0.2:1 -> [fd00::1]:2",
        "quic 10.0.0.2:1 -> 10.0.0.3:2",
        "tcp 10.0.0.2:1 -> 10.0.0.3:2 zone",
        "tcp 10.0.0.2:1 -> 10.0.0.3:2 zone 65536",
        "tcp [fd00::1:1 -> [fd00::2]:2",
    };

    for (gsize i = 0; i < G_N_ELEMENTS(good); i++) {
        g_autoptr(GError) error = NULL;
        g_autofree char *back = NULL;
        FpFlowKey key;

        g_assert_true(fp_flow_key_parse(good[i], &key, &error));
        g_assert_no_error(error);
        back = fp_flow_key_to_string(&key);
        if (i == 3)
            g_assert_cmpstr(back, ==, "sctp 10.0.0.2:1 -> 10.0.0.3:2");
        else
            g_assert_cmpstr(back, ==, good[i]);
    }
    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) error = NULL;
        FpFlowKey key;
        g_autofree char *want = g_strdup_printf("'%s' is not a flow", bad[i]);

        g_assert_false(fp_flow_key_parse(bad[i], &key, &error));
        g_assert_error(error, FP_ERROR, FP_ERROR_INVALID);
        g_assert_true(g_str_has_prefix(error->message, want));
    }
}

/* The planner never reads a clock: the same input gives the same plan. */
static void test_deterministic(void)
{
    g_autofree char *dir = fp_test_data_dir("planner");
    g_autofree char *in = g_strdup_printf("%s/basic.in", dir);
    g_autofree char *a = fx_run(in);
    g_autofree char *b = fx_run(in);

    g_assert_cmpstr(a, ==, b);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    fp_test_add_fixtures("/planner", "planner", fx_run);
    g_test_add_func("/planner/flow-key", test_flow_key);
    g_test_add_func("/planner/deterministic", test_deterministic);
    return g_test_run();
}
