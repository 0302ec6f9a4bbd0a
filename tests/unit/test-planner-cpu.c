/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The planner's CPU lever (tuning/planner-cpu.h) on text fixtures:
 * tests/data/planner-cpu/NAME.in describes the host (CPUs online, the
 * [tuning] keys, each VM's class, threads and tap queues as found, the
 * journal's previous values), NAME.out is the plan's text.
 * FP_TEST_REGENERATE=1 writes the .out files.  Also: CPU sets in both of
 * the kernel's text forms, and thread roles from their names.
 *
 *   [host]
 *   online=0-1
 *   [tuning]                     (as footprintd.conf)
 *   elephant_cpus=1
 *   [vm NAME]
 *   uuid=...
 *   class=throughput|latency|...
 *   carrying=false               (a throughput VM carries elephants: true)
 *   libvirt=true                 (pins through libvirt's API: false)
 *   pid=100                      (absent: not found; problem=why)
 *   threads=TID:COMM:CPULIST;...  (start time = tid)
 *   queues=TAP/queues/rx-0/rps_cpus=MASK;...
 *   [journal]
 *   entries=KNOB OBJECT=PREVIOUS;...
 */
#include "config.h"

#include <string.h>

#include "affinity.h"
#include "cpuset.h"
#include "fp-config.h"
#include "fp-error.h"
#include "planner-cpu.h"
#include "queues.h"
#include "test-fixtures.h"

static FpVmThread *fx_thread(const char *text)
{
    g_auto(GStrv) f = g_strsplit(text, ":", 3);
    g_autoptr(FpVmThread) t = g_new0(FpVmThread, 1);
    g_autoptr(GError) error = NULL;
    guint64 tid;

    g_assert_cmpuint(g_strv_length(f), ==, 3);
    g_assert_true(g_ascii_string_to_unsigned(f[0], 10, 1, G_MAXINT, &tid, NULL));
    t->tid = (int)tid;
    t->start = tid;
    t->comm = g_strdup(f[1]);
    t->role = fp_thread_role_from_comm(t->comm);
    g_assert_true(fp_cpuset_parse_list(f[2], &t->allowed, &error));
    return g_steal_pointer(&t);
}

static FpVmWork *fx_vm(GKeyFile *kf, const char *group)
{
    g_autofree char *uuid = g_key_file_get_string(kf, group, "uuid", NULL);
    g_autofree char *klass_text = g_key_file_get_string(kf, group, "class", NULL);
    g_auto(GStrv) threads = g_key_file_get_string_list(kf, group, "threads", NULL, NULL);
    g_auto(GStrv) queues = g_key_file_get_string_list(kf, group, "queues", NULL, NULL);
    FpClass klass = FP_CLASS_UNKNOWN;
    FpVmWork *w;

    g_assert_true(fp_class_from_string(klass_text, &klass));
    w = fp_vm_work_new(uuid, group + 3, klass);
    w->carrying = !g_key_file_has_key(kf, group, "carrying", NULL) ||
                  g_key_file_get_boolean(kf, group, "carrying", NULL);
    w->libvirt = g_key_file_get_boolean(kf, group, "libvirt", NULL);
    w->pid = g_key_file_get_integer(kf, group, "pid", NULL);
    w->problem = g_key_file_get_string(kf, group, "problem", NULL);
    for (guint i = 0; threads && threads[i]; i++)
        g_ptr_array_add(w->threads, fx_thread(threads[i]));
    for (guint i = 0; queues && queues[i]; i++) {
        g_auto(GStrv) kv = g_strsplit(queues[i], "=", 2);
        g_autoptr(GError) error = NULL;
        FpTapQueue *q = fp_tap_queue_new(kv[0], kv[1], &error);

        g_assert_no_error(error);
        g_ptr_array_add(w->queues, q);
    }
    return w;
}

static char *fx_run(const char *path)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autoptr(GError) error = NULL;
    g_autoptr(FpConfig) config = fp_config_new_default();
    g_autoptr(GPtrArray) vms = g_ptr_array_new_with_free_func((GDestroyNotify)fp_vm_work_free);
    g_autoptr(GHashTable) original = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    g_autoptr(FpCpuPlan) plan = NULL;
    g_auto(GStrv) groups = NULL;
    g_auto(GStrv) entries = NULL;
    g_autofree char *online = NULL;
    GString *conf = g_string_new("[tuning]\n");
    g_autofree char *conf_text = NULL;
    FpCpuPlanInput in = {0};

    g_assert_true(g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &error));
    if (g_key_file_has_group(kf, "tuning")) {
        g_auto(GStrv) keys = g_key_file_get_keys(kf, "tuning", NULL, NULL);

        for (guint i = 0; keys[i]; i++) {
            g_autofree char *v = g_key_file_get_value(kf, "tuning", keys[i], NULL);

            g_string_append_printf(conf, "%s=%s\n", keys[i], v);
        }
    }
    conf_text = g_string_free(conf, FALSE);
    g_assert_true(fp_config_load_data(config, conf_text, strlen(conf_text), path, &error));
    groups = g_key_file_get_groups(kf, NULL);
    for (guint i = 0; groups[i]; i++)
        if (g_str_has_prefix(groups[i], "vm "))
            g_ptr_array_add(vms, fx_vm(kf, groups[i]));
    entries = g_key_file_get_string_list(kf, "journal", "entries", NULL, NULL);
    for (guint i = 0; entries && entries[i]; i++) {
        g_auto(GStrv) kv = g_strsplit(entries[i], "=", 2);

        g_hash_table_insert(original, g_strdup(kv[0]), g_strdup(kv[1]));
    }
    online = g_key_file_get_string(kf, "host", "online", NULL);
    g_assert_true(fp_cpuset_parse_list(online, &in.online, &error));
    in.vms = vms;
    in.config = &config->tuning;
    in.original = original;
    plan = fp_cpu_plan_compute(&in);
    return fp_cpu_plan_to_text(plan);
}

