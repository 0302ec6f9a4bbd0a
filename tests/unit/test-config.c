/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* footprintd.conf: defaults, every key, and every kind of mistake named. */
#include "config.h"

#include <string.h>

#include "fp-config.h"
#include "fp-error.h"

static void test_defaults_match_shipped_file(void)
{
    g_autoptr(FpConfig) c = fp_config_new_default();
    g_autoptr(GError) error = NULL;
    g_autofree char *path = g_build_filename(FP_TOP_SRCDIR, "conf", "footprintd.conf", NULL);

    /* The shipped file has every key commented out: loading it changes
     * nothing, and it must load. */
    g_assert_true(fp_config_load_file(c, path, &error));
    g_assert_no_error(error);
    g_assert_cmpint(c->tuning.mode, ==, FP_MODE_ADVISE);
    g_assert_null(c->tuning.egress);
    g_assert_cmpuint(c->tuning.ct_mark_mask, ==, 0x00ff0000);
    g_assert_cmpuint(c->elephant_bytes, ==, 10 * 1024 * 1024);
    g_assert_cmpuint(c->elephant_window_s, ==, 10);
    g_assert_cmpint(c->hook_priority, ==, 300);
    g_assert_cmpstr(c->libvirt_uri, ==, "qemu:///system");
}

