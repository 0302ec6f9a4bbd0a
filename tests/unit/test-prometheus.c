/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The node_exporter textfile: escaping, atomic replacement, and the
 * ecosystem's own checker (promtool check metrics) on what we write. */
#include "config.h"

#include <string.h>
#include <sys/stat.h>
#include <glib/gstdio.h>

#include "fp-error.h"
#include "publish-prometheus.h"
#include "test-tmpdir.h"

static const FpPromAgent agent = {
    .backend = "bpf-netfilter",
    .version = "0.1",
    .bpf_run_time_ns = 1234567890,
    .bpf_run_count = 4242,
    .events = 7,
    .events_dropped = 1,
    .flows_evicted = 3,
    .flows_table_full = 0,
    .flows_active = 12,
    .sweeps = 100,
    .conntrack_active = TRUE,
};

/* Names a domain owner may choose: quotes, newlines, backslashes, UTF-8,
 * invalid UTF-8, and an attempt to inject a series. */
static const FpPromVm hostile_vms[] = {
    {
        .name = "web-1",
        .uuid = "0b7a9a3e-46c4-4e0c-8d5e-6a3f2a1b0c01",
        .nova_instance_uuid = "0b7a9a3e-46c4-4e0c-8d5e-6a3f2a1b0c01",
        .rx_bytes = 1000,
        .tx_bytes = G_MAXUINT64,
        .rx_bps = 1.5e6,
        .tx_bps = 0.25,
        .elephant_flows = 0,
        .mice_flows = 150,
        .flows_started = 99999,
        .elephant_share = 0,
        .klass = "latency",
        .confidence = 0.93,
    },
    {
        .name = "evil\"} 1\nfootprintd_vms 999\n# \\",
        .uuid = "0b7a9a3e-46c4-4e0c-8d5e-6a3f2a1b0c02",
        .klass = "throughput",
        .pinned = TRUE,
        .confidence = 1,
        .elephant_share = 0.99,
        .elephant_flows = 2,
    },
    {
        .name = "\xe6\x97\xa5\xe6\x9c\xac-\xf0\x9f\x90\x98-caf\xc3\xa9\\\\x\r\t",
        .uuid = "0b7a9a3e-46c4-4e0c-8d5e-6a3f2a1b0c03",
        .nova_instance_uuid = "",
        .klass = "idle",
    },
    {
        .name = "bad-utf8-\xff\xfe\xc3",
        .uuid = "0b7a9a3e-46c4-4e0c-8d5e-6a3f2a1b0c04",
        .klass = NULL,
    },
};

static void test_escape_label(void)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"plain", "plain"},
        {"a\"b", "a\\\"b"},
        {"a\\b", "a\\\\b"},
        {"a\nb", "a\\nb"},
        {"\\n", "\\\\n"},
        {"caf\xc3\xa9 \xf0\x9f\x90\x98", "caf\xc3\xa9 \xf0\x9f\x90\x98"},
        {"x\xffy", "x\xef\xbf\xbdy"},
        {"tab\there", "tab\there"},
        {"", ""},
    };

    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *got = fp_prometheus_escape_label(cases[i].in);

        g_assert_cmpstr(got, ==, cases[i].out);
    }
    {
        g_autofree char *got = fp_prometheus_escape_label(NULL);

        g_assert_cmpstr(got, ==, "");
    }
}

static void test_format(void)
{
    g_autofree char *text = fp_prometheus_format(&agent, hostile_vms, G_N_ELEMENTS(hostile_vms));
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    guint vms_lines = 0;

    g_test_message("%s", text);
    g_assert_nonnull(strstr(text, "footprintd_backend_info{backend=\"bpf-netfilter\"} 1\n"));
    g_assert_nonnull(strstr(text, "footprintd_bpf_run_time_seconds_total 1.23456789\n"));
    g_assert_nonnull(strstr(text, "footprintd_vm_rx_bytes_total{domain=\"web-1\",uuid=\"0b7a9a3e-"
                                  "46c4-4e0c-8d5e-6a3f2a1b0c01\",nova_instance_uuid=\"0b7a9a3e-"
                                  "46c4-4e0c-8d5e-6a3f2a1b0c01\"} 1000\n"));
    g_assert_nonnull(strstr(text, "} 18446744073709551615\n"));
    g_assert_nonnull(strstr(text, "footprintd_vm_class_info{domain=\"web-1\""));
    g_assert_nonnull(strstr(text, ",class=\"latency\",pinned=\"false\"} 1\n"));
    g_assert_nonnull(strstr(text, ",class=\"throughput\",pinned=\"true\"} 1\n"));
    g_assert_nonnull(strstr(text, ",class=\"unknown\",pinned=\"false\"} 1\n"));
    g_assert_nonnull(strstr(text, "domain=\"evil\\\"} 1\\nfootprintd_vms 999\\n# \\\\\""));
    /* The injection attempt stays inside its label: one footprintd_vms sample. */
    for (guint i = 0; lines[i] != NULL; i++)
        if (g_str_has_prefix(lines[i], "footprintd_vms "))
            vms_lines++;
    g_assert_cmpuint(vms_lines, ==, 1);
    g_assert_nonnull(strstr(text, "footprintd_vms 4\n"));
    /* An empty Nova uuid is no label at all. */
    g_assert_null(strstr(text, "nova_instance_uuid=\"\""));
    g_assert_true(g_utf8_validate(text, -1, NULL));
}