/* A plan made after its own changes (the journal holds what was found,
 * the threads hold what the plan set) is the plan made before them: the
 * tuner never narrows twice, and undo has the first value. */
static void test_fixpoint(void)
{
    g_autofree char *dir = fp_test_data_dir("planner-cpu");
    g_autofree char *before = g_build_filename(dir, "basic.in", NULL);
    g_autofree char *after = g_build_filename(dir, "basic-applied.in", NULL);
    g_autofree char *a = fx_run(before);
    g_autofree char *b = fx_run(after);
    g_auto(GStrv) la = g_strsplit(a, "\n", -1);
    g_auto(GStrv) lb = g_strsplit(b, "\n", -1);

    /* The same actions, previous values and desired values. */
    g_assert_cmpuint(g_strv_length(la), ==, g_strv_length(lb));
    for (guint i = 0; la[i]; i++)
        g_assert_cmpstr(la[i], ==, lb[i]);
}

static void test_cpuset(void)
{
    static const struct {
        const char *list;
        const char *mask;
        guint ncpus;
    } good[] = {
        {"", "00000000", 4},
        {"0", "00000001", 2},
        {"1", "00000002", 2},
        {"0-3,8", "00000000,0000010f", 40},
        {"31-32", "00000001,80000000", 64},
        {"0,2,4-5", "00000035", 8},
        {"1023", NULL, 0},
    };
    static const char *const bad_lists[] = {"-1",   "1-",     "3-1", "a",  "1,,2",
                                            "1024", "0-1024", "1 2", "0x1"};
    static const char *const bad_masks[] = {"", "xyz", "0x3", "1,g"};

    for (guint i = 0; i < G_N_ELEMENTS(good); i++) {
        g_autoptr(GError) error = NULL;
        FpCpuSet set, back;
        g_autofree char *list = NULL;

        g_assert_true(fp_cpuset_parse_list(good[i].list, &set, &error));
        list = fp_cpuset_to_list(&set);
        g_assert_cmpstr(list, ==, good[i].list);
        if (good[i].mask) {
            g_autofree char *mask = fp_cpuset_to_mask(&set, good[i].ncpus);

            g_assert_cmpstr(mask, ==, good[i].mask);
            g_assert_true(fp_cpuset_parse_mask(mask, &back, &error));
            g_assert_true(fp_cpuset_equal(&set, &back));
        }
    }
    for (guint i = 0; i < G_N_ELEMENTS(bad_lists); i++) {
        g_autoptr(GError) error = NULL;
        FpCpuSet set;
        g_autofree char *want = g_strdup_printf("'%s' is not a CPU list", bad_lists[i]);

        g_assert_false(fp_cpuset_parse_list(bad_lists[i], &set, &error));
        g_assert_error(error, FP_ERROR, FP_ERROR_INVALID);
        g_assert_nonnull(strstr(error->message, want));
    }
    for (guint i = 0; i < G_N_ELEMENTS(bad_masks); i++) {
        g_autoptr(GError) error = NULL;
        FpCpuSet set;

        g_assert_false(fp_cpuset_parse_mask(bad_masks[i], &set, &error));
        g_assert_error(error, FP_ERROR, FP_ERROR_INVALID);
    }
    {
        FpCpuSet a, b, c;
        g_autofree char *and = NULL, *andnot = NULL;

        g_assert_true(fp_cpuset_parse_list("0-3", &a, NULL));
        g_assert_true(fp_cpuset_parse_list("2-5", &b, NULL));
        fp_cpuset_and(&c, &a, &b);
        and = fp_cpuset_to_list(&c);
        g_assert_cmpstr(and, ==, "2-3");
        fp_cpuset_andnot(&c, &a, &b);
        andnot = fp_cpuset_to_list(&c);
        g_assert_cmpstr(andnot, ==, "0-1");
        g_assert_true(fp_cpuset_subset(&c, &a));
        g_assert_false(fp_cpuset_subset(&a, &c));
    }
}

