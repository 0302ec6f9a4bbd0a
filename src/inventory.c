/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The libvirt inventory.  One connection (URI from the config), its events
 * dispatched by libvirt-glib's event implementation on the GLib main loop
 * (no thread runs libvirt's own loop), and a VM index kept current from:
 *
 *   - a full resync (every active domain's live XML) after each connect;
 *   - lifecycle events (start, stop, crash, migration in and out);
 *   - device-added/removed (NIC hot-plug) and metadata-change events, which
 *     re-read the domain's XML;
 *   - a periodic re-resolution of tap names to ifindexes (taps appear, go,
 *     and are recreated under the same name with a new ifindex).
 *
 * When libvirtd goes away the VMs stay as they were (their taps and qemu
 * processes do not depend on libvirtd), the connection is retried with
 * exponential backoff, and the next connect resyncs everything.  Opening
 * the connection runs in a thread: a libvirtd that accepts but does not
 * answer (hung, stopped) would otherwise hold the main loop (sensing, the
 * bus, the watchdog) for as long as it hangs; keepalives bound the calls
 * made once connected.
 */
#include "config.h"

#include <string.h>
#include <gio/gio.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libvirt-glib/libvirt-glib.h>

#include "domain-xml.h"
#include "fp-cleanup.h"
#include "fp-error.h"
#include "inventory.h"
#include "safe-text.h"

#define BACKOFF_MIN_MS 500u
#define BACKOFF_MAX_MS 15000u
#define REFRESH_INTERVAL_MS 1000
#define KEEPALIVE_INTERVAL_S 5
#define KEEPALIVE_COUNT 3
/* A connection not opened after this long is reported as hanging. */
#define OPEN_SLOW_S 10

enum { EV_LIFECYCLE, EV_DEVICE_ADDED, EV_DEVICE_REMOVED, EV_METADATA, N_EVENTS };

struct _FpInventory {
    char *uri;
    FpVmIndex *index;
    virConnectPtr conn;
    int callback_ids[N_EVENTS];
    GSource *retry;        /* next connection attempt */
    GSource *refresh;      /* periodic tap name -> ifindex resolution */
    GSource *lost;         /* tears the connection down after libvirt closed it */
    GCancellable *opening; /* a virConnectOpen() in a thread, or NULL */
    gint64 opening_since_us;
    gboolean opening_logged; /* the slow open was logged */
    guint backoff_ms;
    char *last_error;
    guint64 connects, events, resyncs;
    guint64 domain_xml_errors; /* domains listed without the XML we could not use */
    GHashTable *rates;         /* tap name -> FpDeviceRate */
    guint rate_generation;
};

/* A tap's counters at the last refresh and the rates since the one before. */
typedef struct {
    guint64 rx_bytes, tx_bytes;
    gint64 when_us;
    double rx_bps, tx_bps;
    guint generation;
} FpDeviceRate;

static void schedule_connect(FpInventory *self, guint delay_ms);

/* libvirt prints every error on stderr by default; we report them ourselves. */
static void ignore_libvirt_error(void *user_data, virErrorPtr error)
{
}

/* libvirt's strings (domain names, device aliases, its messages, which
 * quote both) are chosen by whoever defines a domain: sanitized before
 * they reach the log or the bus. */
static char *safe(const char *s)
{
    return fp_text_sanitize(s != NULL ? s : "?", FP_TEXT_LOG_MAX);
}

static char *libvirt_error(void)
{
    return safe(virGetLastErrorMessage());
}

static void set_last_error(FpInventory *self, const char *message)
{
    g_free(self->last_error);
    self->last_error = g_strdup(message);
}

/* The domain's live XML as an FpVm.  XML that libvirt accepted and we
 * cannot use as a whole (a document our parser's bounds refuse) still
 * gives the VM, by uuid and name, without interfaces, with the reason. */
static FpVm *fetch_vm(FpInventory *self, virDomainPtr dom, GError **error)
{
    g_autofree char *name = safe(virDomainGetName(dom));
    g_autofree char *xml = virDomainGetXMLDesc(dom, 0);
    g_autofree char *origin = NULL;
    g_autoptr(GError) local = NULL;
    char uuid[VIR_UUID_STRING_BUFLEN] = "";
    FpVm *vm = NULL;

    if (!xml) {
        g_autofree char *why = libvirt_error();

        g_set_error(error, FP_ERROR, FP_ERROR_IO, "domain '%s': cannot read its XML: %s", name,
                    why);
        return NULL;
    }
    origin = g_strdup_printf("domain '%s'", name);
    if (fp_domain_xml_parse(xml, strlen(xml), origin, &vm, &local))
        return vm;
    virDomainGetUUIDString(dom, uuid);
    if (g_error_matches(local, FP_ERROR, FP_ERROR_INVALID))
        vm = fp_vm_new_unparsed(uuid, virDomainGetName(dom), local->message);
    if (!vm) {
        g_propagate_error(error, g_steal_pointer(&local));
        return NULL;
    }
    self->domain_xml_errors++;
    g_message("libvirt: %s; listed without its interfaces", local->message);
    return vm;
}

static guint count_mapped(FpInventory *self, const FpVm *vm)
{
    guint n = 0;

    for (guint i = 0; i < vm->interfaces->len; i++)
        n += fp_vm_index_get_ifindex(self->index, vm->uuid, i) != 0;
    return n;
}

/* Re-reads one domain: kept (with its new XML) while active, else forgotten. */
static void refresh_domain(FpInventory *self, virDomainPtr dom, const char *why)
{
    char uuid[VIR_UUID_STRING_BUFLEN] = "";
    g_autoptr(GError) error = NULL;
    g_autoptr(FpVm) vm = NULL;
    const FpVm *put;

    virDomainGetUUIDString(dom, uuid);
    if (virDomainIsActive(dom) == 1)
        vm = fetch_vm(self, dom, &error);
    if (!vm) {
        if (error)
            g_message("libvirt: %s: %s", why, error->message);
        if (fp_vm_index_remove(self->index, uuid)) {
            g_autofree char *name = safe(virDomainGetName(dom));

            g_message("libvirt: %s: domain '%s' (%s) gone", why, name, uuid);
        }
        return;
    }
    put = vm;
    fp_vm_index_put(self->index, g_steal_pointer(&vm));
    g_message("libvirt: %s: domain '%s' (%s), %u interfaces, %u on host devices", why, put->name,
              put->uuid, put->interfaces->len, count_mapped(self, put));
}

static const char *lifecycle_name(int event, int detail)
{
    switch (event) {
    case VIR_DOMAIN_EVENT_DEFINED:
        return "defined";
    case VIR_DOMAIN_EVENT_UNDEFINED:
        return "undefined";
    case VIR_DOMAIN_EVENT_STARTED:
        return detail == VIR_DOMAIN_EVENT_STARTED_MIGRATED ? "migrated in" : "started";
    case VIR_DOMAIN_EVENT_SUSPENDED:
        return "suspended";
    case VIR_DOMAIN_EVENT_RESUMED:
        return "resumed";
    case VIR_DOMAIN_EVENT_STOPPED:
        return detail == VIR_DOMAIN_EVENT_STOPPED_MIGRATED  ? "migrated out"
               : detail == VIR_DOMAIN_EVENT_STOPPED_CRASHED ? "crashed"
                                                            : "stopped";
    case VIR_DOMAIN_EVENT_SHUTDOWN:
        return "shutdown";
    case VIR_DOMAIN_EVENT_PMSUSPENDED:
        return "pmsuspended";
    case VIR_DOMAIN_EVENT_CRASHED:
        return "crashed";
    default:
        return "lifecycle";
    }
}

static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
    FpInventory *self = opaque;
    const char *what = lifecycle_name(event, detail);

    self->events++;
    if (event == VIR_DOMAIN_EVENT_STOPPED) {
        char uuid[VIR_UUID_STRING_BUFLEN] = "";

        /* Stopped, crashed, migrated away: its taps are gone or going. */
        virDomainGetUUIDString(dom, uuid);
        if (fp_vm_index_remove(self->index, uuid)) {
            g_autofree char *name = safe(virDomainGetName(dom));

            g_message("libvirt: %s: domain '%s' (%s) gone", what, name, uuid);
        }
        return 0;
    }
    if (event == VIR_DOMAIN_EVENT_DEFINED || event == VIR_DOMAIN_EVENT_SHUTDOWN)
        return 0; /* nothing a running VM's devices depend on (yet) */
    refresh_domain(self, dom, what);
    return 0;
}

static void on_device_added(virConnectPtr conn, virDomainPtr dom, const char *alias, void *opaque)
{
    FpInventory *self = opaque;
    g_autofree char *safe_alias = safe(alias);
    g_autofree char *why = g_strdup_printf("device '%s' added", safe_alias);

    self->events++;
    refresh_domain(self, dom, why);
}

static void on_device_removed(virConnectPtr conn, virDomainPtr dom, const char *alias, void *opaque)
{
    FpInventory *self = opaque;
    g_autofree char *safe_alias = safe(alias);
    g_autofree char *why = g_strdup_printf("device '%s' removed", safe_alias);

    self->events++;
    refresh_domain(self, dom, why);
}

static void on_metadata_change(virConnectPtr conn, virDomainPtr dom, int type, const char *nsuri,
                               void *opaque)
{
    FpInventory *self = opaque;

    self->events++;
    refresh_domain(self, dom, "metadata changed");
}

static void disconnect(FpInventory *self)
{
    if (!self->conn)
        return;
    /* On a dead connection these fail; the local registrations go anyway. */
    for (int i = 0; i < N_EVENTS; i++) {
        if (self->callback_ids[i] >= 0)
            virConnectDomainEventDeregisterAny(self->conn, self->callback_ids[i]);
        self->callback_ids[i] = -1;
    }
    virConnectUnregisterCloseCallback(self->conn, NULL);
    virConnectClose(self->conn);
    self->conn = NULL;
}

static gboolean on_lost(gpointer user_data)
{
    FpInventory *self = user_data;

    g_clear_pointer(&self->lost, g_source_unref);
    disconnect(self);
    self->backoff_ms = BACKOFF_MIN_MS;
    schedule_connect(self, self->backoff_ms);
    return G_SOURCE_REMOVE;
}

static const char *close_reason(int reason)
{
    switch (reason) {
    case VIR_CONNECT_CLOSE_REASON_EOF:
        return "libvirtd closed the connection";
    case VIR_CONNECT_CLOSE_REASON_KEEPALIVE:
        return "libvirtd stopped answering keepalives";
    case VIR_CONNECT_CLOSE_REASON_CLIENT:
        return "closed by the client";
    case VIR_CONNECT_CLOSE_REASON_ERROR:
    default:
        return "connection error";
    }
}

static void on_close(virConnectPtr conn, int reason, void *opaque)
{
    FpInventory *self = opaque;

    /* Expected when libvirtd restarts: a message, not a warning. */
    g_message("libvirt: connection to %s lost (%s); keeping %u VMs, reconnecting", self->uri,
              close_reason(reason), fp_vm_index_size(self->index));
    set_last_error(self, close_reason(reason));
    /* libvirt is inside its own dispatch: close the connection from an idle. */
    if (self->lost)
        return;
    self->lost = g_idle_source_new();
    g_source_set_name(self->lost, "libvirt-lost");
    g_source_set_callback(self->lost, on_lost, self, NULL);
    g_source_attach(self->lost, NULL);
}

static gboolean resync(FpInventory *self, GError **error)
{
    virDomainPtr *doms = NULL;
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    int n = virConnectListAllDomains(self->conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
    guint gone;

    if (n < 0) {
        g_autofree char *why = libvirt_error();

        g_set_error(error, FP_ERROR, FP_ERROR_IO, "libvirt %s: cannot list domains: %s", self->uri,
                    why);
        return FALSE;
    }
    for (int i = 0; i < n; i++) {
        g_autoptr(virDomain) dom = doms[i];
        g_autoptr(GError) local = NULL;
        char uuid[VIR_UUID_STRING_BUFLEN] = "";
        FpVm *vm = fetch_vm(self, dom, &local);

        virDomainGetUUIDString(dom, uuid);
        /* A domain we cannot read now keeps what we knew of it. */
        g_hash_table_add(seen, g_strdup(uuid));
        if (!vm) {
            g_message("libvirt: resync: %s", local != NULL ? local->message : "unknown error");
            continue;
        }
        fp_vm_index_put(self->index, vm);
    }
    free(doms);
    gone = fp_vm_index_retain(self->index, seen);
    self->resyncs++;
    g_message("libvirt: resynced with %s: %d running domains, %u gone since", self->uri, n, gone);
    return TRUE;
}

/* The rest of a connect, on the main loop, once the connection is open. */
static gboolean finish_connect(FpInventory *self, virConnectPtr conn, GError **error)
{
    static const struct {
        int id;
        virConnectDomainEventGenericCallback cb;
    } events[N_EVENTS] = {
        [EV_LIFECYCLE] = {VIR_DOMAIN_EVENT_ID_LIFECYCLE, VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle)},
        [EV_DEVICE_ADDED] = {VIR_DOMAIN_EVENT_ID_DEVICE_ADDED,
                             VIR_DOMAIN_EVENT_CALLBACK(on_device_added)},
        [EV_DEVICE_REMOVED] = {VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED,
                               VIR_DOMAIN_EVENT_CALLBACK(on_device_removed)},
        [EV_METADATA] = {VIR_DOMAIN_EVENT_ID_METADATA_CHANGE,
                         VIR_DOMAIN_EVENT_CALLBACK(on_metadata_change)},
    };

    self->conn = conn;
    /* Keepalives notice a hung libvirtd; EOF notices a dead one at once. */
    virConnectSetKeepAlive(self->conn, KEEPALIVE_INTERVAL_S, KEEPALIVE_COUNT);
    if (virConnectRegisterCloseCallback(self->conn, on_close, self, NULL) < 0) {
        g_autofree char *why = libvirt_error();

        g_set_error(error, FP_ERROR, FP_ERROR_IO, "libvirt %s: cannot watch the connection: %s",
                    self->uri, why);
        disconnect(self);
        return FALSE;
    }
    /* Events first, then the listing: nothing falls between the two. */
    for (int i = 0; i < N_EVENTS; i++) {
        self->callback_ids[i] = virConnectDomainEventRegisterAny(self->conn, NULL, events[i].id,
                                                                 events[i].cb, self, NULL);
        if (self->callback_ids[i] < 0) {
            g_autofree char *why = libvirt_error();

            g_set_error(error, FP_ERROR, FP_ERROR_IO,
                        "libvirt %s: cannot register for domain events (%d): %s", self->uri,
                        events[i].id, why);
            disconnect(self);
            return FALSE;
        }
    }
    if (!resync(self, error)) {
        disconnect(self);
        return FALSE;
    }
    return TRUE;
}

/* In a thread: virConnectOpen(), which may wait as long as libvirtd does.
 * libvirt's errors are per thread: the message comes back with the result. */
static void open_in_thread(GTask *task, gpointer source, gpointer uri, GCancellable *cancellable)
{
    virConnectPtr conn = virConnectOpen(uri);
    g_autofree char *why = conn ? NULL : libvirt_error();

    if (!conn)
        g_task_return_new_error(task, FP_ERROR, FP_ERROR_IO, "libvirt %s: cannot connect: %s",
                                (const char *)uri, why);
    else
        g_task_return_pointer(task, conn, NULL);
}

static void on_opened(GObject *source, GAsyncResult *result, gpointer user_data)
{
    GTask *task = G_TASK(result);
    g_autoptr(GError) error = NULL;
    virConnectPtr conn = g_task_propagate_pointer(task, &error);
    FpInventory *self = user_data;

    /* Cancelled: the inventory is gone (do not touch it). */
    if (g_cancellable_is_cancelled(g_task_get_cancellable(task))) {
        if (conn)
            virConnectClose(conn);
        return;
    }
    g_clear_object(&self->opening);
    if (conn && finish_connect(self, conn, &error)) {
        self->connects++;
        self->backoff_ms = BACKOFF_MIN_MS;
        g_clear_pointer(&self->last_error, g_free);
        g_message("libvirt: connected to %s%s", self->uri, self->connects > 1 ? " again" : "");
        return;
    }
    /* Log each new reason once, not every retry of a libvirtd that is down. */
    if (g_strcmp0(self->last_error, error->message) != 0)
        g_message("%s; retrying with backoff (up to %u s)", error->message, BACKOFF_MAX_MS / 1000);
    set_last_error(self, error->message);
    schedule_connect(self, self->backoff_ms);
    self->backoff_ms = MIN(self->backoff_ms * 2, BACKOFF_MAX_MS);
}

static gboolean on_retry(gpointer user_data)
{
    FpInventory *self = user_data;
    g_autoptr(GTask) task = NULL;

    g_clear_pointer(&self->retry, g_source_unref);
    self->opening = g_cancellable_new();
    self->opening_since_us = g_get_monotonic_time();
    self->opening_logged = FALSE;
    task = g_task_new(NULL, self->opening, on_opened, self);
    g_task_set_name(task, "libvirt-open");
    /* The result (an open connection) must come back even when cancelled,
     * to be closed. */
    g_task_set_check_cancellable(task, FALSE);
    g_task_set_task_data(task, g_strdup(self->uri), g_free);
    g_task_run_in_thread(task, open_in_thread);
    return G_SOURCE_REMOVE;
}

/* Says so when libvirtd takes long to answer a connection. */
static void check_opening(FpInventory *self)
{
    gint64 waited_s;
    g_autofree char *why = NULL;

    if (!self->opening)
        return;
    waited_s = (g_get_monotonic_time() - self->opening_since_us) / G_USEC_PER_SEC;
    if (waited_s < OPEN_SLOW_S)
        return;
    why = g_strdup_printf("libvirt %s: no answer to the connection for %" G_GINT64_FORMAT
                          " s (libvirtd hung or stopped?); still waiting",
                          self->uri, waited_s);
    if (!self->opening_logged)
        g_message("%s", why);
    self->opening_logged = TRUE;
    set_last_error(self, why);
}

static void schedule_connect(FpInventory *self, guint delay_ms)
{
    if (self->retry || self->opening)
        return;
    self->retry = delay_ms ? g_timeout_source_new(delay_ms) : g_idle_source_new();
    g_source_set_name(self->retry, "libvirt-connect");
    g_source_set_callback(self->retry, on_retry, self, NULL);
    g_source_attach(self->retry, NULL);
}

static gboolean read_counter(const char *dev, const char *name, guint64 *value)
{
    g_autofree char *path = g_strdup_printf("/sys/class/net/%s/statistics/%s", dev, name);
    g_autofree char *text = NULL;

    if (!g_file_get_contents(path, &text, NULL, NULL))
        return FALSE;
    return g_ascii_string_to_unsigned(g_strchomp(text), 10, 0, G_MAXUINT64, value, NULL);
}

static gboolean is_stale_rate(gpointer key, gpointer value, gpointer user_data)
{
    return ((FpDeviceRate *)value)->generation != *(const guint *)user_data;
}

/* Samples every mapped tap's counters: the VMs' live rates, whatever
 * conntrack tracks or not. */
static void sample_rates(FpInventory *self)
{
    g_autoptr(GPtrArray) vms = fp_vm_index_list(self->index);
    gint64 now = g_get_monotonic_time();
    guint generation = ++self->rate_generation;

    for (guint i = 0; i < vms->len; i++) {
        const FpVm *vm = g_ptr_array_index(vms, i);

        for (guint j = 0; j < vm->interfaces->len; j++) {
            const FpVmInterface *nic = g_ptr_array_index(vm->interfaces, j);
            FpDeviceRate *r;
            guint64 rx, tx;

            if (!fp_vm_index_get_ifindex(self->index, vm->uuid, j) ||
                !read_counter(nic->target, "rx_bytes", &rx) ||
                !read_counter(nic->target, "tx_bytes", &tx))
                continue;
            r = g_hash_table_lookup(self->rates, nic->target);
            if (!r) {
                r = g_new0(FpDeviceRate, 1);
                g_hash_table_insert(self->rates, g_strdup(nic->target), r);
            } else if (now > r->when_us && rx >= r->rx_bytes && tx >= r->tx_bytes) {
                r->rx_bps =
                    (double)(rx - r->rx_bytes) * G_USEC_PER_SEC / (double)(now - r->when_us);
                r->tx_bps =
                    (double)(tx - r->tx_bytes) * G_USEC_PER_SEC / (double)(now - r->when_us);
            }
            r->rx_bytes = rx;
            r->tx_bytes = tx;
            r->when_us = now;
            r->generation = generation;
        }
    }
    g_hash_table_foreach_remove(self->rates, is_stale_rate, &generation);
}

static gboolean on_refresh(gpointer user_data)
{
    FpInventory *self = user_data;
    guint changed = fp_vm_index_refresh(self->index);

    if (changed)
        g_message("libvirt: host devices of %u VMs changed", changed);
    sample_rates(self);
    check_opening(self);
    return G_SOURCE_CONTINUE;
}

/**
 * fp_inventory_get_device_rates:
 * @inventory: an inventory
 * @dev: a VM interface's tap
 * @to_vm_bps: (out): bytes/s the host sent into the VM (the tap's tx)
 * @from_vm_bps: (out): bytes/s the VM sent (the tap's rx)
 *
 * Returns: whether @dev's counters have been sampled
 */
gboolean fp_inventory_get_device_rates(FpInventory *self, const char *dev, double *to_vm_bps,
                                       double *from_vm_bps)
{
    const FpDeviceRate *r = dev ? g_hash_table_lookup(self->rates, dev) : NULL;

    if (!r)
        return FALSE;
    *to_vm_bps = r->tx_bps;
    *from_vm_bps = r->rx_bps;
    return TRUE;
}

/**
 * fp_inventory_new:
 * @uri: the libvirt connection URI, e.g. "qemu:///system"
 *
 * Creates the inventory; nothing connects before fp_inventory_start().
 */
FpInventory *fp_inventory_new(const char *uri)
{
    FpInventory *self = g_new0(FpInventory, 1);

    /* libvirt's events then run on the GLib main loop (once per process). */
    gvir_event_register();
    virSetErrorFunc(NULL, ignore_libvirt_error);
    self->uri = g_strdup(uri);
    self->index = fp_vm_index_new(NULL, NULL);
    self->rates = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    self->backoff_ms = BACKOFF_MIN_MS;
    for (int i = 0; i < N_EVENTS; i++)
        self->callback_ids[i] = -1;
    return self;
}

/**
 * fp_inventory_start:
 * @inventory: an inventory
 *
 * Connects (at once, then with backoff until libvirtd answers; the open
 * itself in a thread) and starts the periodic device refresh.
 */
void fp_inventory_start(FpInventory *self)
{
    schedule_connect(self, 0);
    if (!self->refresh) {
        self->refresh = g_timeout_source_new(REFRESH_INTERVAL_MS);
        g_source_set_name(self->refresh, "vm-devices");
        g_source_set_callback(self->refresh, on_refresh, self, NULL);
        g_source_attach(self->refresh, NULL);
    }
}

static void clear_source(GSource **source)
{
    if (!*source)
        return;
    g_source_destroy(*source);
    g_clear_pointer(source, g_source_unref);
}

void fp_inventory_free(FpInventory *self)
{
    if (!self)
        return;
    clear_source(&self->retry);
    clear_source(&self->refresh);
    clear_source(&self->lost);
    /* A thread still opening a connection finishes on its own; its result
     * is then closed, unseen. */
    if (self->opening)
        g_cancellable_cancel(self->opening);
    g_clear_object(&self->opening);
    disconnect(self);
    fp_vm_index_free(self->index);
    g_hash_table_destroy(self->rates);
    g_free(self->last_error);
    g_free(self->uri);
    g_free(self);
}

/**
 * fp_inventory_get_index:
 * @inventory: an inventory
 *
 * Returns: (transfer none): the running VMs
 */
FpVmIndex *fp_inventory_get_index(FpInventory *self)
{
    return self->index;
}

/**
 * fp_inventory_get_connection:
 * @inventory: an inventory
 *
 * Returns: (transfer none) (nullable): the libvirt connection, %NULL while
 * disconnected; valid until control returns to the main loop
 */
virConnectPtr fp_inventory_get_connection(FpInventory *self)
{
    return self->conn;
}

void fp_inventory_get_status(FpInventory *self, FpInventoryStatus *status)
{
    status->uri = self->uri;
    status->connected = self->conn != NULL && !self->lost;
    status->last_error = self->last_error;
    status->connects = self->connects;
    status->events = self->events;
    status->resyncs = self->resyncs;
    status->domain_xml_errors = self->domain_xml_errors;
}

static char *read_line(const char *path)
{
    char *text = NULL;

    if (!g_file_get_contents(path, &text, NULL, NULL))
        return NULL;
    return g_strchomp(text);
}

/**
 * fp_inventory_host_visibility:
 * @dev: a VM interface's host device (tap)
 * @reason: (out) (optional) (transfer full): why its traffic is not (fully)
 *     visible, %NULL when it is
 *
 * Where the tap is plugged decides whether conntrack sees its packets: a
 * routed tap's packets all cross the IP hooks; a Linux bridge port's only
 * do with br_netfilter (bridge-nf-call-iptables=1 and, for IPv6,
 * bridge-nf-call-ip6tables=1); an Open vSwitch port's
 * bypass netfilter in the datapath.
 *
 * Returns: whether all of @dev's traffic crosses conntrack
 */
gboolean fp_inventory_host_visibility(const char *dev, char **reason)
{
    g_autofree char *link = g_strdup_printf("/sys/class/net/%s/master", dev);
    g_autofree char *target = g_file_read_link(link, NULL);
    g_autofree char *master = NULL, *bridge_dir = NULL, *nf_call = NULL, *nf_call6 = NULL;
    g_autofree char *shown = NULL;

    if (reason)
        *reason = NULL;
    if (!target)
        return TRUE;
    master = g_path_get_basename(target);
    if (g_str_equal(master, "ovs-system")) {
        if (reason)
            *reason = g_strdup("Open vSwitch port: the OVS datapath bypasses the host's "
                               "conntrack; only traffic the host routes is seen");
        return FALSE;
    }
    bridge_dir = g_strdup_printf("/sys/class/net/%s/bridge", master);
    if (!g_file_test(bridge_dir, G_FILE_TEST_IS_DIR))
        return TRUE;
    nf_call = read_line("/proc/sys/net/bridge/bridge-nf-call-iptables");
    nf_call6 = read_line("/proc/sys/net/bridge/bridge-nf-call-ip6tables");
    /* The kernel's name: any bytes but '/', ':' and whitespace. */
    shown = fp_text_sanitize(master, FP_TEXT_LOG_MAX);
    if (nf_call && g_str_equal(nf_call, "1")) {
        if (nf_call6 && g_str_equal(nf_call6, "1"))
            return TRUE;
        /* IPv4 is seen, bridged IPv6 is not: the VM is not fully seen. */
        if (reason)
            *reason = g_strdup_printf("port of bridge '%s' with br_netfilter for IPv4 only "
                                      "(bridge-nf-call-ip6tables=%s): bridged IPv6 traffic "
                                      "bypasses conntrack",
                                      shown, nf_call6 ? nf_call6 : "absent");
        return FALSE;
    }
    if (reason)
        *reason = g_strdup_printf("port of bridge '%s' without br_netfilter "
                                  "(bridge-nf-call-iptables=%s): bridged traffic bypasses "
                                  "conntrack; only traffic the host routes is seen",
                                  shown, nf_call ? nf_call : "absent");
    return FALSE;
}
