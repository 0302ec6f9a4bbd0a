/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The undo journal (journal.h): DIR/NNNNNNNNNNNNNNNN.entry, one key file
 * per change in force, NNNN its sequence number in hex.  Written as
 * NAME.tmp, fsync'ed, renamed over NAME, and the directory fsync'ed, so
 * that after a crash an entry is either whole or absent.  A .tmp file left
 * by a crash is a change that was never made (the entry is written before
 * the change): it is deleted.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "fp-error.h"
#include "journal.h"

#define ENTRY_SUFFIX ".entry"
#define ENTRY_GROUP "change"
/* An entry is a few hundred bytes; anything much larger is not ours. */
#define ENTRY_MAX_SIZE (64 * 1024)

struct _FpJournal {
    char *dir;
    GPtrArray *entries; /* FpJournalEntry, by seq */
    guint64 next_seq;
};

void fp_journal_entry_free(FpJournalEntry *e)
{
    if (!e)
        return;
    g_free(e->knob);
    g_free(e->object);
    g_free(e->previous);
    g_free(e->value);
    g_free(e->reason);
    g_free(e->vm);
    g_free(e);
}

static char *entry_path(FpJournal *self, guint64 seq)
{
    g_autofree char *name = g_strdup_printf("%016" G_GINT64_MODIFIER "x" ENTRY_SUFFIX, seq);

    return g_build_filename(self->dir, name, NULL);
}

static gboolean sync_dir(const char *dir, GError **error)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0 || fsync(fd) < 0) {
        int saved = errno;

        if (fd >= 0)
            close(fd);
        g_set_error(error, FP_ERROR, FP_ERROR_IO, "journal '%s': cannot sync the directory: %s",
                    dir, g_strerror(saved));
        return FALSE;
    }
    close(fd);
    return TRUE;
}

/* NAME.tmp, fsync, rename to NAME, fsync the directory. */
static gboolean write_durably(const char *dir, const char *path, const char *data, GError **error)
{
    g_autofree char *tmp = g_strconcat(path, ".tmp", NULL);
    gsize len = strlen(data), done = 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

    if (fd < 0) {
        g_set_error(error, FP_ERROR, FP_ERROR_IO, "journal: cannot create '%s': %s", tmp,
                    g_strerror(errno));
        return FALSE;
    }
    while (done < len) {
        ssize_t n = write(fd, data + done, len - done);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        done += (gsize)n;
    }
    if (done < len || fsync(fd) < 0) {
        int saved = errno;

        close(fd);
        g_unlink(tmp);
        g_set_error(error, FP_ERROR, FP_ERROR_IO, "journal: cannot write '%s': %s", tmp,
                    g_strerror(saved ? saved : EIO));
        return FALSE;
    }
    close(fd);
    if (g_rename(tmp, path) < 0) {
        int saved = errno;

        g_unlink(tmp);
        g_set_error(error, FP_ERROR, FP_ERROR_IO, "journal: cannot rename '%s': %s", tmp,
                    g_strerror(saved));
        return FALSE;
    }
    return sync_dir(dir, error);
}

static char *entry_to_data(const FpJournalEntry *e)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();

    g_key_file_set_uint64(kf, ENTRY_GROUP, "seq", e->seq);
    g_key_file_set_string(kf, ENTRY_GROUP, "knob", e->knob);
    g_key_file_set_string(kf, ENTRY_GROUP, "object", e->object);
    g_key_file_set_string(kf, ENTRY_GROUP, "previous", e->previous);
    g_key_file_set_string(kf, ENTRY_GROUP, "value", e->value);
    if (e->reason)
        g_key_file_set_string(kf, ENTRY_GROUP, "reason", e->reason);
    if (e->vm)
        g_key_file_set_string(kf, ENTRY_GROUP, "vm", e->vm);
    g_key_file_set_int64(kf, ENTRY_GROUP, "time_us", e->real_us);
    return g_key_file_to_data(kf, NULL, NULL);
}

