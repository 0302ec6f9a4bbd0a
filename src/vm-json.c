/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "vm-json.h"

#include "safe-text.h"

/* The contract: members in this order; absent ones are null in JSON and
 * left out of the a{sv} (D-Bus has no null). */
typedef struct FpField {
    const char *name;
    const struct FpField *members; /* an object's, or each array element's */
} FpField;

static const FpField project_fields[] = {{"uuid", NULL}, {"name", NULL}, {NULL, NULL}};
static const FpField nova_fields[] = {
    {"instance_uuid", NULL}, {"name", NULL}, {"project", project_fields}, {NULL, NULL}};
static const FpField interface_fields[] = {
    {"type", NULL},   {"target", NULL},  {"mac", NULL},     {"source", NULL},
    {"model", NULL},  {"queues", NULL},  {"ifindex", NULL}, {"observable", NULL},
    {"reason", NULL}, {"problem", NULL}, {NULL, NULL}};
static const FpField vm_fields[] = {{"uuid", NULL},
                                    {"name", NULL},
                                    {"name_truncated", NULL},
                                    {"nova", nova_fields},
                                    {"interfaces", interface_fields},
                                    {"problem", NULL},
                                    {NULL, NULL}};

/* Every string comes from a domain XML or the kernel: valid UTF-8 (D-Bus
 * and JSON need it) whatever the bytes. */
static void add_str(GVariantBuilder *b, const char *key, const char *value)
{
    if (value != NULL)
        g_variant_builder_add(b, "{sv}", key, fp_text_variant(value));
}

static GVariant *nova_variant(const FpNova *nova)
{
    GVariantBuilder b;

    g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
    add_str(&b, "instance_uuid", nova->instance_uuid);
    add_str(&b, "name", nova->name);
    if (nova->project_uuid != NULL || nova->project_name != NULL) {
        GVariantBuilder p;

        g_variant_builder_init(&p, G_VARIANT_TYPE_VARDICT);
        add_str(&p, "uuid", nova->project_uuid);
        add_str(&p, "name", nova->project_name);
        g_variant_builder_add(&b, "{sv}", "project", g_variant_builder_end(&p));
    }
    return g_variant_builder_end(&b);
}

static GVariant *interface_variant(const FpVmInterface *nic, const FpVmInterfaceHost *host)
{
    GVariantBuilder b;

    g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
    add_str(&b, "type", nic->type);
    add_str(&b, "target", nic->target);
    add_str(&b, "mac", nic->mac);
    add_str(&b, "source", nic->source);
    add_str(&b, "model", nic->model);
    g_variant_builder_add(&b, "{sv}", "queues", g_variant_new_uint32(nic->queues));
    if (host != NULL)
        g_variant_builder_add(&b, "{sv}", "ifindex", g_variant_new_uint32(host->ifindex));
    g_variant_builder_add(&b, "{sv}", "observable",
                          g_variant_new_boolean(host ? host->observable : nic->observable));
    add_str(&b, "reason", host ? host->reason : nic->reason);
    add_str(&b, "problem", nic->problem);
    return g_variant_builder_end(&b);
}

/**
 * fp_vm_to_variant:
 * @vm: a parsed domain
 * @host: (nullable) (array): per interface, what the host says (device
 *     found, traffic visible); %NULL offline: the XML's view alone
 *
 * The one description of a VM, as an a{sv} with members in this order:
 * `uuid`, `name` (sanitized for display), `name_truncated`, `nova`
 * (`instance_uuid`, `name`, `project` (`uuid`, `name`)), `interfaces`
 * (each: `type`, `target`, `mac`, `source`, `model`, `queues`, `ifindex`,
 * `observable`, `reason`, `problem`), `problem` (what of the definition
 * footprintd could not use).  Absent members are left
 * out; fp_vm_variant_to_json() makes them null.  Callers may append
 * members of their own (e.g. rates).
 *
 * Returns: (transfer floating): the a{sv}
 */
