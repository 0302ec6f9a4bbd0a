/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Tests for tuning/journal.c: entries survive a "crash" (the journal
 * dropped without undoing and opened again), are replayed newest first by
 * their knob, stay when an undo fails for a transient reason, go when it
 * never can; a second change keeps the first previous value; a half-written
 * entry (.tmp) is a change that was never made.
 */
#include "config.h"

#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "fp-error.h"
#include "journal.h"
#include "test-tmpdir.h"

/* A knob that records what it undid; "stuck" objects fail transiently,
 * "broken" ones for good. */
typedef struct {
    GString *log;
} FakeKnob;

static gboolean fake_undo(gpointer knob, const FpJournalEntry *e, GError **error)
{
    FakeKnob *k = knob;

    if (g_str_equal(e->object, "stuck")) {
        g_set_error(error, FP_ERROR, FP_ERROR_IO, "%s: busy", e->object);
        return FALSE;
    }
    if (g_str_equal(e->object, "broken")) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "%s: cannot read '%s'", e->object,
                    e->previous);
        return FALSE;
    }
    g_string_append_printf(k->log, "%s=%s;", e->object, e->previous);
    return TRUE;
}

static const FpKnobClass fake_class = {"fake", fake_undo};

static guint count_files(const char *dir)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    guint n = 0;

    while (d && g_dir_read_name(d))
        n++;
    return n;
}

static void test_crash_and_replay(void)
{
    g_autofree char *tmp = fp_test_tmpdir("test-journal");
    g_autofree char *dir = g_build_filename(tmp, "tuning", NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
    FakeKnob fake = {g_string_new(NULL)};
    FpKnob knobs[] = {{&fake_class, &fake}};
    FpJournal *j = fp_journal_open(dir, &error);
    const FpJournalEntry *e;

    g_assert_no_error(error);
    g_assert_nonnull(fp_journal_add(j, "fake", "a", "a0", "a1", "why a", NULL, &error));
    e = fp_journal_add(j, "fake", "b", "b0", "b1", NULL, "vm-1", &error);
    g_assert_nonnull(e);
    /* A second change of b: its previous value stays b0. */
    g_assert_true(fp_journal_update(j, e->seq, "b2", "again", &error));
    g_assert_nonnull(fp_journal_add(j, "fake", "c", "c0", "c1", NULL, "vm-2", &error));
    g_assert_no_error(error);
    g_assert_cmpuint(count_files(dir), ==, 3);
    /* "Crash": dropped without undoing; a half-written entry lies around. */
    fp_journal_free(j);
    {
        g_autofree char *tmpfile = g_build_filename(dir, "0000000000000009.entry.tmp", NULL);

        g_assert_true(g_file_set_contents(tmpfile, "[change]\nknob=fa", -1, NULL));
    }
    j = fp_journal_open(dir, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(fp_journal_size(j), ==, 3);
    g_assert_cmpuint(count_files(dir), ==, 3); /* the .tmp is gone */
    e = fp_journal_find(j, "fake", "b");
    g_assert_nonnull(e);
    g_assert_cmpstr(e->previous, ==, "b0");
    g_assert_cmpstr(e->value, ==, "b2");
    g_assert_cmpstr(e->reason, ==, "again");
    g_assert_cmpstr(e->vm, ==, "vm-1");
    /* One VM's entries only, then all the others, newest first. */
    g_assert_cmpuint(fp_journal_replay(j, knobs, 1, "vm-2", errors), ==, 0);
    g_assert_cmpstr(fake.log->str, ==, "c=c0;");
    g_assert_cmpuint(fp_journal_replay(j, knobs, 1, NULL, errors), ==, 0);
    g_assert_cmpstr(fake.log->str, ==, "c=c0;b=b0;a=a0;");
    g_assert_cmpuint(errors->len, ==, 0);
    g_assert_cmpuint(fp_journal_size(j), ==, 0);
    g_assert_cmpuint(count_files(dir), ==, 0);
    /* New entries continue the numbering: never reuse a number. */
    e = fp_journal_add(j, "fake", "d", "d0", "d1", NULL, NULL, &error);
    g_assert_cmpuint(e->seq, ==, 4);
    fp_journal_free(j);
    g_string_free(fake.log, TRUE);
    fp_test_rm_rf(dir);
    fp_test_rm_rf(tmp);
}

static void test_failures(void)
{
    g_autofree char *dir = fp_test_tmpdir("test-journal");
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
    FakeKnob fake = {g_string_new(NULL)};
    FpKnob knobs[] = {{&fake_class, &fake}};
    g_autoptr(FpJournal) j = fp_journal_open(dir, &error);

    g_assert_nonnull(fp_journal_add(j, "fake", "stuck", "s0", "s1", NULL, NULL, &error));
    g_assert_nonnull(fp_journal_add(j, "fake", "broken", "x0", "x1", NULL, NULL, &error));
    g_assert_nonnull(fp_journal_add(j, "nosuch", "n", "n0", "n1", NULL, NULL, &error));
    g_assert_nonnull(fp_journal_add(j, "fake", "ok", "o0", "o1", NULL, NULL, &error));
    /* The transient failure stays (tried again later); the others go. */
    g_assert_cmpuint(fp_journal_replay(j, knobs, 1, NULL, errors), ==, 1);
    g_assert_cmpstr(fake.log->str, ==, "ok=o0;");
    g_assert_cmpuint(errors->len, ==, 3);
    g_assert_cmpstr(errors->pdata[0], ==,
                    "journal entry 3: unknown knob 'nosuch' (cannot be undone; entry dropped)");
    g_assert_cmpstr(errors->pdata[1], ==,
                    "broken: cannot read 'x0' (cannot be undone; entry "
                    "dropped)");
    g_assert_cmpstr(errors->pdata[2], ==, "stuck: busy");
    g_assert_cmpuint(fp_journal_size(j), ==, 1);
    g_assert_cmpuint(count_files(dir), ==, 1);
    g_string_free(fake.log, TRUE);
    g_clear_pointer(&j, fp_journal_free);
    fp_test_rm_rf(dir);
}

/* An entry that cannot be read stops the open: its change could not be
 * undone, and starting over it would forget it. */
static void test_bad_entry(void)
{
    static const char *const bad[] = {
        "not a key file",
        "[change]\nseq=1\nknob=tc\nobject=eth0\nprevious=noqueue 0:\ntime_us=1\n",
        "[change]\nseq=x\nknob=tc\nobject=eth0\nprevious=a\nvalue=b\ntime_us=1\n",
        "[change]\nseq=1\nknob=\nobject=eth0\nprevious=a\nvalue=b\ntime_us=1\n",
    };

    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autofree char *dir = fp_test_tmpdir("test-journal");
        g_autofree char *path = g_build_filename(dir, "0000000000000001.entry", NULL);
        g_autoptr(GError) error = NULL;

        g_assert_true(g_file_set_contents(path, bad[i], -1, NULL));
        g_assert_null(fp_journal_open(dir, &error));
        g_assert_error(error, FP_ERROR, FP_ERROR_INVALID);
        g_assert_true(g_str_has_prefix(error->message, "journal entry '"));
        g_assert_null(strchr(error->message, '\n'));
        fp_test_rm_rf(dir);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/journal/crash-and-replay", test_crash_and_replay);
    g_test_add_func("/journal/failures", test_failures);
    g_test_add_func("/journal/bad-entry", test_bad_entry);
    return g_test_run();
}