static void test_shipped_file_documents_every_key(void)
{
    g_autofree char *path = g_build_filename(FP_TOP_SRCDIR, "conf", "footprintd.conf", NULL);
    g_autofree char *text = NULL;
    g_autofree char *uncommented = NULL;
    g_autoptr(FpConfig) c = fp_config_new_default();
    g_autoptr(GError) error = NULL;
    g_autoptr(GRegex) re = g_regex_new("^#([a-z_]+=)", G_REGEX_MULTILINE, 0, NULL);

    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    /* Uncomment every documented default: still valid, still the defaults. */
    uncommented = g_regex_replace(re, text, -1, 0, "\\1", 0, NULL);
    g_assert_true(fp_config_load_data(c, uncommented, strlen(uncommented), path, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(c->flow_table_size, ==, 65536);
    g_assert_cmpuint(c->sweep_interval_ms, ==, 1000);
    g_assert_true(c->enable_acct);
    g_assert_cmpint(c->backend, ==, FP_BACKEND_AUTO);

    /* And every key the parser knows is in the file, as "#key=". */
    g_auto(GStrv) keys = fp_config_list_keys();
    g_assert_cmpuint(g_strv_length(keys), >, 10);
    for (guint i = 0; keys[i]; i++) {
        const char *name = strchr(keys[i], '/') + 1;
        g_autofree char *needle = g_strdup_printf("\n#%s=", name);

        if (!strstr(text, needle))
            g_error("conf/footprintd.conf does not document %s", keys[i]);
    }
}

static void test_values(void)
{
    g_autoptr(FpConfig) c = fp_config_new_default();
    g_autoptr(GError) error = NULL;
    const char *text = "[tuning]\nmode=enforce\n[agent]\nstate_dir=/tmp/x\n"
                       "[sense]\nbackend=ctnetlink\nelephant_bytes=2199023255552\n"
                       "elephant_window=3\nenable_acct=no\n";

    /* 2^41 is beyond the 2^40 limit: error, and nothing applied. */
    g_assert_false(fp_config_load_data(c, text, strlen(text), "t.conf", &error));
    g_assert_error(error, FP_ERROR, FP_ERROR_INVALID);
    g_assert_nonnull(strstr(error->message, "[sense] elephant_bytes"));
    g_assert_cmpint(c->tuning.mode, ==, FP_MODE_ADVISE);
    g_assert_cmpstr(c->state_dir, ==, "/var/lib/footprintd");
    g_clear_error(&error);

    text = "[tuning]\nmode=enforce\n[agent]\nstate_dir=/tmp/x\n"
           "[sense]\nbackend=ctnetlink\nelephant_bytes=1099511627776\n"
           "elephant_window=3\nenable_acct=no\n";
    g_assert_true(fp_config_load_data(c, text, strlen(text), "t.conf", &error));
    g_assert_cmpint(c->tuning.mode, ==, FP_MODE_ENFORCE);
    g_assert_cmpstr(c->state_dir, ==, "/tmp/x");
    g_assert_cmpint(c->backend, ==, FP_BACKEND_CTNETLINK);
    g_assert_cmpuint(c->elephant_bytes, ==, G_GUINT64_CONSTANT(1) << 40);
    g_assert_false(c->enable_acct);
    g_clear_error(&error);

    /* A file copied from an older footprintd.conf keeps the [dbus] header,
     * whose keys are all gone: the empty group is accepted. */
    text = "[dbus]\n# bus_name=org.footprintd.Footprint1\n[libvirt]\nuri=test:///default\n";
    g_assert_true(fp_config_load_data(c, text, strlen(text), "t.conf", &error));
    g_assert_cmpstr(c->libvirt_uri, ==, "test:///default");
}

static void test_footprint_and_metrics(void)
{
    g_autoptr(FpConfig) c = fp_config_new_default();
    g_autoptr(GError) error = NULL;
    FpFootprintPolicy defaults;
    const char *text = "[footprint]\nwindow=8.5\nwarmup=2\nswitch_after=2\n"
                       "throughput_share=0.6\n[metrics]\ntextfile=\ninterval=1\n";

    fp_footprint_policy_init(&defaults);
    g_assert_cmpfloat(c->footprint.window_s, ==, defaults.window_s);
    g_assert_cmpstr(c->metrics_textfile, ==, "/var/lib/prometheus/node-exporter/footprintd.prom");
    g_assert_true(fp_config_load_data(c, text, strlen(text), "t.conf", &error));
    g_assert_no_error(error);
    g_assert_cmpfloat(c->footprint.window_s, ==, 8.5);
    g_assert_cmpfloat(c->footprint.warmup_s, ==, 2);
    g_assert_cmpfloat(c->footprint.throughput_share, ==, 0.6);
    g_assert_cmpuint(c->footprint.switch_after, ==, 2);
    g_assert_cmpfloat(c->footprint.idle_bps, ==, defaults.idle_bps);
    g_assert_null(c->metrics_textfile);
    g_assert_cmpuint(c->metrics_interval_s, ==, 1);
}

static void test_tuning(void)
{
    g_autoptr(FpConfig) c = fp_config_new_default();
    g_autoptr(FpConfig) copy = NULL;
    g_autoptr(GError) error = NULL;
    const char *text = "[tuning]\nmode=observe\negress=eth0, bond0;br-ex\negress_rate_mbit=950\n"
                       "ct_mark_mask=0xff00\nfair_slots=255\ndemoted_min_share=0.2\n";
    FpMode mode = FP_MODE_ENFORCE;

    g_assert_true(fp_config_load_data(c, text, strlen(text), "t.conf", &error));
    g_assert_no_error(error);
    g_assert_cmpint(c->tuning.mode, ==, FP_MODE_OBSERVE);
    g_assert_cmpuint(g_strv_length(c->tuning.egress), ==, 3);
    g_assert_cmpstr(c->tuning.egress[1], ==, "bond0");
    g_assert_cmpstr(c->tuning.egress[2], ==, "br-ex");
    g_assert_cmpuint(c->tuning.egress_rate_mbit, ==, 950);
    g_assert_cmpuint(c->tuning.ct_mark_mask, ==, 0xff00);
    g_assert_cmpuint(c->tuning.fair_slots, ==, 255);
    g_assert_cmpfloat(c->tuning.demoted_min_share, ==, 0.2);
    g_assert_false(c->tuning.split_gso);
    copy = fp_config_dup(c);
    g_assert_cmpstr(copy->tuning.egress[0], ==, "eth0");
    g_assert_true(copy->tuning.egress != c->tuning.egress);
    g_assert_true(copy->tuning.cpu_separation);
    g_assert_null(copy->tuning.elephant_cpus);
    g_assert_cmpstr(copy->tuning.qemu_run_dir, ==, "/run/libvirt/qemu");
    text = "[tuning]\nelephant_cpus=1,4-5\nelephant_cpu_share=0.25\nelephant_vcpus=true\n"
           "cpu_separation=false\nqemu_run_dir=/tmp/q\nsplit_gso=true\n";
    g_assert_true(fp_config_load_data(c, text, strlen(text), "t.conf", &error));
    g_assert_no_error(error);
    g_clear_pointer(&copy, fp_config_free);
    copy = fp_config_dup(c);
    g_assert_cmpstr(copy->tuning.elephant_cpus, ==, "1,4-5");
    g_assert_true(copy->tuning.elephant_cpus != c->tuning.elephant_cpus);
    g_assert_cmpfloat(copy->tuning.elephant_cpu_share, ==, 0.25);
    g_assert_true(copy->tuning.elephant_vcpus);
    g_assert_false(copy->tuning.cpu_separation);
    g_assert_cmpstr(copy->tuning.qemu_run_dir, ==, "/tmp/q");
    g_assert_true(copy->tuning.split_gso);
    g_assert_null(copy->tuning.nic_devices);
    g_assert_true(copy->tuning.nic_irqs);
    g_assert_true(copy->tuning.nic_rss);
    g_assert_false(copy->tuning.irqbalance_override);
    text = "[tuning]\nnic_devices=eth0 ens1f0\nnic_irqs=false\nnic_rss=false\n"
           "irqbalance_override=true\n";
    g_assert_true(fp_config_load_data(c, text, strlen(text), "t.conf", &error));
    g_assert_no_error(error);
    g_clear_pointer(&copy, fp_config_free);
    copy = fp_config_dup(c);
    g_assert_cmpuint(g_strv_length(copy->tuning.nic_devices), ==, 2);
    g_assert_cmpstr(copy->tuning.nic_devices[1], ==, "ens1f0");
    g_assert_true(copy->tuning.nic_devices != c->tuning.nic_devices);
    g_assert_false(copy->tuning.nic_irqs);
    g_assert_false(copy->tuning.nic_rss);
    g_assert_true(copy->tuning.irqbalance_override);
    text = "[tuning]\nnic_devices=../x\n";
    g_assert_false(fp_config_load_data(c, text, strlen(text), "t.conf", &error));
    g_assert_error(error, FP_ERROR, FP_ERROR_INVALID);
    g_assert_nonnull(strstr(error->message, "nic_devices: '../x' is not a device name"));
    g_clear_error(&error);
    text = "[tuning]\negress=\n";
    g_assert_true(fp_config_load_data(c, text, strlen(text), "t.conf", &error));
    g_assert_null(c->tuning.egress);
    g_assert_true(fp_mode_from_string("advise", &mode));
    g_assert_cmpint(mode, ==, FP_MODE_ADVISE);
    g_assert_false(fp_mode_from_string("enforced", &mode));
}

/* SIGHUP: run-time keys take the file's value, the others keep theirs and
 * are reported as waiting for the next start. */
static void test_reload(void)
{
    g_autoptr(FpConfig) running = fp_config_new_default();
    g_autoptr(FpConfig) next = fp_config_new_default();
    g_autoptr(GError) error = NULL;
    g_auto(GStrv) lines = NULL;
    g_auto(GStrv) again = NULL;
    g_autofree char *all = NULL;
    guint applied = 99;
    const char *text = "[agent]\nsweep_interval_ms=200\nstate_dir=/srv/fp\n"
                       "[sense]\nelephant_bytes=1048576\n"
                       "[footprint]\nwindow=30\nthroughput_share=0.7\n"
                       "[metrics]\ntextfile=/srv/metrics/fp.prom\n";

    g_assert_true(fp_config_load_data(next, text, strlen(text), "t.conf", &error));
    g_assert_no_error(error);
    lines = fp_config_reload(running, next, &applied);
    all = g_strjoinv("\n", lines);
    g_test_message("%s", all);
    g_assert_cmpuint(g_strv_length(lines), ==, 5); /* throughput_share did not change */
    g_assert_cmpuint(applied, ==, 3);
    g_assert_cmpuint(running->sweep_interval_ms, ==, 200);
    g_assert_cmpfloat(running->footprint.window_s, ==, 30);
    g_assert_cmpstr(running->metrics_textfile, ==, "/srv/metrics/fp.prom");
    g_assert_cmpuint(running->elephant_bytes, ==, 10 * 1024 * 1024);
    g_assert_cmpstr(running->state_dir, ==, "/var/lib/footprintd");
    g_assert_true(
        g_strv_contains((const char *const *)lines, "[agent] sweep_interval_ms: '1000' -> '200'"));
    g_assert_true(g_strv_contains((const char *const *)lines, "[footprint] window: '60' -> '30'"));
    g_assert_true(g_strv_contains(
        (const char *const *)lines,
        "[sense] elephant_bytes: '10485760' -> '1048576' at the next start ('10485760' stays in "
        "force)"));
    g_assert_true(
        g_strv_contains((const char *const *)lines,
                        "[agent] state_dir: '/var/lib/footprintd' -> '/srv/fp' at the next start "
                        "('/var/lib/footprintd' stays in force)"));

    /* The same file again: only what still waits for a restart. */
    again = fp_config_reload(running, next, &applied);
    g_assert_cmpuint(g_strv_length(again), ==, 2);
    g_assert_cmpuint(applied, ==, 0);
}

/* footprintd(8), SIGNALS, names exactly the keys a reload applies. */
static void test_reload_keys_documented(void)
{
    g_autofree char *path = g_build_filename(FP_TOP_SRCDIR, "man", "footprintd.8", NULL);
    g_autofree char *text = NULL;
    g_auto(GStrv) keys = fp_config_list_keys();
    const char *start, *end;
    g_autofree char *section = NULL;
    guint n_reload = 0;

    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    start = strstr(text, "\n.B SIGHUP\n");
    g_assert_nonnull(start);
    end = strstr(start, "\n.SH ");
    g_assert_nonnull(end);
    section = g_strndup(start, (gsize)(end - start));
    for (guint i = 0; keys[i]; i++) {
        const char *name = strchr(keys[i], '/') + 1;
        g_autofree char *pattern = g_strdup_printf("\\b%s\\b", name);
        gboolean documented = g_regex_match_simple(pattern, section, 0, 0);
        gboolean reload = fp_config_key_applies_at_reload(keys[i]);

        n_reload += reload;
        if (documented != reload)
            g_error("%s: a reload %s it, footprintd(8) SIGNALS says it %s", keys[i],
                    reload ? "applies" : "does not apply", documented ? "does" : "does not");
    }
    g_assert_cmpuint(n_reload, >, 10);
    g_assert_false(fp_config_key_applies_at_reload("sense/no_such_key"));
}

typedef struct {
    const char *text;
    const char *message;
} BadCase;

static void test_bad(gconstpointer data)
{
    const BadCase *bc = data;
    g_autoptr(FpConfig) c = fp_config_new_default();
    g_autoptr(GError) error = NULL;

    g_assert_false(fp_config_load_data(c, bc->text, strlen(bc->text), "bad.conf", &error));
    g_assert_error(error, FP_ERROR, FP_ERROR_INVALID);
    if (!strstr(error->message, bc->message))
        g_error("'%s' does not contain '%s'", error->message, bc->message);
    g_assert_nonnull(strstr(error->message, "bad.conf"));
}

static const BadCase bad_cases[] = {
    {"[sense]\nelefant_bytes=1\n", "[sense] unknown key 'elefant_bytes'"},
    {"[dbus]\nread_group=ops\n", "[dbus] read_group: removed: who may read is for the D-Bus "
                                 "policy to say"},
    {"[sensing]\nbackend=auto\n", "unknown group [sensing]"},
    {"[sense]\nbackend=ebpf\n", "'ebpf' is not one of auto, bpf-netfilter, ctnetlink"},
    {"[sense]\nelephant_window=0\n", "[sense] elephant_window: '0' is not an integer in 1..3600"},
    {"[sense]\nelephant_window=ten\n", "'ten' is not an integer"},
    {"[sense]\nelephant_window=-5\n", "'-5' is not an integer"},
    {"[sense]\nflow_table_size=99999999999999999999999\n", "is not an integer"},
    {"[sense]\nenable_acct=maybe\n", "'maybe' is not a boolean"},
    {"[agent]\nstate_dir=var/lib\n", "not an absolute path"},
    {"[tuning]\nmode=\n", "is not one of"},
    {"[agent]\nmode=enforce\n", "[agent] mode: moved: it is [tuning] mode now"},
    {"[dbus]\nbus_name=org.example.Fp\n",
     "[dbus] bus_name: removed: the name is org.footprintd.Footprint1, fixed"},
    {"[tuning]\nct_mark_mask=0\n", "'0' is not a non-zero 32-bit mask"},
    {"[tuning]\nct_mark_mask=0x1ffffffff\n", "is not a non-zero 32-bit mask"},
    {"[tuning]\nct_mark_mask=0x00ff00ff\n", "0x00ff00ff is not one run of contiguous bits"},
    {"[tuning]\nct_mark_mask=0xf0\nfair_slots=16\n",
     "16 slots do not fit in ct_mark_mask 0x000000f0"},
    {"[tuning]\ndemoted_min_share=0.95\n", "demoted_min_share: 0.95 is out of range 0.01..0.9"},
    {"[tuning]\negress=eth0,a/b\n", "'a/b' is not a device name"},
    {"[tuning]\nelephant_cpus=1-\n", "[tuning] elephant_cpus: '1-' is not a CPU list"},
    {"[tuning]\nelephant_cpus=3-1\n", "'3-1' is not a CPU list"},
    {"[tuning]\nelephant_cpus=99999\n", "'99999' is not a CPU list"},
    {"[tuning]\nelephant_cpu_share=1\n", "elephant_cpu_share: 1 is out of range 0..1"},
    {"[tuning]\nelephant_cpu_share=-0.5\n", "elephant_cpu_share: -0.5 is out of range"},
    {"[tuning]\nqemu_run_dir=run\n", "[tuning] qemu_run_dir: 'run' is not an absolute path"},
    {"[tuning]\negress=averyveryverylongname\n", "is not a device name"},
    {"[libvirt]\nuri=\n", "empty"},
    {"[footprint]\nwindow=nan\n", "[footprint] window: 'nan' is not a number"},
    {"[footprint]\nwindow=inf\n", "'inf' is not a number"},
    {"[footprint]\nwindow=1e999\n", "is not a number"},
    {"[footprint]\nwindow=10s\n", "'10s' is not a number"},
    {"[footprint]\nwindow=0.5\n", "[footprint] footprint policy: window = 0.5 is out of range"},
    {"[footprint]\nlatency_share=0.8\n", "must be below throughput_share"},
    {"[footprint]\nswitch_after=0\n", "switch_after: '0' is not an integer in 1..1000"},
    {"[metrics]\ntextfile=metrics.prom\n", "not an absolute path (or empty for none)"},
    {"[placement]\nauth=keystone\n",
     "'keystone' is not one of none, token, password, application_credential"},
    {"[placement]\nauth=token\nurl=http://127.0.0.1:8778\n",
     "[placement] auth = token needs token"},
    {"[placement]\nauth=token\ntoken=admin\n", "[placement] auth = token needs url"},
    {"[placement]\nauth=password\nauth_url=http://k:5000/v3\nusername=u\npassword=p\n",
     "auth = password needs project_name"},
    {"[placement]\nauth=application_credential\nauth_url=http://k:5000\n"
     "application_credential_id=x\n",
     "auth = application_credential needs application_credential_secret"},
    {"[placement]\nurl=ftp://placement\n",
     "[placement] url: 'ftp://placement' is not an http(s) URL"},
    {"[placement]\nauth_url=keystone:5000\n", "auth_url: 'keystone:5000' is not an http(s) URL"},
    {"[placement]\nelephant_load=0\n", "[placement] elephant_load = 0 is out of range (0.01..1)"},
    {"[placement]\nhysteresis=0.95\n", "hysteresis = 0.95 is out of range"},
    {"[placement]\nhold=-1\n", "hold = -1 is out of range"},
    {"[placement]\nmature_after=nan\n", "[placement] mature_after: 'nan' is not a number"},
    {"[placement]\ntimeout=0\n", "[placement] timeout: '0' is not an integer in 1..300"},
    {"[placement]\nuser_domain_name=\n", "[placement] user_domain_name: empty"},
    {"[placement]\nca_file=ca.pem\n", "[placement] ca_file: 'ca.pem' is not an absolute path"},
    {"[placement]\nhints=sometimes\n", "'sometimes' is not a boolean"},
    {"this is not a key file\n", "bad.conf"},
    {"[tuning]\nmode=observe\n[agent\n", "bad.conf"},
};

/* Whatever the file holds, the error is one line of valid UTF-8. */
static void test_hostile_value_message(void)
{
    g_autoptr(FpConfig) c = fp_config_new_default();
    g_autoptr(GError) error = NULL;
    const char text[] = "[tuning]\nmode=enf\xff\xfe\x01orce\n";

    g_assert_false(fp_config_load_data(c, text, sizeof(text) - 1, "bad.conf", &error));
    g_assert_true(g_utf8_validate(error->message, -1, NULL));
    g_assert_null(strchr(error->message, '\n'));
    g_assert_null(strchr(error->message, '\x01'));
    g_assert_nonnull(strstr(error->message, "[tuning] mode"));
}

static void test_placement(void)
{
    g_autoptr(FpConfig) c = fp_config_new_default();
    g_autoptr(GError) error = NULL;
    const char *text = "[placement]\nurl=http://127.0.0.1:18778\nauth=token\ntoken=admin\n"
                       "provider=compute-1.example.org\negress_capacity_mbit=10000\n"
                       "elephant_load=0.25\nhold=0\nmature_after=5.5\nhints=false\n";

    /* Off by default, with the documented defaults. */
    g_assert_null(c->placement.url);
    g_assert_null(c->placement.provider);
    g_assert_cmpint(c->placement.auth, ==, FP_PLACEMENT_AUTH_NONE);
    g_assert_cmpstr(c->placement.user_domain_name, ==, "Default");
    g_assert_cmpuint(c->placement.egress_capacity_mbit, ==, 0);
    g_assert_cmpfloat(c->placement.elephant_load, ==, 0.3);
    g_assert_true(c->placement.hints);

    g_assert_true(fp_config_load_data(c, text, strlen(text), "p.conf", &error));
    g_assert_no_error(error);
    g_assert_cmpstr(c->placement.url, ==, "http://127.0.0.1:18778");
    g_assert_cmpstr(c->placement.token, ==, "admin");
    g_assert_cmpstr(c->placement.provider, ==, "compute-1.example.org");
    g_assert_cmpint(c->placement.auth, ==, FP_PLACEMENT_AUTH_TOKEN);
    g_assert_cmpuint(c->placement.egress_capacity_mbit, ==, 10000);
    g_assert_cmpfloat(c->placement.elephant_load, ==, 0.25);
    g_assert_cmpfloat(c->placement.hold_s, ==, 0);
    g_assert_cmpfloat(c->placement.mature_after_s, ==, 5.5);
    g_assert_false(c->placement.hints);
    g_assert_cmpstr(fp_placement_auth_to_string(c->placement.auth), ==, "token");

    /* Empty turns an optional string off again; a failed load keeps all. */
    text = "[placement]\nprovider=\n";
    g_assert_true(fp_config_load_data(c, text, strlen(text), "p.conf", &error));
    g_assert_null(c->placement.provider);
    g_assert_cmpstr(c->placement.url, ==, "http://127.0.0.1:18778");
    text = "[placement]\nurl=\n";
    g_assert_false(fp_config_load_data(c, text, strlen(text), "p.conf", &error));
    g_assert_nonnull(strstr(error->message, "auth = token needs url"));
    g_assert_cmpstr(c->placement.url, ==, "http://127.0.0.1:18778");
    g_clear_error(&error);

    /* Keystone: the catalog may name Placement (url empty). */
    text = "[placement]\nurl=\nauth=application_credential\nauth_url=https://keystone:5000/v3\n"
           "application_credential_id=abc\napplication_credential_secret=s3cr3t\n"
           "interface=internal\nregion_name=RegionTwo\n";
    g_assert_true(fp_config_load_data(c, text, strlen(text), "p.conf", &error));
    g_assert_null(c->placement.url);
    g_assert_cmpint(c->placement.interface, ==, FP_PLACEMENT_INTERFACE_INTERNAL);
    g_assert_cmpstr(c->placement.application_credential_secret, ==, "s3cr3t");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/config/defaults", test_defaults_match_shipped_file);
    g_test_add_func("/config/documents-every-key", test_shipped_file_documents_every_key);
    g_test_add_func("/config/values", test_values);
    g_test_add_func("/config/footprint-and-metrics", test_footprint_and_metrics);
    g_test_add_func("/config/tuning", test_tuning);
    g_test_add_func("/config/hostile-value-message", test_hostile_value_message);
    g_test_add_func("/config/reload", test_reload);
    g_test_add_func("/config/reload-keys-documented", test_reload_keys_documented);
    g_test_add_func("/config/placement", test_placement);
    for (gsize i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
        g_autofree char *name = g_strdup_printf("/config/bad/%zu", i);

        g_test_add_data_func(name, &bad_cases[i], test_bad);
    }
    return g_test_run();
}
