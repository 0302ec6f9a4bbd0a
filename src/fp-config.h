/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "footprint-model.h"

typedef enum {
    FP_BACKEND_AUTO,
    FP_BACKEND_BPF_NETFILTER,
    FP_BACKEND_CTNETLINK,
    FP_BACKEND_BPF_FENTRY,
} FpBackend;

/* How the Placement client authenticates (footprintd.conf(5), [placement] auth). */
typedef enum {
    FP_PLACEMENT_AUTH_NONE,
    FP_PLACEMENT_AUTH_TOKEN,
    FP_PLACEMENT_AUTH_PASSWORD,
    FP_PLACEMENT_AUTH_APPLICATION_CREDENTIAL,
} FpPlacementAuth;

/* Which of a Keystone catalog's endpoints is Placement's. */
typedef enum {
    FP_PLACEMENT_INTERFACE_PUBLIC,
    FP_PLACEMENT_INTERFACE_INTERNAL,
    FP_PLACEMENT_INTERFACE_ADMIN,
} FpPlacementInterface;

/**
 * FpPlacementConfig:
 * @url: (nullable): the Placement endpoint; %NULL: from the Keystone
 *     catalog when @auth is password or application_credential, else the
 *     client is off
 * @provider: (nullable): the compute node's resource provider name; %NULL:
 *     the hypervisor's hostname as nova-compute names it
 * @auth: how to authenticate
 * @token: (nullable): X-Auth-Token for @auth = token
 * @auth_url: (nullable): Keystone, for password and application_credential
 * @username: (nullable): @auth = password
 * @password: (nullable): @auth = password
 * @project_name: (nullable): @auth = password: the project to scope to
 * @user_domain_name: the user's domain
 * @project_domain_name: the project's domain
 * @application_credential_id: (nullable): @auth = application_credential
 * @application_credential_secret: (nullable): @auth = application_credential
 * @region_name: (nullable): the catalog region, %NULL for any
 * @interface: the catalog interface
 * @ca_file: (nullable): PEM CA bundle for https, %NULL: the system's
 * @timeout_s: one HTTP request's timeout
 * @retry_max_s: the longest wait between two attempts after a failure
 * @resync_s: how often the traits are read back when nothing changed
 * @egress_capacity_mbit: the host's egress capacity, 0 when unknown
 * @elephant_load: elephant load (share of @egress_capacity_mbit) from
 *     which the host carries elephants
 * @hysteresis: relative margin below @elephant_load to leave elephants
 * @hold_s: how long the figures must ask for another trait before it changes
 * @mature_after_s: observation before the first trait
 * @hints: write hints.json under [agent] runtime_dir
 *
 * The [placement] group: the traits on this host's compute-node resource
 * provider and the hints file.
 */
typedef struct {
    char *url;
    char *provider;
    FpPlacementAuth auth;
    char *token;
    char *auth_url;
    char *username;
    char *password;
    char *project_name;
    char *user_domain_name;
    char *project_domain_name;
    char *application_credential_id;
    char *application_credential_secret;
    char *region_name;
    FpPlacementInterface interface;
    char *ca_file;
    guint timeout_s;
    guint retry_max_s;
    guint resync_s;
    guint egress_capacity_mbit;
    double elephant_load;
    double hysteresis;
    double hold_s;
    double mature_after_s;
    gboolean hints;
} FpPlacementConfig;

typedef enum {
    FP_MODE_OBSERVE,
    FP_MODE_ADVISE,
    FP_MODE_ENFORCE,
} FpMode;

