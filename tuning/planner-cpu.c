/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* CPU separation: the planner's second lever (planner-cpu.h). */
#include "config.h"

#include <math.h>
#include <string.h>

#include "libvirt-pin.h"
#include "planner-cpu.h"

FpVmWork *fp_vm_work_new(const char *uuid, const char *name, FpClass klass)
{
    FpVmWork *w = g_new0(FpVmWork, 1);

    w->uuid = g_strdup(uuid);
    w->name = g_strdup(name);
    w->klass = klass;
    w->threads = g_ptr_array_new_with_free_func((GDestroyNotify)fp_vm_thread_free);
    w->queues = g_ptr_array_new_with_free_func((GDestroyNotify)fp_tap_queue_free);
    return w;
}

void fp_vm_work_free(FpVmWork *work)
{
    if (!work)
        return;
    g_free(work->uuid);
    g_free(work->name);
    g_free(work->problem);
    g_ptr_array_unref(work->threads);
    g_ptr_array_unref(work->queues);
    g_free(work);
}

void fp_cpu_plan_action_free(FpCpuPlanAction *a)
{
    if (!a)
        return;
    g_free(a->object);
    g_free(a->vm);
    g_free(a->previous);
    g_free(a->value);
    g_free(a->now_text);
    g_free(a->reason);
    g_free(a);
}

/**
 * fp_cpu_plan_action_done:
 * @action: an action
 *
 * Returns: whether its object holds its value already
 */
gboolean fp_cpu_plan_action_done(const FpCpuPlanAction *a)
{
    return a->now_text ? g_str_equal(a->now_text, a->value) : fp_cpuset_equal(&a->now, &a->set);
}

void fp_cpu_plan_free(FpCpuPlan *plan)
{
    if (!plan)
        return;
    g_free(plan->why);
    g_ptr_array_unref(plan->actions);
    g_ptr_array_unref(plan->notes);
    g_free(plan);
}

static const char *original(const FpCpuPlanInput *in, const char *knob, const char *object)
{
    g_autofree char *key = g_strdup_printf("%s %s", knob, object);

    return in->original ? g_hash_table_lookup(in->original, key) : NULL;
}

static guint highest_cpu(const FpCpuSet *set)
{
    guint top = 0;

    for (guint c = 0; c < FP_CPUSET_MAX; c++)
        if (fp_cpuset_has(set, c))
            top = c;
    return top;
}

/* The elephant set: [tuning] elephant_cpus, else elephant_cpu_share of the
 * CPUs online, else the throughput VMs' share of the VMs kept apart; the
 * highest-numbered CPUs (CPU 0 takes most of the host's own interrupts),
 * never all of them and never none. */
static gboolean choose_sets(FpCpuPlan *plan, const FpCpuPlanInput *in, guint n_tp, guint n_lat)
{
    const FpTuningConfig *c = in->config;
    guint n = fp_cpuset_count(&in->online);
    g_autofree char *el = NULL, *rest = NULL;
    g_autofree char *how = NULL;

    if (n < 2) {
        plan->why = g_strdup_printf("%u CPU online: nothing to split", n);
        return FALSE;
    }
    if (c->elephant_cpus && *c->elephant_cpus) {
        FpCpuSet want;

        if (!fp_cpuset_parse_list(c->elephant_cpus, &want, NULL))
            fp_cpuset_clear(&want); /* the config parser refuses it first */
        fp_cpuset_and(&plan->elephant, &want, &in->online);
        if (fp_cpuset_is_empty(&plan->elephant) || fp_cpuset_equal(&plan->elephant, &in->online)) {
            plan->why =
                g_strdup_printf("elephant_cpus '%s' leaves no CPU %s", c->elephant_cpus,
                                fp_cpuset_is_empty(&plan->elephant) ? "online for the elephants"
                                                                    : "for the others");
            fp_cpuset_clear(&plan->elephant);
            return FALSE;
        }
        how = g_strdup_printf("elephant_cpus = %s", c->elephant_cpus);
    } else {
        double share = c->elephant_cpu_share > 0 ? c->elephant_cpu_share
                                                 : (double)n_tp / (double)(n_tp + n_lat);
        guint k = (guint)CLAMP(lround(share * n), 1, (long)n - 1);

        for (guint cpu = highest_cpu(&in->online) + 1, left = k; cpu-- > 0 && left;)
            if (fp_cpuset_has(&in->online, cpu)) {
                fp_cpuset_add(&plan->elephant, cpu);
                left--;
            }
        if (c->elephant_cpu_share > 0)
            how = g_strdup_printf("elephant_cpu_share %.2f of %u CPUs", c->elephant_cpu_share, n);
        else
            how = g_strdup_printf("derived: %u throughput and %u latency VM(s), %u CPUs", n_tp,
                                  n_lat, n);
    }
    fp_cpuset_andnot(&plan->rest, &in->online, &plan->elephant);
    el = fp_cpuset_to_list(&plan->elephant);
    rest = fp_cpuset_to_list(&plan->rest);
    plan->why = g_strdup_printf("elephant CPUs %s, the rest %s (%s)", el, rest, how);
    return TRUE;
}

