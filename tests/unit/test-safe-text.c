/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* safe-text: hostile strings on their way to the log, a terminal, D-Bus. */
#include "config.h"

#include <string.h>

#include <json-glib/json-glib.h>

#include "safe-text.h"

typedef struct {
    const char *in;
    gssize len; /* -1: up to the NUL */
    gsize max;
    const char *out;
} Case;

static const Case log_cases[] = {
    {"vnet0", -1, 256, "vnet0"},
    {"", -1, 256, ""},
    {"caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x90\x98", -1, 256,
     "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x90\x98"},
    /* A forged log line, a terminal escape sequence, a carriage return. */
    {"web01\nfootprintd-Message: all good", -1, 256, "web01\\x0afootprintd-Message: all good"},
    {"vm\x1b[31mred\x1b[0m", -1, 256, "vm\\x1b[31mred\\x1b[0m"},
    {"a\rb\tc\x7f", -1, 256, "a\\x0db\\x09c\\x7f"},
    /* C1 CSI (U+009B), the Unicode line and paragraph separators. */
    {"vm\xc2\x9b"
     "31m",
     -1, 256, "vm\\x9b31m"},
    {"a\xe2\x80\xa8"
     "b\xe2\x80\xa9",
     -1, 256, "a\\u2028b\\u2029"},
    /* Not UTF-8: each byte escaped, what follows kept. */
    {"bad\xff\xfeok", -1, 256, "bad\\xff\\xfeok"},
    {"\x80lone", -1, 256, "\\x80lone"},
    {"cut\xe6\x97", -1, 256, "cut\\xe6\\x97"},
    {"over\xc0\xaflong", -1, 256, "over\\xc0\\xaflong"},
    {"surrogate\xed\xa0\x80", -1, 256, "surrogate\\xed\\xa0\\x80"},
    /* Bounded: at most max bytes of the input, never inside a character. */
    {"abcdef", -1, 3, "abc..."},
    {"abc", -1, 3, "abc"},
    {"ab\xe6\x97\xa5", -1, 4, "ab..."},
    {"ab\xe6\x97\xa5", -1, 5, "ab\xe6\x97\xa5"},
    {"\n\n\n\n", -1, 2, "\\x0a\\x0a..."},
};

static const Case utf8_cases[] = {
    {"vnet0", -1, 0, "vnet0"},
    /* Controls are kept: D-Bus and JSON carry them; only UTF-8 matters. */
    {"vm\x1b[31m\n", -1, 0, "vm\x1b[31m\n"},
    {"tap\xff\xfe", -1, 0, "tap\\xff\\xfe"},
    {"eth\xc3", -1, 0, "eth\\xc3"},
    {"a\0b", 3, 0, "a\\x00b"},
    {"ab\xe6\x97\xa5", 5, 0, "ab\xe6\x97\xa5"},
    {"ab\xe6\x97\xa5", 4, 0, "ab\\xe6\\x97"},
};

static void test_sanitize(void)
{
    for (guint i = 0; i < G_N_ELEMENTS(log_cases); i++) {
        g_autofree char *out = fp_text_sanitize(log_cases[i].in, log_cases[i].max);

        g_assert_true(g_utf8_validate(out, -1, NULL));
        g_assert_null(strpbrk(out, "\n\r\t\x1b\x7f"));
        if (strcmp(out, log_cases[i].out) != 0)
            g_error("case %u: '%s', expected '%s'", i, out, log_cases[i].out);
    }
}

static void test_utf8(void)
{
    for (guint i = 0; i < G_N_ELEMENTS(utf8_cases); i++) {
        g_autofree char *out = fp_text_utf8(utf8_cases[i].in, utf8_cases[i].len);
        g_autoptr(GVariant) v = NULL;

        g_assert_true(g_utf8_validate(out, -1, NULL));
        if (strcmp(out, utf8_cases[i].out) != 0)
            g_error("case %u: '%s', expected '%s'", i, out, utf8_cases[i].out);
        if (utf8_cases[i].len < 0) {
            v = g_variant_ref_sink(fp_text_variant(utf8_cases[i].in));
            g_assert_cmpstr(g_variant_get_string(v, NULL), ==, utf8_cases[i].out);
        }
    }
}