GVariant *fp_vm_to_variant(const FpVm *vm, const FpVmInterfaceHost *host)
{
    GVariantBuilder b, ib;

    g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
    add_str(&b, "uuid", vm->uuid);
    add_str(&b, "name", vm->name);
    g_variant_builder_add(&b, "{sv}", "name_truncated", g_variant_new_boolean(vm->name_truncated));
    if (vm->nova != NULL)
        g_variant_builder_add(&b, "{sv}", "nova", nova_variant(vm->nova));
    g_variant_builder_init(&ib, G_VARIANT_TYPE("aa{sv}"));
    for (guint i = 0; vm->interfaces != NULL && i < vm->interfaces->len; i++)
        g_variant_builder_add_value(
            &ib, interface_variant(g_ptr_array_index(vm->interfaces, i), host ? &host[i] : NULL));
    g_variant_builder_add(&b, "{sv}", "interfaces", g_variant_builder_end(&ib));
    add_str(&b, "problem", vm->problem);
    return g_variant_builder_end(&b);
}

static gboolean is_field(const FpField *fields, const char *name)
{
    for (guint i = 0; fields[i].name != NULL; i++)
        if (g_str_equal(fields[i].name, name))
            return TRUE;
    return FALSE;
}

static JsonNode *dict_to_json(GVariant *dict, const FpField *fields);

/* The recursion follows the static field tables: three levels at most. */
static JsonNode *value_to_json(GVariant *v, const FpField *members) /* NOLINT(misc-no-recursion) */
{
    if (members != NULL && g_variant_is_of_type(v, G_VARIANT_TYPE_VARDICT))
        return dict_to_json(v, members);
    if (members != NULL && g_variant_is_of_type(v, G_VARIANT_TYPE("aa{sv}"))) {
        JsonArray *array = json_array_new();
        JsonNode *node = json_node_new(JSON_NODE_ARRAY);
        GVariantIter it;
        GVariant *child;

        g_variant_iter_init(&it, v);
        while ((child = g_variant_iter_next_value(&it))) {
            json_array_add_element(array, dict_to_json(child, members));
            g_variant_unref(child);
        }
        json_node_take_array(node, array);
        return node;
    }
    return json_gvariant_serialize(v);
}

/* The contract's members in order (absent: null), then any others in the
 * order @dict has them. */
static JsonNode *dict_to_json(GVariant *dict, const FpField *fields) /* NOLINT(misc-no-recursion) */
{
    JsonObject *obj = json_object_new();
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);
    GVariantIter it;
    const char *key;
    GVariant *v;

    for (guint i = 0; fields[i].name != NULL; i++) {
        g_autoptr(GVariant) value = g_variant_lookup_value(dict, fields[i].name, NULL);

        json_object_set_member(obj, fields[i].name,
                               value ? value_to_json(value, fields[i].members)
                                     : json_node_new(JSON_NODE_NULL));
    }
    g_variant_iter_init(&it, dict);
    while (g_variant_iter_next(&it, "{&sv}", &key, &v)) {
        if (!is_field(fields, key))
            json_object_set_member(obj, key, json_gvariant_serialize(v));
        g_variant_unref(v);
    }
    json_node_take_object(node, obj);
    return node;
}

/**
 * fp_vm_variant_to_json:
 * @vm: a VM's a{sv} (fp_vm_to_variant(), possibly with members appended)
 *
 * Returns: (transfer full): the stable JSON form: the contract's members
 * in their order, absent ones null, then the appended ones
 */
JsonNode *fp_vm_variant_to_json(GVariant *vm)
{
    return dict_to_json(vm, vm_fields);
}

/**
 * fp_vm_to_json:
 * @vm: a parsed domain
 *
 * The JSON form of fp_vm_to_variant() offline (no host: `ifindex` null).
 *
 * Returns: (transfer full): a new #JsonNode, free with json_node_unref().
 */
JsonNode *fp_vm_to_json(const FpVm *vm)
{
    g_autoptr(GVariant) v = NULL;

    g_return_val_if_fail(vm != NULL, NULL);
    v = g_variant_ref_sink(fp_vm_to_variant(vm, NULL));
    return fp_vm_variant_to_json(v);
}

/**
 * fp_json_to_string:
 * @node: a JSON tree
 * @pretty: indent with two spaces and break lines, else one compact line
 *
 * Serializes @node, keeping the member order it was built with.
 *
 * Returns: (transfer full): a new string without a trailing newline, free with g_free().
 */
char *fp_json_to_string(JsonNode *node, gboolean pretty)
{
    g_autoptr(JsonGenerator) generator = json_generator_new();

    g_return_val_if_fail(node != NULL, NULL);

    json_generator_set_pretty(generator, pretty);
    json_generator_set_indent(generator, 2);
    json_generator_set_root(generator, node);
    return json_generator_to_data(generator, NULL);
}
