/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * journal: every change the tuner makes to the host, with the value it
 * replaced, written down (fsync, rename, fsync of the directory) *before*
 * the change is made, and removed once the change is undone.  One file per
 * change in a directory of the state dir, so that recording a change costs
 * the same however many are in force.  A journal found at start-up is what
 * a crashed run left in force: it is replayed backwards, newest first.
 *
 * The journal knows no knob: each entry names its knob ("tc", "ctmark"),
 * the object it changed, and the previous and new values as that knob
 * writes them; knob.h's vtable puts a previous value back.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * FpJournalEntry:
 * @seq: its number, increasing: the order changes were made in
 * @knob: which knob made the change ("tc", "ctmark")
 * @object: what was changed ("eth0", "tcp 10.0.0.2:40000 -> ...")
 * @previous: the value it replaced
 * @value: the value footprintd set
 * @reason: (nullable): why: VM, class, flow
 * @vm: (nullable): the uuid of the VM the change is for; undone when it
 *     goes away
 * @real_us: when it was made (wall clock, µs)
 */
typedef struct {
    guint64 seq;
    char *knob;
    char *object;
    char *previous;
    char *value;
    char *reason;
    char *vm;
    gint64 real_us;
} FpJournalEntry;

void fp_journal_entry_free(FpJournalEntry *entry);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpJournalEntry, fp_journal_entry_free)

typedef struct _FpJournal FpJournal;

FpJournal *fp_journal_open(const char *dir, GError **error);
void fp_journal_free(FpJournal *journal);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpJournal, fp_journal_free)

const char *fp_journal_dir(FpJournal *journal);
const FpJournalEntry *fp_journal_add(FpJournal *journal, const char *knob, const char *object,
                                     const char *previous, const char *value, const char *reason,
                                     const char *vm, GError **error);
gboolean fp_journal_update(FpJournal *journal, guint64 seq, const char *value, const char *reason,
                           GError **error);
gboolean fp_journal_remove(FpJournal *journal, guint64 seq, GError **error);
const FpJournalEntry *fp_journal_find(FpJournal *journal, const char *knob, const char *object);
GPtrArray *fp_journal_entries(FpJournal *journal);
guint fp_journal_size(FpJournal *journal);

/**
 * FpKnobClass:
 * @name: the knob's name in journal entries
 * @undo: puts @entry->previous back.  %TRUE when done, or when nothing is
 *     left to undo (the object is gone); %FALSE with %FP_ERROR_IO for a
 *     transient failure (the entry stays, to be tried again), with another
 *     code when it can never be undone.
 *
 * One kind of host state the tuner changes (systemd's qdisc vtable, one
 * per knob): tc.c's "tc", ctmark.c's "ctmark".
 */
typedef struct {
    const char *name;
    gboolean (*undo)(gpointer knob, const FpJournalEntry *entry, GError **error);
} FpKnobClass;

/**
 * FpKnob:
 * @klass: its class
 * @self: the instance @klass's functions take
 */
typedef struct {
    const FpKnobClass *klass;
    gpointer self;
} FpKnob;

guint fp_journal_replay(FpJournal *journal, const FpKnob *knobs, guint n_knobs, const char *vm,
                        GPtrArray *errors);

gboolean fp_journal_entry_parse(const char *data, gsize len, const char *origin,
                                FpJournalEntry **entry, GError **error);

G_END_DECLS