static void test_format_no_vms(void)
{
    g_autofree char *text = fp_prometheus_format(&agent, NULL, 0);

    g_assert_nonnull(strstr(text, "footprintd_vms 0\n"));
    g_assert_null(strstr(text, "footprintd_vm_"));
}

/* Runs promtool check metrics on @path; returns its exit status, or -1
 * when promtool is not installed. */
static int promtool_check(const char *path, char **out)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *promtool = NULL;
    g_autofree char *cmd = NULL;
    g_autofree char *quoted = g_shell_quote(path);
    g_autofree char *err = NULL;
    int status = 0;

    promtool = g_strdup(g_getenv("FP_PROMTOOL"));
    if (promtool == NULL)
        promtool = g_find_program_in_path("promtool");
    if (promtool == NULL)
        return -1;
    cmd = g_strdup_printf("sh -c 'exec %s check metrics < %s'", promtool, quoted);
    g_assert_true(g_spawn_command_line_sync(cmd, out, &err, &status, &error));
    g_assert_no_error(error);
    if (err != NULL && *err != '\0')
        g_test_message("promtool: %s", err);
    if (out != NULL && err != NULL) {
        char *joined = g_strconcat(*out, err, NULL);

        g_free(*out);
        *out = joined;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static void test_promtool_accepts(void)
{
    g_autofree char *dir = fp_test_tmpdir("test-prometheus");
    g_autofree char *path = g_build_filename(dir, "footprintd.prom", NULL);
    g_autofree char *bad = g_build_filename(dir, "bad.prom", NULL);
    g_autoptr(GError) error = NULL;
    g_autofree char *out = NULL;
    g_autofree char *bad_out = NULL;
    int rc;

    g_assert_true(
        fp_prometheus_write(path, &agent, hostile_vms, G_N_ELEMENTS(hostile_vms), &error));
    g_assert_no_error(error);
    rc = promtool_check(path, &out);
    /* promtool is a test dependency (quickstart.sh installs prometheus):
     * its absence is a broken setup, not a missing kernel feature. */
    if (rc < 0)
        g_error("promtool not found (Debian: apt-get install prometheus)");
    g_test_message("promtool check metrics: exit %d: %s", rc, out);
    g_assert_cmpint(rc, ==, 0);
    g_assert_cmpstr(g_strstrip(out), ==, "");

    /* Control: promtool does refuse an unescaped quote in a label. */
    g_assert_true(g_file_set_contents(
        bad, "# HELP x_total x.\n# TYPE x_total counter\nx_total{domain=\"a\"b\"} 1\n", -1, NULL));
    rc = promtool_check(bad, &bad_out);
    g_test_message("promtool on a broken file: exit %d: %s", rc, bad_out);
    g_assert_cmpint(rc, !=, 0);
    fp_test_rm_rf(dir);
}

static void test_atomic_write(void)
{
    g_autofree char *dir = fp_test_tmpdir("test-prometheus");
    g_autofree char *path = g_build_filename(dir, "footprintd.prom", NULL);
    g_autofree char *nodir = g_build_filename(dir, "missing", "footprintd.prom", NULL);
    g_autofree char *subdir = g_build_filename(dir, "adir", NULL);
    g_autoptr(GError) error = NULL;
    g_autofree char *text = NULL;
    g_autofree char *expected = NULL;
    GStatBuf st;
    mode_t old_umask;

    g_assert_true(g_file_set_contents(path, "old contents\n", -1, NULL));
    old_umask = umask(077);
    g_assert_true(fp_prometheus_write(path, &agent, hostile_vms, 1, &error));
    umask(old_umask);
    g_assert_no_error(error);
    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    expected = fp_prometheus_format(&agent, hostile_vms, 1);
    g_assert_cmpstr(text, ==, expected);
    /* Readable by node_exporter whatever our umask. */
    g_assert_cmpint(g_stat(path, &st), ==, 0);
    g_assert_cmpint(st.st_mode & 0777, ==, 0644);
    g_assert_cmpuint(fp_test_count_entries(dir), ==, 1);

    /* Failures leave no temporary file behind. */
    g_assert_false(fp_prometheus_write(nodir, &agent, NULL, 0, &error));
    g_assert_error(error, FP_ERROR, FP_ERROR_IO);
    g_test_message("%s", error->message);
    g_clear_error(&error);
    g_assert_cmpint(g_mkdir(subdir, 0755), ==, 0);
    g_assert_false(fp_prometheus_write(subdir, &agent, NULL, 0, &error));
    g_assert_error(error, FP_ERROR, FP_ERROR_IO);
    g_test_message("%s", error->message);
    g_assert_cmpuint(fp_test_count_entries(dir), ==, 2);
    fp_test_rm_rf(dir);
}

/* The consumer alone, driven by a snapshot fixture: what the learner and
 * the agent's health say is what the file says, and the interval holds. */
static FpSnapshot *fixture_snapshot(gint64 mono_us)
{
    const char *xml = "<domain type='kvm'><name>web-1</name>"
                      "<uuid>0b7a9a3e-46c4-4e0c-8d5e-6a3f2a1b0c01</uuid><devices>"
                      "<interface type='ethernet'><target dev='tapw'/></interface>"
                      "</devices></domain>";
    g_autoptr(FpVm) vm = NULL;
    g_autoptr(GError) error = NULL;
    FpSnapshot *snap = fp_snapshot_new(7, mono_us, 0);
    FpSenseStats st = {.backend = FP_BACKEND_BPF_NETFILTER, .events = 7, .sweeps = 100};
    FpVmSnapshot *v;

    g_assert_true(fp_domain_xml_parse(xml, strlen(xml), "fixture", &vm, &error));
    v = fp_snapshot_add_vm(snap, vm, NULL);
    v->klass = FP_CLASS_LATENCY;
    v->confidence = 0.93;
    v->explain.rx_bps = 1.5e6;
    v->totals.rx_bytes = 1000;
    v->totals.active_flows = 150;
    v->totals.flows = 99999;
    fp_snapshot_seal(snap);
    fp_health_set_sense(&snap->health, &st);
    snap->health.flows = 12;
    snap->health.elephant_log_suppressed = 41;
    snap->health.libvirt_domain_xml_errors = 2;
    snap->health.state_write.failures = 5;
    snap->health.state_write.error = g_strdup("footprint state '/s/footprints': cannot write: No "
                                              "space left on device");
    return snap;
}

static void test_consume_snapshot(void)
{
    g_autofree char *dir = fp_test_tmpdir("test-prometheus");
    g_autofree char *path = g_build_filename(dir, "footprintd.prom", NULL);
    g_autoptr(FpPrometheus) prom = fp_prometheus_new(path, 10);
    g_autoptr(FpSnapshot) first = fixture_snapshot(1000000);
    g_autoptr(FpSnapshot) soon = fixture_snapshot(2000000);
    g_autoptr(FpSnapshot) later = fixture_snapshot(11000000);
    g_autofree char *text = NULL;

    fp_prometheus_consume(prom, first);
    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    g_assert_nonnull(strstr(text, "footprintd_backend_info{backend=\"bpf-netfilter\"} 1\n"));
    g_assert_nonnull(strstr(text, "footprintd_events_total 7\n"));
    g_assert_nonnull(strstr(text, "footprintd_flows 12\n"));
    g_assert_nonnull(strstr(text, "footprintd_vms 1\n"));
    g_assert_nonnull(strstr(text, "footprintd_vm_rx_bytes_total{domain=\"web-1\",uuid=\"0b7a9a3e-"
                                  "46c4-4e0c-8d5e-6a3f2a1b0c01\"} 1000\n"));
    g_assert_nonnull(strstr(text, ",class=\"latency\",pinned=\"false\"} 1\n"));
    g_assert_nonnull(strstr(text, "kind=\"mice\"} 150\n"));
    g_assert_nonnull(strstr(text, "footprintd_placement_info{state=\"off\"} 1\n"));
    /* What was refused or dropped. */
    g_assert_nonnull(strstr(text, "footprintd_elephant_log_suppressed_total 41\n"));
    g_assert_nonnull(strstr(text, "footprintd_destroy_events_lost_total 0\n"));
    g_assert_nonnull(strstr(text, "footprintd_libvirt_domain_xml_errors_total 2\n"));
    g_assert_nonnull(strstr(text, "footprintd_file_write_failures_total{file=\"state\"} 5\n"));
    g_assert_nonnull(strstr(text, "footprintd_file_write_failures_total{file=\"metrics\"} 0\n"));
    g_assert_nonnull(strstr(text, "footprintd_file_write_failing{file=\"state\"} 1\n"));
    g_assert_nonnull(strstr(text, "footprintd_file_write_failing{file=\"metrics\"} 0\n"));
    g_assert_null(fp_prometheus_get_write_status(prom)->error);
    g_assert_cmpint(fp_prometheus_get_write_status(prom)->last_ok_us, ==, first->real_us);
    /* Within the interval: not rewritten; after it: rewritten. */
    g_assert_cmpint(g_unlink(path), ==, 0);
    fp_prometheus_consume(prom, soon);
    g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
    fp_prometheus_consume(prom, later);
    g_assert_true(g_file_test(path, G_FILE_TEST_EXISTS));
    fp_test_rm_rf(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/prometheus/escape-label", test_escape_label);
    g_test_add_func("/prometheus/format", test_format);
    g_test_add_func("/prometheus/format-no-vms", test_format_no_vms);
    g_test_add_func("/prometheus/promtool-accepts", test_promtool_accepts);
    g_test_add_func("/prometheus/atomic-write", test_atomic_write);
    g_test_add_func("/prometheus/consume-snapshot", test_consume_snapshot);
    return g_test_run();
}
