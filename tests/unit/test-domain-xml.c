/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Tests for domain-xml and vm-json.
 *
 * Fixture tests in the style of libvirt's DO_TEST: every
 * $FP_TEST_DATA_DIR/domain-xml/NAME.xml is parsed, from the file and from
 * memory.  NAME.json holds the expected fp_vm_to_json() output (compared
 * member order included), NAME.err a substring the one-line error must
 * contain; exactly one of the two must exist.  FP_TEST_REGENERATE=1 rewrites
 * the existing .json files from the current output: review every diff by hand.
 *
 * Targeted tests cover what fixtures cannot: limits, timing, files that must
 * not be opened, special files, and the fields the JSON contract leaves out.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "domain-xml.h"
#include "fp-error.h"
#include "vm-json.h"

#define TEST_UUID "6f62d266-7dfd-4eaa-b31c-fc27a68565a9"

typedef struct {
    char *dir;
    char *name;
} FpFixture;

static void fp_fixture_free(FpFixture *fixture)
{
    g_free(fixture->dir);
    g_free(fixture->name);
    g_free(fixture);
}

static char *fp_test_data_dir(void)
{
    const char *env = g_getenv("FP_TEST_DATA_DIR");

    if (env != NULL && *env != '\0')
        return g_build_filename(env, "domain-xml", NULL);
#ifdef FP_TEST_DATA_DIR
    return g_build_filename(FP_TEST_DATA_DIR, "domain-xml", NULL);
#else
    return g_build_filename("tests/data", "domain-xml", NULL);
#endif
}

static char *fp_vm_json_string(const FpVm *vm, gboolean pretty)
{
    g_autoptr(JsonNode) node = fp_vm_to_json(vm);

    return fp_json_to_string(node, pretty);
}

/* Same text as fp_json_to_string(), from a JSON file, or NULL. */
static char *fp_json_file_compact(const char *path, GError **error)
{
    g_autoptr(JsonParser) parser = json_parser_new();

    if (!json_parser_load_from_file(parser, path, error))
        return NULL;
    return fp_json_to_string(json_parser_get_root(parser), FALSE);
}

/* ---- fixtures ----------------------------------------------------------- */

static void fp_check_fixture_error(const FpFixture *fx, const char *xml_path, const char *err_path,
                                   gboolean ok, const GError *error, const char *origin)
{
    g_autofree char *contents = NULL;
    g_autoptr(GError) local = NULL;
    char *newline;

    if (!g_file_get_contents(err_path, &contents, NULL, &local)) {
        g_test_fail_printf("%s: %s", fx->name, local->message);
        return;
    }
    newline = strchr(contents, '\n');
    if (newline != NULL)
        *newline = '\0';
    if (*contents == '\0') {
        g_test_fail_printf("%s: %s is empty", fx->name, err_path);
        return;
    }
    if (ok) {
        g_test_fail_printf("%s: parsing %s succeeded, expected an error containing '%s'", fx->name,
                           xml_path, contents);
        return;
    }
    if (error == NULL || error->domain != FP_ERROR) {
        g_test_fail_printf("%s: error is not in the FP_ERROR domain", fx->name);
        return;
    }
    if (strcmp(origin, xml_path) == 0)
        g_test_message("%s: %s", fx->name, error->message);
    if (strstr(error->message, contents) == NULL)
        g_test_fail_printf("%s: error '%s' does not contain '%s'", fx->name, error->message,
                           contents);
    else if (strchr(error->message, '\n') != NULL)
        g_test_fail_printf("%s: error '%s' is not one line", fx->name, error->message);
    else if (strstr(error->message, origin) == NULL)
        g_test_fail_printf("%s: error '%s' does not name '%s'", fx->name, error->message, origin);
}

static void fp_check_fixture_json(const FpFixture *fx, const char *json_path, const FpVm *vm,
                                  const FpVm *vm_mem)
{
    g_autofree char *pretty = fp_vm_json_string(vm, TRUE);
    g_autofree char *actual = fp_vm_json_string(vm, FALSE);
    g_autofree char *actual_mem = fp_vm_json_string(vm_mem, FALSE);
    g_autofree char *expected = NULL;
    g_autoptr(GError) error = NULL;

    if (g_strcmp0(actual, actual_mem) != 0) {
        g_test_fail_printf("%s: file and memory parses differ:\n%s\n%s", fx->name, actual,
                           actual_mem);
        return;
    }
    if (g_getenv("FP_TEST_REGENERATE") != NULL) {
        g_autofree char *text = g_strconcat(pretty, "\n", NULL);

        if (!g_file_set_contents(json_path, text, -1, &error))
            g_test_fail_printf("%s: %s", fx->name, error->message);
        return;
    }
    expected = fp_json_file_compact(json_path, &error);
    if (expected == NULL) {
        g_test_fail_printf("%s: cannot read %s: %s", fx->name, json_path, error->message);
        return;
    }
    if (strcmp(expected, actual) != 0)
        g_test_fail_printf("%s: output differs from %s\nexpected: %s\nactual:   %s\n%s", fx->name,
                           json_path, expected, actual, pretty);
}