/* A copy that owns nothing (g_ptr_array_copy() keeps the free function). */
static GPtrArray *borrow(GPtrArray *a)
{
    GPtrArray *b = g_ptr_array_sized_new(a->len);

    for (guint i = 0; i < a->len; i++)
        g_ptr_array_add(b, a->pdata[i]);
    return b;
}

static gint thread_by_tid(gconstpointer a, gconstpointer b)
{
    const FpVmThread *x = *(FpVmThread *const *)a, *y = *(FpVmThread *const *)b;

    return x->tid < y->tid ? -1 : x->tid > y->tid;
}

static gint work_by_uuid(gconstpointer a, gconstpointer b)
{
    const FpVmWork *x = *(FpVmWork *const *)a, *y = *(FpVmWork *const *)b;

    return g_strcmp0(x->uuid, y->uuid);
}

/* A vCPU thread's number: qemu names it "CPU N/KVM" (or /TCG, /HVF...). */
static gboolean vcpu_index(const char *comm, guint64 *n)
{
    const char *slash = strchr(comm, '/');
    g_autofree char *digits = NULL;

    if (!g_str_has_prefix(comm, "CPU ") || !slash || slash < comm + 4)
        return FALSE;
    digits = g_strndup(comm + 4, (gsize)(slash - comm - 4));
    return g_ascii_string_to_unsigned(digits, 10, 0, 65535, n, NULL);
}

/* Where libvirt has an API for a thread, the pin libvirt keeps for it
 * ("UUID emulator", "UUID iothread ID", "UUID vcpu N"): its emulator pin
 * covers every emulator thread, named after qemu's main thread; NULL for a
 * vhost-net worker (no API), or another emulator thread than the main one
 * (*covered set: the emulator pin moves it). */
static char *libvirt_object(const FpVmWork *vm, const FpVmThread *t, gboolean *covered)
{
    guint64 n;

    *covered = FALSE;
    if (!vm->libvirt)
        return NULL;
    switch (t->role) {
    case FP_THREAD_EMULATOR:
        if (t->tid == vm->pid)
            return fp_libvirt_pin_object(vm->uuid, "emulator", 0);
        *covered = TRUE;
        return NULL;
    case FP_THREAD_IOTHREAD:
        /* libvirt names qemu's iothread objects "iothreadID": "IO iothread1". */
        if (g_str_has_prefix(t->comm, "IO iothread") &&
            g_ascii_string_to_unsigned(t->comm + 11, 10, 1, 65535, &n, NULL))
            return fp_libvirt_pin_object(vm->uuid, "iothread", (int)n);
        return NULL;
    case FP_THREAD_VCPU:
        if (vcpu_index(t->comm, &n))
            return fp_libvirt_pin_object(vm->uuid, "vcpu", (int)n);
        return NULL;
    case FP_THREAD_VHOST:
    default:
        return NULL;
    }
}

/* What the journal kept for a thread, whichever knob changed it: when the
 * libvirt connection comes or goes, the same thread moves from one knob to
 * the other, and its first value must follow it (never the narrowed one). */
static const char *thread_original(const FpCpuPlanInput *in, const FpVmWork *vm,
                                   const FpVmThread *t)
{
    g_autofree char *object = fp_vm_thread_object(t);
    g_autofree char *pin = NULL;
    const char *kept = original(in, "affinity", object);
    guint64 n;

    if (kept)
        return kept;
    if (t->role == FP_THREAD_EMULATOR)
        pin = fp_libvirt_pin_object(vm->uuid, "emulator", 0);
    else if (t->role == FP_THREAD_IOTHREAD && g_str_has_prefix(t->comm, "IO iothread") &&
             g_ascii_string_to_unsigned(t->comm + 11, 10, 1, 65535, &n, NULL))
        pin = fp_libvirt_pin_object(vm->uuid, "iothread", (int)n);
    else if (t->role == FP_THREAD_VCPU && vcpu_index(t->comm, &n))
        pin = fp_libvirt_pin_object(vm->uuid, "vcpu", (int)n);
    return pin ? original(in, "libvirt-pin", pin) : NULL;
}