static void test_roles(void)
{
    g_assert_cmpint(fp_thread_role_from_comm("CPU 0/KVM"), ==, FP_THREAD_VCPU);
    g_assert_cmpint(fp_thread_role_from_comm("CPU 12/TCG"), ==, FP_THREAD_VCPU);
    g_assert_cmpint(fp_thread_role_from_comm("IO iothread1"), ==, FP_THREAD_IOTHREAD);
    g_assert_cmpint(fp_thread_role_from_comm("vhost-4242"), ==, FP_THREAD_VHOST);
    g_assert_cmpint(fp_thread_role_from_comm("vhost-"), ==, FP_THREAD_EMULATOR);
    g_assert_cmpint(fp_thread_role_from_comm("qemu-system-x86"), ==, FP_THREAD_EMULATOR);
    g_assert_cmpint(fp_thread_role_from_comm("call_rcu"), ==, FP_THREAD_EMULATOR);
    g_assert_cmpint(fp_thread_role_from_comm("CPU"), ==, FP_THREAD_EMULATOR);
}

/* Objects the queues knob refuses: nothing outside a queue's mask is ever
 * written under /sys/class/net. */
static void test_queue_objects(void)
{
    static const char *const bad[] = {
        "vnet0/queues/rx-0/xps_cpus",
        "vnet0/queues/tx-0/rps_cpus",
        "../queues/rx-0/rps_cpus",
        "vnet0/queues/rx-0/../../x",
        "vnet0/flags",
        "vnet0/queues/rx-x/rps_cpus",
        "vnet0/queues/rx-0/rps_cpus/x",
    };

    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) error = NULL;
        gboolean gone = FALSE;

        g_assert_null(fp_tap_queue_new(bad[i], "0", &error));
        g_assert_error(error, FP_ERROR, FP_ERROR_INVALID);
        g_clear_error(&error);
        g_assert_false(fp_queues_write("/nonexistent", bad[i], "1", &gone, &error));
        g_assert_error(error, FP_ERROR, FP_ERROR_INVALID);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    fp_test_add_fixtures("/planner-cpu", "planner-cpu", fx_run);
    g_test_add_func("/planner-cpu/fixpoint", test_fixpoint);
    g_test_add_func("/planner-cpu/cpuset", test_cpuset);
    g_test_add_func("/planner-cpu/roles", test_roles);
    g_test_add_func("/planner-cpu/queue-objects", test_queue_objects);
    return g_test_run();
}