static void test_fixture(gconstpointer data)
{
    const FpFixture *fx = data;
    g_autofree char *xml_path = g_strdup_printf("%s/%s.xml", fx->dir, fx->name);
    g_autofree char *json_path = g_strdup_printf("%s/%s.json", fx->dir, fx->name);
    g_autofree char *err_path = g_strdup_printf("%s/%s.err", fx->dir, fx->name);
    gboolean has_json = g_file_test(json_path, G_FILE_TEST_IS_REGULAR);
    gboolean has_err = g_file_test(err_path, G_FILE_TEST_IS_REGULAR);
    g_autoptr(FpVm) vm = NULL;
    g_autoptr(FpVm) vm_mem = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(GError) error_mem = NULL;
    g_autofree char *contents = NULL;
    gsize len = 0;
    gboolean ok;
    gboolean ok_mem;

    if (has_json == has_err) {
        g_test_fail_printf("%s: needs exactly one of %s.json and %s.err, found %s", xml_path,
                           fx->name, fx->name, has_json ? "both" : "neither");
        return;
    }
    if (!g_file_get_contents(xml_path, &contents, &len, &error)) {
        g_test_fail_printf("%s: %s", fx->name, error->message);
        return;
    }
    ok = fp_domain_xml_parse_file(xml_path, &vm, &error);
    ok_mem = fp_domain_xml_parse(contents, len, fx->name, &vm_mem, &error_mem);
    if (ok != (vm != NULL) || ok_mem != (vm_mem != NULL) || ok != (error == NULL) ||
        ok_mem != (error_mem == NULL)) {
        g_test_fail_printf("%s: return value, result and error disagree", fx->name);
        return;
    }

    if (has_err) {
        fp_check_fixture_error(fx, xml_path, err_path, ok, error, xml_path);
        fp_check_fixture_error(fx, xml_path, err_path, ok_mem, error_mem, fx->name);
        return;
    }
    if (!ok || !ok_mem) {
        g_test_fail_printf("%s: unexpected error: %s", fx->name,
                           (error != NULL ? error : error_mem)->message);
        return;
    }
    fp_check_fixture_json(fx, json_path, vm, vm_mem);
}

/* Every .json and .err belongs to an .xml; the directory holds fixtures. */
static void test_fixture_directory(gconstpointer data)
{
    const char *dir = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(GDir) gdir = g_dir_open(dir, 0, &error);
    guint n_xml = 0;
    const char *entry;

    if (gdir == NULL) {
        g_test_fail_printf("cannot open fixture directory (set FP_TEST_DATA_DIR): %s",
                           error->message);
        return;
    }
    while ((entry = g_dir_read_name(gdir)) != NULL) {
        g_autofree char *stem = NULL;
        g_autofree char *xml_path = NULL;

        if (g_str_has_suffix(entry, ".xml")) {
            n_xml++;
            continue;
        }
        if (g_str_has_suffix(entry, ".json"))
            stem = g_strndup(entry, strlen(entry) - strlen(".json"));
        else if (g_str_has_suffix(entry, ".err"))
            stem = g_strndup(entry, strlen(entry) - strlen(".err"));
        else {
            g_test_fail_printf("%s/%s: unexpected file in the fixture directory", dir, entry);
            continue;
        }
        xml_path = g_strdup_printf("%s/%s.xml", dir, stem);
        if (!g_file_test(xml_path, G_FILE_TEST_IS_REGULAR))
            g_test_fail_printf("%s/%s: no matching %s.xml", dir, entry, stem);
    }
    if (n_xml == 0)
        g_test_fail_printf("%s: no fixtures found", dir);
}