static void plan_threads(FpCpuPlan *plan, const FpCpuPlanInput *in, const FpVmWork *vm,
                         gboolean elephant)
{
    const FpCpuSet *side = elephant ? &plan->elephant : &plan->rest;
    g_autoptr(GPtrArray) sorted = borrow(vm->threads);
    guint moved = 0, stuck = 0;
    g_autofree char *stuck_list = NULL;
    const FpVmThread *main = NULL;

    g_ptr_array_sort(sorted, thread_by_tid);
    for (guint i = 0; i < sorted->len; i++)
        if (((FpVmThread *)sorted->pdata[i])->tid == vm->pid)
            main = sorted->pdata[i];
    for (guint i = 0; i < sorted->len; i++) {
        const FpVmThread *t = g_ptr_array_index(sorted, i);
        gboolean covered;
        g_autofree char *pin = libvirt_object(vm, t, &covered);
        const char *knob = pin ? "libvirt-pin" : "affinity";
        g_autofree char *object = pin ? g_steal_pointer(&pin) : fp_vm_thread_object(t);
        const char *kept = thread_original(in, vm, t);
        FpCpuSet base = t->allowed, want;
        FpCpuPlanAction *a;

        if (elephant && t->role == FP_THREAD_VCPU && !in->config->elephant_vcpus)
            continue;
        /* Another emulator thread follows libvirt's emulator pin through
         * the emulator cgroup's cpuset; where libvirt has none (no cgroup
         * controller), the pin reached qemu's main thread only: once it
         * has, a thread it left outside the side gets its affinity (and
         * keeps it while the split lasts). */
        if (covered) {
            g_free(object);
            object = fp_vm_thread_object(t);
            knob = "affinity";
            if (!main || !fp_cpuset_subset(&main->allowed, side) ||
                (fp_cpuset_subset(&t->allowed, side) && !original(in, knob, object)))
                continue;
        }
        if (kept && !fp_cpuset_parse_list(kept, &base, NULL))
            base = t->allowed;
        fp_cpuset_and(&want, &base, side);
        if (fp_cpuset_is_empty(&want)) {
            stuck++;
            if (!stuck_list) {
                g_autofree char *list = fp_cpuset_to_list(&base);

                stuck_list = g_strdup_printf("%s '%s' on CPUs %s",
                                             fp_thread_role_to_string(t->role), t->comm, list);
            }
            continue;
        }
        a = g_new0(FpCpuPlanAction, 1);
        a->knob = knob;
        a->object = g_steal_pointer(&object);
        a->vm = g_strdup(vm->uuid);
        a->previous = kept ? g_strdup(kept) : fp_cpuset_to_list(&t->allowed);
        a->value = fp_cpuset_to_list(&want);
        a->set = want;
        a->now = t->allowed;
        a->reason =
            g_strdup_printf("vm %s (%s) %s: %s thread '%s' to the %s CPUs%s", vm->name, vm->uuid,
                            fp_class_to_string(vm->klass), fp_thread_role_to_string(t->role),
                            t->comm, elephant ? "elephant" : "other",
                            g_str_equal(knob, "affinity") ? "" : ", by libvirt's pin");
        g_ptr_array_add(plan->actions, a);
        moved++;
    }
    if (stuck)
        g_ptr_array_add(
            plan->notes,
            g_strdup_printf("vm %s (%s) %s: %u thread(s) pinned with none of their CPUs "
                            "%s the elephant set, left as pinned (first: %s)",
                            vm->name, vm->uuid, fp_class_to_string(vm->klass), stuck,
                            elephant ? "in" : "outside", stuck_list));
    if (!elephant && stuck && !moved)
        g_ptr_array_add(plan->notes,
                        g_strdup_printf("vm %s (%s): pinned so tightly that nothing of it can "
                                        "leave the elephant CPUs",
                                        vm->name, vm->uuid));
}

static void plan_queues(FpCpuPlan *plan, const FpCpuPlanInput *in, const FpVmWork *vm)
{
    guint ncpus = MAX(highest_cpu(&in->online) + 1, 1);

    for (guint i = 0; i < vm->queues->len; i++) {
        const FpTapQueue *q = g_ptr_array_index(vm->queues, i);
        const char *kept = original(in, "queues", q->object);
        FpCpuSet base = q->mask, want;
        FpCpuPlanAction *a;

        if (kept && !fp_cpuset_parse_mask(kept, &base, NULL))
            base = q->mask;
        /* An empty mask is the kernel's default (no steering): the whole
         * elephant set.  A mask someone set is narrowed, as a pin is. */
        if (fp_cpuset_is_empty(&base))
            want = plan->elephant;
        else
            fp_cpuset_and(&want, &base, &plan->elephant);
        if (fp_cpuset_is_empty(&want)) {
            g_autofree char *list = fp_cpuset_to_list(&base);

            g_ptr_array_add(plan->notes,
                            g_strdup_printf("vm %s (%s): %s is set to CPUs %s, none of them "
                                            "elephant CPUs: left alone",
                                            vm->name, vm->uuid, q->object, list));
            continue;
        }
        a = g_new0(FpCpuPlanAction, 1);
        a->knob = "queues";
        a->object = g_strdup(q->object);
        a->vm = g_strdup(vm->uuid);
        a->previous = g_strdup(kept ? kept : q->text);
        a->value = fp_cpuset_to_mask(&want, ncpus);
        a->set = want;
        a->now = q->mask;
        a->reason = g_strdup_printf("vm %s (%s) %s: %s of tap '%s' to the elephant CPUs", vm->name,
                                    vm->uuid, fp_class_to_string(vm->klass), q->rps ? "RPS" : "XPS",
                                    q->device);
        g_ptr_array_add(plan->actions, a);
    }
}