/* Every byte value in every position: the output is always one line of
 * UTF-8 without controls, and what is valid comes through. */
static void test_all_bytes(void)
{
    for (guint b = 1; b < 256; b++) {
        char in[] = {'x', (char)b, 'y', 0};
        g_autofree char *log = fp_text_sanitize(in, 256);
        g_autofree char *data = fp_text_utf8(in, -1);

        g_assert_true(g_utf8_validate(log, -1, NULL));
        g_assert_true(g_utf8_validate(data, -1, NULL));
        for (const char *p = log; *p; p = g_utf8_next_char(p))
            g_assert_false(fp_text_is_control(g_utf8_get_char(p)));
        g_assert_true(g_str_has_prefix(log, "x") && g_str_has_suffix(log, "y"));
        if (b < 0x20 || b == 0x7f || b >= 0x80)
            g_assert_cmpuint(strlen(log), ==, 6); /* x\xNNy */
        else
            g_assert_cmpstr(log, ==, in);
        if (b < 0x80)
            g_assert_cmpstr(data, ==, in);
    }
}

static char *json_string(const char *s)
{
    GString *out = g_string_new(NULL);

    fp_text_json_string(out, s);
    return g_string_free(out, FALSE);
}

/* The JSON string of @s parses back (json-glib) to @s made valid. */
static void assert_round_trip(const char *s)
{
    g_autofree char *text = json_string(s);
    g_autofree char *doc = g_strdup_printf("[%s]", text);
    g_autofree char *valid = g_utf8_make_valid(s, -1);
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) error = NULL;

    g_assert_true(json_parser_load_from_data(parser, doc, -1, &error));
    g_assert_no_error(error);
    g_assert_cmpstr(
        json_array_get_string_element(json_node_get_array(json_parser_get_root(parser)), 0), ==,
        valid);
}

/* JSON strings (hints.json, footprintctl --json): quotes and backslashes
 * escaped, every control as \uXXXX (C0, DEL, C1 such as U+009B, the one-
 * character CSI, U+2028), what is not UTF-8 as U+FFFD; text passes. */
static void test_json_string(void)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"web-1", "\"web-1\""},
        {"a\"b\\c", "\"a\\\"b\\\\c\""},
        {"l1\nl2\tx", "\"l1\\nl2\\tx\""},
        {"\x1b[31mred", "\"\\u001b[31mred\""},
        {"del\x7f", "\"del\\u007f\""},
        {"csi\xc2\x9b"
         "2J",
         "\"csi\\u009b2J\""},
        {"ls\xe2\x80\xa8", "\"ls\\u2028\""},
        {"caf\xc3\xa9 \xc2\xa0", "\"caf\xc3\xa9 \xc2\xa0\""},
        {"bad\xff", "\"bad\xef\xbf\xbd\""},
    };
    g_autofree char *null = json_string(NULL);

    g_assert_cmpstr(null, ==, "null");
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *got = json_string(cases[i].in);

        g_assert_cmpstr(got, ==, cases[i].out);
        assert_round_trip(cases[i].in);
    }
    for (int c = 1; c < 256; c++) {
        char s[2] = {(char)c, 0};
        g_autofree char *got = json_string(s);

        for (const char *p = got; *p; p++)
            g_assert_true((guchar)*p >= 0x20 && (guchar)*p != 0x7f);
        assert_round_trip(s);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/safe-text/sanitize", test_sanitize);
    g_test_add_func("/safe-text/utf8", test_utf8);
    g_test_add_func("/safe-text/all-bytes", test_all_bytes);
    g_test_add_func("/safe-text/json-string", test_json_string);
    return g_test_run();
}