/* g_ptr_array_sort() passes pointers to the elements. */
static gint fp_compare_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds one test per NAME.xml, sorted so TAP numbering is stable. */
static void fp_add_fixture_tests(const char *dir, GPtrArray *fixtures)
{
    g_autoptr(GDir) gdir = g_dir_open(dir, 0, NULL);
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    const char *entry;

    if (gdir == NULL)
        return;
    while ((entry = g_dir_read_name(gdir)) != NULL) {
        if (g_str_has_suffix(entry, ".xml"))
            g_ptr_array_add(names, g_strndup(entry, strlen(entry) - strlen(".xml")));
    }
    g_ptr_array_sort(names, fp_compare_names);
    for (guint i = 0; i < names->len; i++) {
        FpFixture *fx = g_new0(FpFixture, 1);
        g_autofree char *path = NULL;

        fx->dir = g_strdup(dir);
        fx->name = g_strdup(g_ptr_array_index(names, i));
        path = g_strdup_printf("/domain-xml/fixture/%s", fx->name);
        g_ptr_array_add(fixtures, fx);
        g_test_add_data_func(path, fx, test_fixture);
    }
}

/* ---- limits ------------------------------------------------------------- */

static GString *fp_build_domain(guint n_interfaces)
{
    GString *xml = g_string_new("<domain type='kvm' id='7'>\n"
                                "  <name>many-nics</name>\n"
                                "  <uuid>" TEST_UUID "</uuid>\n"
                                "  <devices>\n");

    for (guint i = 0; i < n_interfaces; i++)
        g_string_append_printf(xml,
                               "    <interface type='bridge'>\n"
                               "      <mac address='52:54:00:%02x:%02x:%02x'/>\n"
                               "      <source bridge='br0'/>\n"
                               "      <target dev='vnet%u'/>\n"
                               "      <model type='virtio'/>\n"
                               "    </interface>\n",
                               (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff, i);
    g_string_append(xml, "  </devices>\n</domain>\n");
    return xml;
}

static void test_interfaces_limit(void)
{
    g_autoptr(GString) at_limit = fp_build_domain(FP_DOMAIN_XML_MAX_INTERFACES);
    g_autoptr(GString) over = fp_build_domain(FP_DOMAIN_XML_MAX_INTERFACES + 1);
    g_autoptr(GString) ten_thousand = fp_build_domain(10000);
    g_autoptr(FpVm) vm = NULL;
    g_autoptr(GError) error = NULL;
    FpVmInterface *last;
    double elapsed;

    g_assert_true(fp_domain_xml_parse(at_limit->str, at_limit->len, "at-limit", &vm, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(vm->interfaces->len, ==, FP_DOMAIN_XML_MAX_INTERFACES);
    last = g_ptr_array_index(vm->interfaces, vm->interfaces->len - 1);
    g_assert_cmpstr(last->target, ==, "vnet4095");
    g_assert_cmpstr(last->mac, ==, "52:54:00:00:0f:ff");

    g_assert_null(vm->problem);
    g_clear_pointer(&vm, fp_vm_free);

    /* libvirt took them: the VM is kept with the first 4096 and a problem. */
    g_assert_true(fp_domain_xml_parse(over->str, over->len, "over", &vm, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(vm->interfaces->len, ==, FP_DOMAIN_XML_MAX_INTERFACES);
    g_assert_cmpstr(vm->problem, ==, "4097 interfaces: only the first 4096 are read");
    g_clear_pointer(&vm, fp_vm_free);

    g_test_timer_start();
    g_assert_true(
        fp_domain_xml_parse(ten_thousand->str, ten_thousand->len, "ten-thousand", &vm, &error));
    elapsed = g_test_timer_elapsed();
    g_assert_no_error(error);
    g_assert_cmpuint(vm->interfaces->len, ==, FP_DOMAIN_XML_MAX_INTERFACES);
    g_assert_cmpstr(vm->problem, ==, "10000 interfaces: only the first 4096 are read");
    g_test_message("10,000 interfaces (%" G_GSIZE_FORMAT " bytes) read (4096) in %.3f s",
                   ten_thousand->len, elapsed);
    /* No wall-clock bound (tests assert behaviour): finishing at all shows
     * it does not hang; the time is reported for whoever reads the log. */
}

static void test_too_large(void)
{
    gsize len = FP_DOMAIN_XML_MAX_SIZE + 1;
    g_autofree char *buf = g_malloc(len);
    g_autofree char *dir = NULL;
    g_autofree char *path = NULL;
    g_autoptr(FpVm) vm = NULL;
    g_autoptr(GError) error = NULL;
    int fd;

    memset(buf, ' ', len);
    /* The buffer is length-delimited on purpose: no terminating NUL. */
    memcpy(buf, "<domain>", 8); // NOLINT(bugprone-not-null-terminated-result)
    g_assert_false(fp_domain_xml_parse(buf, len, "huge", &vm, &error));
    g_assert_error(error, FP_ERROR, FP_ERROR_INVALID);
    g_assert_nonnull(strstr(error->message, "too large (16777217 bytes, limit 16777216)"));
    g_clear_error(&error);

    /* A sparse file: refused from its size, without reading 1 GiB. */
    dir = g_dir_make_tmp("fp-test-domain-xml-XXXXXX", &error);
    g_assert_no_error(error);
    path = g_build_filename(dir, "huge.xml", NULL);
    fd = g_open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, (off_t)1 << 30), ==, 0);
    close(fd);
    g_assert_false(fp_domain_xml_parse_file(path, &vm, &error));
    g_assert_error(error, FP_ERROR, FP_ERROR_INVALID);
    g_assert_nonnull(strstr(error->message, "too large (1073741824 bytes"));
    g_assert_nonnull(strstr(error->message, path));
    g_unlink(path);
    g_rmdir(dir);
}

static void test_empty_and_null(void)
{
    g_autoptr(FpVm) vm = NULL;
    g_autoptr(GError) error = NULL;

    g_assert_false(fp_domain_xml_parse("", 0, "empty", &vm, &error));
    g_assert_error(error, FP_ERROR, FP_ERROR_INVALID);
    g_assert_cmpstr(error->message, ==, "domain XML 'empty': empty document");
    g_clear_error(&error);

    g_assert_false(fp_domain_xml_parse(NULL, 0, NULL, &vm, &error));
    g_assert_cmpstr(error->message, ==, "domain XML '(memory)': empty document");
    g_assert_null(vm);

    fp_vm_free(NULL);
    fp_vm_interface_free(NULL);
    fp_nova_free(NULL);
}

/* The parser must not read past @len: the copy has no terminating NUL. */
static void test_not_nul_terminated(void)
{
    static const char xml[] = "<domain type='kvm'><name>n</name><uuid>" TEST_UUID "</uuid>"
                              "<devices><interface type='bridge'><target dev='vnet0'/>"
                              "</interface></devices></domain>";
    gsize len = sizeof xml - 1;
    g_autofree char *exact = g_memdup2(xml, len);
    g_autoptr(FpVm) vm = NULL;
    g_autoptr(GError) error = NULL;

    g_assert_true(fp_domain_xml_parse(exact, len, "exact", &vm, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(vm->interfaces->len, ==, 1);
    g_clear_pointer(&vm, fp_vm_free);

    /* Cut in the middle: the rest of the buffer must be ignored. */
    g_assert_false(fp_domain_xml_parse(exact, 40, "cut", &vm, &error));
    g_assert_error(error, FP_ERROR, FP_ERROR_INVALID);
    g_assert_nonnull(strstr(error->message, "not well-formed XML"));
}

/* ---- hostile input ------------------------------------------------------ */

static void test_entity_bomb(void)
{
    g_autoptr(GString) xml = g_string_new("<?xml version='1.0'?>\n<!DOCTYPE domain [\n"
                                          "  <!ENTITY lol0 'lol'>\n");
    g_autoptr(FpVm) vm = NULL;
    g_autoptr(GError) error = NULL;
    double elapsed;

    for (int i = 1; i <= 10; i++) {
        g_string_append_printf(xml, "  <!ENTITY lol%d '", i);
        for (int j = 0; j < 10; j++)
            g_string_append_printf(xml, "&lol%d;", i - 1);
        g_string_append(xml, "'>\n");
    }
    g_string_append(xml, "]>\n<domain><name>&lol10;</name><uuid>" TEST_UUID "</uuid></domain>\n");

    g_test_timer_start();
    g_assert_false(fp_domain_xml_parse(xml->str, xml->len, "lol", &vm, &error));
    elapsed = g_test_timer_elapsed();
    g_assert_error(error, FP_ERROR, FP_ERROR_INVALID);
    g_assert_cmpstr(error->message, ==,
                    "domain XML 'lol': a document type declaration (DOCTYPE) is not allowed");
    g_test_message("entity bomb refused in %.3f s", elapsed);
}

static int fp_count_inotify_events(int fd)
{
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    int n = 0;

    for (;;) {
        ssize_t len = read(fd, buf, sizeof buf);

        if (len <= 0)
            return n;
        for (char *p = buf; p < buf + len;) {
            struct inotify_event *ev = (struct inotify_event *)p;

            n++;
            p += sizeof *ev + ev->len;
        }
    }
}

/*
 * External entities, parameter entities, an external DTD and XInclude all
 * point at a secret file; inotify proves the parser never opened it.
 */
static void test_external_entities(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = g_dir_make_tmp("fp-test-domain-xml-XXXXXX", &error);
    g_autofree char *secret = NULL;
    g_autofree char *uri = NULL;
    const char *secret_text = "FP-SECRET-5f1d2c";
    int ifd;
    int wd;
    char *docs[5] = {NULL};

    g_assert_no_error(error);
    secret = g_build_filename(dir, "secret", NULL);
    g_assert_true(g_file_set_contents(secret, secret_text, -1, &error));
    uri = g_filename_to_uri(secret, NULL, &error);
    g_assert_no_error(error);

    docs[0] = g_strdup_printf("<!DOCTYPE domain [<!ENTITY xxe SYSTEM '%s'>]>\n"
                              "<domain><name>&xxe;</name><uuid>" TEST_UUID "</uuid></domain>",
                              uri);
    docs[1] = g_strdup_printf("<!DOCTYPE domain [<!ENTITY %% p SYSTEM '%s'> %%p;]>\n"
                              "<domain><name>n</name><uuid>" TEST_UUID "</uuid></domain>",
                              uri);
    docs[2] = g_strdup_printf("<!DOCTYPE domain SYSTEM '%s'>\n"
                              "<domain><name>n</name><uuid>" TEST_UUID "</uuid></domain>",
                              uri);
    docs[3] = g_strdup_printf("<!DOCTYPE domain [<!ENTITY xxe SYSTEM '%s'>]>\n"
                              "<domain><name>n</name><uuid>" TEST_UUID "</uuid>"
                              "<description a='&xxe;'/></domain>",
                              uri);
    /* XInclude is not processed: the element is kept as is, inside our metadata. */
    docs[4] = g_strdup_printf("<domain><name>n</name><uuid>" TEST_UUID "</uuid><metadata>"
                              "<fp:footprint xmlns:fp='" FP_FOOTPRINT_XMLNS "'>"
                              "<xi:include xmlns:xi='http://www.w3.org/2001/XInclude'"
                              " href='%s' parse='text'/></fp:footprint></metadata></domain>",
                              uri);

    ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    g_assert_cmpint(ifd, >=, 0);
    wd = inotify_add_watch(ifd, secret, IN_OPEN | IN_ACCESS);
    g_assert_cmpint(wd, >=, 0);

    for (gsize i = 0; i < G_N_ELEMENTS(docs); i++) {
        g_autoptr(FpVm) vm = NULL;
        g_autoptr(GError) local = NULL;
        gboolean ok = fp_domain_xml_parse(docs[i], strlen(docs[i]), "xxe", &vm, &local);

        if (i < 4) {
            g_assert_false(ok);
            g_assert_error(local, FP_ERROR, FP_ERROR_INVALID);
            g_assert_nonnull(strstr(local->message, "DOCTYPE"));
            g_assert_null(strstr(local->message, secret_text));
        } else {
            g_assert_no_error(local);
            g_assert_nonnull(vm->footprint_xml);
            g_assert_null(strstr(vm->footprint_xml, secret_text));
            g_assert_cmpstr(vm->name, ==, "n");
        }
    }
    g_assert_cmpint(fp_count_inotify_events(ifd), ==, 0);

    /* Prove the watch works, or the check above proves nothing. */
    {
        g_autofree char *text = NULL;

        g_assert_true(g_file_get_contents(secret, &text, NULL, NULL));
        g_assert_cmpint(fp_count_inotify_events(ifd), >, 0);
    }
    close(ifd);
    for (gsize i = 0; i < G_N_ELEMENTS(docs); i++)
        g_free(docs[i]);
    g_unlink(secret);
    g_rmdir(dir);
}

/*
 * libxml2 2.9 is quadratic in the attributes of one element: these must be
 * refused before parsing, quickly.
 */
static void test_attribute_flood(void)
{
    g_autoptr(GString) xml = g_string_new("<domain");
    g_autoptr(FpVm) vm = NULL;
    g_autoptr(GError) error = NULL;
    double elapsed;

    for (guint i = 0; i < 200000; i++)
        g_string_append_printf(xml, " a%u='1'", i);
    g_string_append(xml, "><name>n</name><uuid>" TEST_UUID "</uuid></domain>");

    g_test_timer_start();
    g_assert_false(fp_domain_xml_parse(xml->str, xml->len, "attrs", &vm, &error));
    elapsed = g_test_timer_elapsed();
    g_assert_error(error, FP_ERROR, FP_ERROR_INVALID);
    g_assert_nonnull(strstr(error->message, "too many attributes"));
    g_test_message("200,000 attributes refused in %.3f s", elapsed);
}

/* Hostile values are quoted escaped and cut short, keeping messages one line. */
static void test_error_quoting(void)
{
    g_autoptr(GString) xml = g_string_new("<domain><name>n</name><uuid>");
    g_autoptr(GString) mac = g_string_new("<domain><name>n</name><uuid>" TEST_UUID "</uuid>"
                                          "<devices><interface type='bridge'><mac address='");
    g_autoptr(FpVm) vm = NULL;
    g_autoptr(GError) error = NULL;
    const FpVmInterface *nic;

    /* A character reference survives as a real newline. */
    g_string_append(xml, "&#10;[31m");
    for (int i = 0; i < 1000; i++)
        g_string_append_c(xml, 'z');
    g_string_append(xml, "</uuid></domain>");

    g_assert_false(fp_domain_xml_parse(xml->str, xml->len, "bad\nname\033", &vm, &error));
    g_assert_error(error, FP_ERROR, FP_ERROR_INVALID);
    g_test_message("%s", error->message);
    g_assert_null(strchr(error->message, '\n'));
    g_assert_null(strchr(error->message, '\033'));
    g_assert_true(g_str_has_prefix(error->message, "domain XML 'bad\\x0aname\\x1b': invalid "
                                                   "<uuid> '\\x0a[31mzzz"));
    /* 64 bytes of the value are quoted: 5 of "\n[31m", then 59 of 'z'. */
    g_assert_true(g_str_has_suffix(error->message,
                                   "[31m"
                                   "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"
                                   "...'"));

    /* The same value in an interface: a problem of that interface, quoted
     * the same way; the domain is kept. */
    g_string_append(mac, "&#10;[31m");
    for (int i = 0; i < 1000; i++)
        g_string_append_c(mac, 'z');
    g_string_append(mac, "'/><target dev='vnet0'/></interface></devices></domain>");
    g_clear_error(&error);
    g_assert_true(fp_domain_xml_parse(mac->str, mac->len, "n", &vm, &error));
    g_assert_no_error(error);
    nic = g_ptr_array_index(vm->interfaces, 0);
    g_test_message("%s", nic->problem);
    g_assert_true(nic->observable);
    g_assert_null(nic->mac);
    g_assert_true(g_str_has_prefix(nic->problem, "<mac address='\\x0a[31mzzz"));
    g_assert_true(g_str_has_suffix(nic->problem, "zzz...'>: not a MAC address: not used"));
    g_assert_null(strchr(nic->problem, '\n'));
}

/* ---- files -------------------------------------------------------------- */

static void test_special_files(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = g_dir_make_tmp("fp-test-domain-xml-XXXXXX", &error);
    g_autofree char *fifo = NULL;
    g_autofree char *missing = NULL;
    const char *paths[3];

    g_assert_no_error(error);
    fifo = g_build_filename(dir, "fifo.xml", NULL);
    missing = g_build_filename(dir, "missing.xml", NULL);
    g_assert_cmpint(mkfifo(fifo, 0600), ==, 0);

    /* A FIFO without a writer would block a plain open(): it must not. */
    paths[0] = fifo;
    paths[1] = "/dev/null";
    paths[2] = dir;
    for (gsize i = 0; i < G_N_ELEMENTS(paths); i++) {
        g_autoptr(FpVm) vm = NULL;
        g_autoptr(GError) local = NULL;

        g_assert_false(fp_domain_xml_parse_file(paths[i], &vm, &local));
        g_assert_error(local, FP_ERROR, FP_ERROR_INVALID);
        g_assert_nonnull(strstr(local->message, "not a regular file"));
        g_assert_nonnull(strstr(local->message, paths[i]));
    }
    {
        g_autoptr(FpVm) vm = NULL;

        g_assert_false(fp_domain_xml_parse_file(missing, &vm, &error));
        g_assert_error(error, FP_ERROR, FP_ERROR_NOT_FOUND);
        g_assert_nonnull(strstr(error->message, "No such file or directory"));
    }
    g_unlink(fifo);
    g_rmdir(dir);
}

/* ---- fields the JSON contract leaves out -------------------------------- */

static void test_bandwidth_and_source_kind(void)
{
    static const char xml[] =
        "<domain type='kvm'><name>bw</name><uuid>" TEST_UUID "</uuid><devices>\n"
        "<interface type='network'><source network='default' bridge='virbr0'/>"
        "<target dev='vnet0'/><bandwidth><inbound average='1000' peak='5000' floor='200'"
        " burst='1024'/><outbound average='128' peak='256' burst='256'/></bandwidth>"
        "</interface>\n"
        "<interface type='bridge'><source bridge='br0'/><target dev='vnet1'/>"
        "<bandwidth><outbound average='4294967295'/></bandwidth></interface>\n"
        "<interface type='direct'><source dev='eth0' mode='vepa'/><target dev='macvtap0'/>"
        "</interface>\n"
        "<interface type='ethernet'><target dev='tap0'/></interface>\n"
        "</devices></domain>";
    g_autoptr(FpVm) vm = NULL;
    g_autoptr(GError) error = NULL;
    FpVmInterface *iface;

    g_assert_true(fp_domain_xml_parse(xml, sizeof xml - 1, "bw", &vm, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(vm->interfaces->len, ==, 4);

    iface = g_ptr_array_index(vm->interfaces, 0);
    g_assert_cmpstr(iface->source, ==, "default");
    g_assert_cmpstr(iface->source_kind, ==, "network");
    g_assert_true(iface->bandwidth.has_inbound);
    g_assert_cmpuint(iface->bandwidth.inbound.average, ==, 1000);
    g_assert_cmpuint(iface->bandwidth.inbound.peak, ==, 5000);
    g_assert_cmpuint(iface->bandwidth.inbound.burst, ==, 1024);
    g_assert_cmpuint(iface->bandwidth.inbound.floor, ==, 200);
    g_assert_true(iface->bandwidth.has_outbound);
    g_assert_cmpuint(iface->bandwidth.outbound.average, ==, 128);
    g_assert_cmpuint(iface->bandwidth.outbound.peak, ==, 256);
    g_assert_cmpuint(iface->bandwidth.outbound.burst, ==, 256);
    g_assert_cmpuint(iface->bandwidth.outbound.floor, ==, 0);

    iface = g_ptr_array_index(vm->interfaces, 1);
    g_assert_cmpstr(iface->source_kind, ==, "bridge");
    g_assert_false(iface->bandwidth.has_inbound);
    g_assert_true(iface->bandwidth.has_outbound);
    g_assert_cmpuint(iface->bandwidth.outbound.average, ==, G_MAXUINT32);

    iface = g_ptr_array_index(vm->interfaces, 2);
    g_assert_cmpstr(iface->source, ==, "eth0");
    g_assert_cmpstr(iface->source_kind, ==, "dev");
    g_assert_false(iface->bandwidth.has_inbound || iface->bandwidth.has_outbound);

    iface = g_ptr_array_index(vm->interfaces, 3);
    g_assert_null(iface->source);
    g_assert_null(iface->source_kind);
    g_assert_true(iface->observable);
}

static void test_footprint_metadata(void)
{
    /* As libvirt stores it: the namespace declared on the element itself. */
    static const char own[] =
        "<domain><name>fp</name><uuid>" TEST_UUID "</uuid><metadata>"
        "<other:x xmlns:other='urn:other'/>"
        "<footprint:footprint xmlns:footprint='" FP_FOOTPRINT_XMLNS "' version='1'>"
        "<footprint:class confidence='0.92'>throughput</footprint:class>"
        "</footprint:footprint></metadata></domain>";
    /* Hand-written: declared on <domain>; the copy must declare it itself. */
    static const char inherited[] =
        "<domain xmlns:fp='" FP_FOOTPRINT_XMLNS "'><name>fp</name><uuid>" TEST_UUID "</uuid>"
        "<metadata><fp:footprint><fp:class>latency</fp:class></fp:footprint></metadata>"
        "</domain>";
    static const char none[] = "<domain><name>fp</name><uuid>" TEST_UUID "</uuid><metadata>"
                               "<footprint xmlns='urn:not-ours'/></metadata></domain>";
    g_autoptr(FpVm) vm = NULL;
    g_autoptr(GError) error = NULL;

    g_assert_true(fp_domain_xml_parse(own, sizeof own - 1, "own", &vm, &error));
    g_assert_cmpstr(vm->footprint_xml, ==,
                    "<footprint:footprint xmlns:footprint=\"" FP_FOOTPRINT_XMLNS
                    "\" version=\"1\"><footprint:class confidence=\"0.92\">throughput"
                    "</footprint:class></footprint:footprint>");
    g_clear_pointer(&vm, fp_vm_free);

    g_assert_true(fp_domain_xml_parse(inherited, sizeof inherited - 1, "inherited", &vm, &error));
    g_assert_cmpstr(vm->footprint_xml, ==,
                    "<fp:footprint xmlns:fp=\"" FP_FOOTPRINT_XMLNS
                    "\"><fp:class>latency</fp:class></fp:footprint>");
    g_clear_pointer(&vm, fp_vm_free);

    g_assert_true(fp_domain_xml_parse(none, sizeof none - 1, "none", &vm, &error));
    g_assert_no_error(error);
    g_assert_null(vm->footprint_xml);
}

static void fp_assert_members(JsonObject *object, const char *const *expected)
{
    g_autoptr(GList) members = json_object_get_members(object);
    GList *l = members;

    for (gsize i = 0; expected[i] != NULL; i++, l = l->next) {
        g_assert_nonnull(l);
        g_assert_cmpstr(l->data, ==, expected[i]);
    }
    g_assert_null(l);
}

/* The member names and order of the JSON contract, null and non-null cases. */
static void test_json_contract(void)
{
    static const char xml[] =
        "<domain><name>j</name><uuid>" TEST_UUID "</uuid><metadata>"
        "<nova:instance xmlns:nova='http://openstack.org/xmlns/libvirt/nova/1.1'>"
        "<nova:name>web</nova:name><nova:owner><nova:project "
        "uuid='0123456789abcdef0123456789abcdef'>"
        "demo</nova:project></nova:owner></nova:instance></metadata>"
        "<devices><interface type='hostdev'/></devices></domain>";
    static const char *const top[] = {"uuid",    "name", "name_truncated", "nova", "interfaces",
                                      "problem", NULL};
    static const char *const nova[] = {"instance_uuid", "name", "project", NULL};
    static const char *const project[] = {"uuid", "name", NULL};
    static const char *const iface[] = {"type",   "target",  "mac",     "source",
                                        "model",  "queues",  "ifindex", "observable",
                                        "reason", "problem", NULL};
    g_autoptr(FpVm) vm = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) node = NULL;
    g_autofree char *compact = NULL;
    JsonObject *root;
    JsonObject *object;

    g_assert_true(fp_domain_xml_parse(xml, sizeof xml - 1, "json", &vm, &error));
    g_assert_no_error(error);
    node = fp_vm_to_json(vm);
    root = json_node_get_object(node);
    fp_assert_members(root, top);
    object = json_object_get_object_member(root, "nova");
    fp_assert_members(object, nova);
    g_assert_cmpstr(json_object_get_string_member(object, "instance_uuid"), ==, TEST_UUID);
    fp_assert_members(json_object_get_object_member(object, "project"), project);
    object = json_array_get_object_element(json_object_get_array_member(root, "interfaces"), 0);
    fp_assert_members(object, iface);
    g_assert_true(json_object_get_null_member(object, "target"));
    g_assert_true(json_object_get_null_member(object, "ifindex")); /* offline: no host */
    g_assert_cmpint(json_object_get_int_member(object, "queues"), ==, 1);
    g_assert_false(json_object_get_boolean_member(object, "observable"));

    compact = fp_json_to_string(node, FALSE);
    g_assert_null(strchr(compact, '\n'));
}

int main(int argc, char **argv)
{
    g_autofree char *dir = fp_test_data_dir();
    g_autoptr(GPtrArray) fixtures = g_ptr_array_new_with_free_func((GDestroyNotify)fp_fixture_free);

    g_test_init(&argc, &argv, NULL);

    g_test_add_data_func("/domain-xml/fixtures/directory", dir, test_fixture_directory);
    fp_add_fixture_tests(dir, fixtures);
    g_test_add_func("/domain-xml/limits/interfaces", test_interfaces_limit);
    g_test_add_func("/domain-xml/limits/too-large", test_too_large);
    g_test_add_func("/domain-xml/limits/empty", test_empty_and_null);
    g_test_add_func("/domain-xml/limits/not-nul-terminated", test_not_nul_terminated);
    g_test_add_func("/domain-xml/hostile/entity-bomb", test_entity_bomb);
    g_test_add_func("/domain-xml/hostile/external-entities", test_external_entities);
    g_test_add_func("/domain-xml/hostile/attribute-flood", test_attribute_flood);
    g_test_add_func("/domain-xml/hostile/error-quoting", test_error_quoting);
    g_test_add_func("/domain-xml/file/special", test_special_files);
    g_test_add_func("/domain-xml/fields/bandwidth-source-kind", test_bandwidth_and_source_kind);
    g_test_add_func("/domain-xml/fields/footprint-metadata", test_footprint_metadata);
    g_test_add_func("/vm-json/contract", test_json_contract);

    return g_test_run();
}