/**
 * FpTuningConfig:
 * @mode: what the tuner may do: observe (nothing), advise (plan only),
 *     enforce (apply, journaled)
 * @egress: (nullable) (array zero-terminated=1): the shared egress devices;
 *     %NULL: the devices of the default routes
 * @egress_rate_mbit: the rate to shape each egress device to, Mbit/s; 0:
 *     the device's own speed (a device without one is not managed)
 * @ct_mark_mask: footprintd's bits of the conntrack mark (contiguous);
 *     others' bits are never touched
 * @fair_slots: leaves of the demoted band, one per VM with demoted traffic
 *     while there are enough (fairness between VMs, not flows)
 * @demoted_min_share: share of the rate the demoted band is guaranteed
 *     when the other band is busy; it may always borrow up to all of it
 * @demote_throughput_vms: demote all traffic of VMs whose class is
 *     throughput, not only their elephant flows
 * @split_gso: the demoted band's slots segment GSO packets as they queue
 *     (a TBF leaf), so a far FIFO receives them MTU by MTU
 * @hold_s: [tuning] demotion_hold, hysteresis: a VM's demotion, and a device's shaping, lasts at
 *     least this long
 * @flow_idle_s: a demoted flow moving under a tenth of the elephant rate
 *     for this long returns to the normal band
 * @max_changes_per_minute: rate limit on VM demotions and releases (flow
 *     marks follow elephants at once)
 * @max_flows: demoted flows tracked at once; beyond, elephants are left
 *     alone and counted
 * @cpu_separation: split the CPUs into an elephant set and the rest while
 *     throughput and latency VMs share the host (tuning/planner-cpu.h)
 * @elephant_cpus: (nullable): the elephant set, a CPU list; %NULL: from
 *     @elephant_cpu_share, else derived from the VMs' classes
 * @elephant_cpu_share: share of the CPUs online in the elephant set; 0:
 *     derived (the throughput VMs' share of the VMs kept apart)
 * @elephant_vcpus: a throughput VM's vCPU threads go to the elephant set
 *     too (not only its emulator, I/O threads and vhost workers)
 * @qemu_run_dir: where libvirt keeps each domain's qemu pid file (NAME.pid)
 * @cpu_hold_s: a throughput VM stays in the split this long after its last
 *     elephant flow was released
 * @nic_devices: (nullable) (array zero-terminated=1): host NICs whose queue
 *     IRQs and RSS indirection follow the CPU split; %NULL: none is touched
 * @nic_irqs: the listed NICs' queue IRQs follow the split
 * @nic_rss: the listed NICs' RSS indirection follows the split
 * @irqbalance_override: also move queue IRQs a running irqbalance manages
 *
 * The [tuning] group (tuning/, footprintd.conf(5)).
 */
typedef struct {
    FpMode mode;
    char **egress;
    guint egress_rate_mbit;
    guint ct_mark_mask;
    guint fair_slots;
    double demoted_min_share;
    gboolean demote_throughput_vms;
    gboolean split_gso;
    guint hold_s;
    guint flow_idle_s;
    guint max_changes_per_minute;
    guint max_flows;
    gboolean cpu_separation;
    char *elephant_cpus;
    double elephant_cpu_share;
    gboolean elephant_vcpus;
    char *qemu_run_dir;
    guint cpu_hold_s;
    char **nic_devices;
    gboolean nic_irqs;
    gboolean nic_rss;
    gboolean irqbalance_override;
} FpTuningConfig;

/* Every key of footprintd.conf; conf/footprintd.conf documents each one. */
typedef struct {
    /* [agent] */
    char *state_dir;
    char *runtime_dir;
    guint sweep_interval_ms;
    guint idle_timeout_s;
    /* [sense] */
    FpBackend backend;
    guint64 elephant_bytes;
    guint elephant_window_s;
    guint flow_table_size;
    guint flows_max;
    guint ringbuf_size;
    int hook_priority;
    gboolean enable_acct;
    /* [libvirt] */
    char *libvirt_uri;
    /* [footprint]: the model's thresholds, checked by fp_footprint_policy_check() */
    FpFootprintPolicy footprint;
    guint forget_after_days; /* [footprint]: VMs not seen for this long are forgotten */
    guint save_interval_s;   /* [footprint]: least time between two saves of the state file */
    /* [metrics] */
    char *metrics_textfile; /* NULL: no text file */
    guint metrics_interval_s;
    /* [placement] */
    FpPlacementConfig placement;
    /* [tuning] */
    FpTuningConfig tuning;
} FpConfig;

FpConfig *fp_config_new_default(void);
FpConfig *fp_config_dup(const FpConfig *config);
gboolean fp_config_load_data(FpConfig *config, const char *data, gsize len, const char *origin,
                             GError **error);
gboolean fp_config_load_file(FpConfig *config, const char *path, GError **error);
void fp_config_free(FpConfig *config);
GStrv fp_config_reload(FpConfig *running, const FpConfig *next, guint *n_applied);
gboolean fp_config_key_applies_at_reload(const char *name);
char **fp_config_list_keys(void);
const char *fp_backend_to_string(FpBackend backend);
const char *fp_mode_to_string(FpMode mode);
gboolean fp_mode_from_string(const char *text, FpMode *mode);
const char *fp_placement_auth_to_string(FpPlacementAuth auth);
const char *fp_placement_interface_to_string(FpPlacementInterface interface);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpConfig, fp_config_free)