/**
 * fp_journal_entry_parse:
 * @data: an entry file's contents
 * @len: its length
 * @origin: its name, for messages
 * @entry: (out): the entry
 * @error: return location for a #GError
 *
 * Returns: whether @data is a whole entry (knob, object, previous and
 * value present, valid UTF-8)
 */
gboolean fp_journal_entry_parse(const char *data, gsize len, const char *origin,
                                FpJournalEntry **entry, GError **error)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autoptr(GError) local = NULL;
    g_autoptr(FpJournalEntry) e = g_new0(FpJournalEntry, 1);
    static const char *const required[] = {"knob", "object", "previous", "value"};
    char **fields[] = {&e->knob, &e->object, &e->previous, &e->value};

    if (len > ENTRY_MAX_SIZE ||
        !g_key_file_load_from_data(kf, data, len, G_KEY_FILE_NONE, &local)) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "journal entry '%s': %s", origin,
                    local ? local->message : "too large");
        return FALSE;
    }
    e->seq = g_key_file_get_uint64(kf, ENTRY_GROUP, "seq", &local);
    for (gsize i = 0; !local && i < G_N_ELEMENTS(required); i++)
        *fields[i] = g_key_file_get_string(kf, ENTRY_GROUP, required[i], &local);
    if (!local)
        e->real_us = g_key_file_get_int64(kf, ENTRY_GROUP, "time_us", &local);
    if (local) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "journal entry '%s': %s", origin,
                    local->message);
        return FALSE;
    }
    e->reason = g_key_file_get_string(kf, ENTRY_GROUP, "reason", NULL);
    e->vm = g_key_file_get_string(kf, ENTRY_GROUP, "vm", NULL);
    for (gsize i = 0; i < G_N_ELEMENTS(fields); i++) {
        if (!g_utf8_validate(*fields[i], -1, NULL) || !**fields[i]) {
            g_set_error(error, FP_ERROR, FP_ERROR_INVALID,
                        "journal entry '%s': %s is empty or "
                        "not UTF-8",
                        origin, required[i]);
            return FALSE;
        }
    }
    *entry = g_steal_pointer(&e);
    return TRUE;
}