/**
 * fp_cpu_plan_compute:
 * @input: the VMs' work, the CPUs, the config, the journal's previous values
 *
 * Returns: (transfer full): the desired state of every thread and queue
 * mask footprintd governs
 */
FpCpuPlan *fp_cpu_plan_compute(const FpCpuPlanInput *in)
{
    g_autoptr(FpCpuPlan) plan = g_new0(FpCpuPlan, 1);
    g_autoptr(GPtrArray) vms = borrow(in->vms);
    guint n_tp = 0, n_lat = 0;

    plan->actions = g_ptr_array_new_with_free_func((GDestroyNotify)fp_cpu_plan_action_free);
    plan->notes = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_sort(vms, work_by_uuid);
    for (guint i = 0; i < vms->len; i++) {
        const FpVmWork *vm = g_ptr_array_index(vms, i);

        if (vm->klass != FP_CLASS_THROUGHPUT && vm->klass != FP_CLASS_LATENCY)
            continue;
        if (vm->klass == FP_CLASS_THROUGHPUT && !vm->carrying)
            continue;
        if (!vm->pid) {
            g_ptr_array_add(plan->notes,
                            g_strdup_printf("vm %s (%s) %s: its threads are left alone: %s",
                                            vm->name, vm->uuid, fp_class_to_string(vm->klass),
                                            vm->problem ? vm->problem : "qemu not found"));
            continue;
        }
        if (vm->klass == FP_CLASS_THROUGHPUT)
            n_tp++;
        else
            n_lat++;
    }
    if (!in->config->cpu_separation) {
        plan->why = g_strdup("cpu_separation = false");
        return g_steal_pointer(&plan);
    }
    if (!n_tp || !n_lat) {
        plan->why = g_strdup_printf("no %s: the CPUs are not split",
                                    n_tp ? "latency VM to keep apart from"
                                         : "throughput VM carrying elephants");
        return g_steal_pointer(&plan);
    }
    if (!choose_sets(plan, in, n_tp, n_lat))
        return g_steal_pointer(&plan);
    plan->active = TRUE;
    for (guint i = 0; i < vms->len; i++) {
        const FpVmWork *vm = g_ptr_array_index(vms, i);

        if (!vm->pid)
            continue;
        if (vm->klass == FP_CLASS_THROUGHPUT && vm->carrying) {
            plan_threads(plan, in, vm, TRUE);
            plan_queues(plan, in, vm);
        } else if (vm->klass == FP_CLASS_LATENCY) {
            plan_threads(plan, in, vm, FALSE);
        }
    }
    return g_steal_pointer(&plan);
}

/**
 * fp_cpu_plan_find:
 * @plan: a plan
 * @knob: "affinity" or "queues"
 * @object: the object
 *
 * Returns: (nullable): its action
 */
const FpCpuPlanAction *fp_cpu_plan_find(const FpCpuPlan *plan, const char *knob, const char *object)
{
    for (guint i = 0; plan && i < plan->actions->len; i++) {
        const FpCpuPlanAction *a = g_ptr_array_index(plan->actions, i);

        if (g_str_equal(a->knob, knob) && g_str_equal(a->object, object))
            return a;
    }
    return NULL;
}

/**
 * fp_cpu_plan_to_text:
 * @plan: a plan
 *
 * Returns: (transfer full): one line for the sets, one per action, one per note
 */
char *fp_cpu_plan_to_text(const FpCpuPlan *plan)
{
    GString *s = g_string_new(NULL);

    g_string_append_printf(s, "cpus: %s\n", plan->why ? plan->why : "");
    for (guint i = 0; i < plan->actions->len; i++) {
        const FpCpuPlanAction *a = g_ptr_array_index(plan->actions, i);

        g_string_append_printf(s, "%s %s: %s -> %s; %s\n", a->knob, a->object, a->previous,
                               a->value, a->reason);
    }
    for (guint i = 0; i < plan->notes->len; i++)
        g_string_append_printf(s, "note: %s\n", (const char *)plan->notes->pdata[i]);
    return g_string_free(s, FALSE);
}