static gint by_seq(gconstpointer a, gconstpointer b)
{
    const FpJournalEntry *x = *(const FpJournalEntry *const *)a;
    const FpJournalEntry *y = *(const FpJournalEntry *const *)b;

    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/**
 * fp_journal_open:
 * @dir: the journal's directory (created, mode 0700, when missing)
 * @error: return location for a #GError
 *
 * Reads the entries a previous run left: changes still in force.  An entry
 * that cannot be read is an error: its change could not be undone.
 *
 * Returns: (transfer full) (nullable): the journal
 */
FpJournal *fp_journal_open(const char *dir, GError **error)
{
    g_autoptr(FpJournal) self = g_new0(FpJournal, 1);
    g_autoptr(GDir) d = NULL;
    g_autoptr(GError) local = NULL;
    const char *name;

    self->dir = g_strdup(dir);
    self->entries = g_ptr_array_new_with_free_func((GDestroyNotify)fp_journal_entry_free);
    self->next_seq = 1;
    if (g_mkdir_with_parents(dir, 0700) < 0) {
        g_set_error(error, FP_ERROR, FP_ERROR_IO, "journal: cannot create '%s': %s", dir,
                    g_strerror(errno));
        return NULL;
    }
    d = g_dir_open(dir, 0, &local);
    if (!d) {
        g_set_error(error, FP_ERROR, FP_ERROR_IO, "journal: %s", local->message);
        return NULL;
    }
    while ((name = g_dir_read_name(d))) {
        g_autofree char *path = g_build_filename(dir, name, NULL);
        g_autofree char *data = NULL;
        gsize len = 0;
        FpJournalEntry *e = NULL;

        if (g_str_has_suffix(name, ".tmp")) {
            /* Written before a change that was never made: nothing to undo. */
            g_unlink(path);
            continue;
        }
        if (!g_str_has_suffix(name, ENTRY_SUFFIX))
            continue;
        if (!g_file_get_contents(path, &data, &len, &local)) {
            g_set_error(error, FP_ERROR, FP_ERROR_IO, "journal: %s", local->message);
            return NULL;
        }
        if (!fp_journal_entry_parse(data, len, path, &e, error))
            return NULL;
        g_ptr_array_add(self->entries, e);
        self->next_seq = MAX(self->next_seq, e->seq + 1);
    }
    g_ptr_array_sort(self->entries, by_seq);
    return g_steal_pointer(&self);
}

void fp_journal_free(FpJournal *self)
{
    if (!self)
        return;
    g_free(self->dir);
    g_ptr_array_unref(self->entries);
    g_free(self);
}

const char *fp_journal_dir(FpJournal *self)
{
    return self->dir;
}

/**
 * fp_journal_add:
 * @journal: a journal
 * @knob: the knob about to make the change
 * @object: what it changes
 * @previous: the value in force now
 * @value: the value it will set
 * @reason: (nullable): why
 * @vm: (nullable): the VM the change is for
 * @error: return location for a #GError
 *
 * Writes the entry down, durably.  Make the change only once this
 * returned.
 *
 * Returns: (transfer none) (nullable): the entry, owned by the journal
 */
const FpJournalEntry *fp_journal_add(FpJournal *self, const char *knob, const char *object,
                                     const char *previous, const char *value, const char *reason,
                                     const char *vm, GError **error)
{
    g_autoptr(FpJournalEntry) e = g_new0(FpJournalEntry, 1);
    g_autofree char *path = NULL, *data = NULL;

    e->seq = self->next_seq;
    e->knob = g_strdup(knob);
    e->object = g_strdup(object);
    e->previous = g_strdup(previous);
    e->value = g_strdup(value);
    e->reason = g_strdup(reason);
    e->vm = g_strdup(vm);
    e->real_us = g_get_real_time();
    path = entry_path(self, e->seq);
    data = entry_to_data(e);
    if (!write_durably(self->dir, path, data, error))
        return NULL;
    self->next_seq++;
    g_ptr_array_add(self->entries, e);
    return g_steal_pointer(&e); /* the array owns it */
}

static FpJournalEntry *find_seq(FpJournal *self, guint64 seq, guint *index)
{
    for (guint i = 0; i < self->entries->len; i++) {
        FpJournalEntry *e = g_ptr_array_index(self->entries, i);

        if (e->seq == seq) {
            if (index)
                *index = i;
            return e;
        }
    }
    return NULL;
}

/**
 * fp_journal_update:
 * @journal: a journal
 * @seq: an entry
 * @value: the value about to replace the one footprintd set
 * @reason: (nullable): why
 * @error: return location for a #GError
 *
 * For a second change of an object footprintd already changed: the
 * previous value stays the one before the first change.
 */
gboolean fp_journal_update(FpJournal *self, guint64 seq, const char *value, const char *reason,
                           GError **error)
{
    FpJournalEntry *e = find_seq(self, seq, NULL);
    FpJournalEntry copy;
    g_autofree char *path = NULL, *data = NULL;

    if (!e) {
        g_set_error(error, FP_ERROR, FP_ERROR_NOT_FOUND, "journal: no entry %" G_GUINT64_FORMAT,
                    seq);
        return FALSE;
    }
    copy = *e; /* its strings borrowed */
    copy.value = (char *)value;
    copy.reason = (char *)reason;
    path = entry_path(self, seq);
    data = entry_to_data(&copy);
    if (!write_durably(self->dir, path, data, error))
        return FALSE;
    g_free(e->value);
    e->value = g_strdup(value);
    g_free(e->reason);
    e->reason = g_strdup(reason);
    return TRUE;
}

/**
 * fp_journal_remove:
 * @journal: a journal
 * @seq: an entry whose change was undone (or is gone with its object)
 * @error: return location for a #GError
 */
gboolean fp_journal_remove(FpJournal *self, guint64 seq, GError **error)
{
    g_autofree char *path = entry_path(self, seq);
    guint index;

    if (!find_seq(self, seq, &index))
        return TRUE;
    if (g_unlink(path) < 0 && errno != ENOENT) {
        g_set_error(error, FP_ERROR, FP_ERROR_IO, "journal: cannot remove '%s': %s", path,
                    g_strerror(errno));
        return FALSE;
    }
    g_ptr_array_remove_index(self->entries, index);
    return sync_dir(self->dir, error);
}

/**
 * fp_journal_find:
 * @journal: a journal
 * @knob: a knob
 * @object: an object
 *
 * Returns: (transfer none) (nullable): the entry of @knob's change to
 * @object, if one is in force
 */
const FpJournalEntry *fp_journal_find(FpJournal *self, const char *knob, const char *object)
{
    for (guint i = 0; i < self->entries->len; i++) {
        const FpJournalEntry *e = g_ptr_array_index(self->entries, i);

        if (g_str_equal(e->knob, knob) && g_str_equal(e->object, object))
            return e;
    }
    return NULL;
}

/**
 * fp_journal_entries:
 * @journal: a journal
 *
 * Returns: (transfer container) (element-type FpJournalEntry): the entries
 * in force, oldest first (borrowed: valid until the journal changes)
 */
GPtrArray *fp_journal_entries(FpJournal *self)
{
    GPtrArray *copy = g_ptr_array_copy(self->entries, NULL, NULL);

    g_ptr_array_set_free_func(copy, NULL); /* the copy borrows them */
    return copy;
}

guint fp_journal_size(FpJournal *self)
{
    return self->entries->len;
}

/**
 * fp_journal_replay:
 * @journal: a journal
 * @knobs: (array length=n_knobs): the knobs that undo entries
 * @n_knobs: how many
 * @vm: (nullable): only the entries of this VM; %NULL: all
 * @errors: (element-type utf8): where the messages of failed undos go
 *
 * Undoes changes newest first, each by its knob, removing the entry of
 * each change undone.  An entry whose undo failed for a transient reason
 * (%FP_ERROR_IO: netlink, a busy device) stays, to be tried again; one that
 * can never be undone (no such knob, a value the knob cannot read) is
 * removed, its message kept in @errors.
 *
 * Returns: entries left (not undone)
 */
guint fp_journal_replay(FpJournal *self, const FpKnob *knobs, guint n_knobs, const char *vm,
                        GPtrArray *errors)
{
    g_autoptr(GPtrArray) all = fp_journal_entries(self);
    guint left = 0;

    for (guint i = all->len; i-- > 0;) {
        const FpJournalEntry *e = g_ptr_array_index(all, i);
        const FpKnob *knob = NULL;
        g_autoptr(GError) error = NULL;
        guint64 seq = e->seq;
        gboolean done;

        if (vm && g_strcmp0(e->vm, vm) != 0)
            continue;
        for (guint k = 0; k < n_knobs && !knob; k++)
            if (g_str_equal(knobs[k].klass->name, e->knob))
                knob = &knobs[k];
        if (!knob)
            g_set_error(&error, FP_ERROR, FP_ERROR_INVALID,
                        "journal entry %" G_GUINT64_FORMAT ": unknown knob '%s'", seq, e->knob);
        done = knob && knob->klass->undo(knob->self, e, &error);
        if (!done && g_error_matches(error, FP_ERROR, FP_ERROR_IO)) {
            g_ptr_array_add(errors, g_strdup(error->message));
            left++;
            continue;
        }
        if (!done)
            g_ptr_array_add(
                errors, g_strdup_printf("%s (cannot be undone; entry dropped)", error->message));
        g_clear_error(&error);
        if (!fp_journal_remove(self, seq, &error)) {
            g_ptr_array_add(errors, g_strdup(error->message));
            left++;
        }
    }
    return left;
}
