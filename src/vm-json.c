/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "vm-json.h"

#include "safe-text.h"

/* json_builder_add_string_value() has no NULL → null mapping of its own,
 * and JSON text must be UTF-8: every value comes from a domain XML. */
static void fp_json_add_string_member(JsonBuilder *builder, const char *name, const char *value)
{
    json_builder_set_member_name(builder, name);
    if (value != NULL) {
        g_autofree char *utf8 = fp_text_utf8(value, -1);

        json_builder_add_string_value(builder, utf8);
    } else {
        json_builder_add_null_value(builder);
    }
}

static void fp_json_add_nova(JsonBuilder *builder, const FpNova *nova)
{
    json_builder_set_member_name(builder, "nova");
    if (nova == NULL) {
        json_builder_add_null_value(builder);
        return;
    }
    json_builder_begin_object(builder);
    fp_json_add_string_member(builder, "instance_uuid", nova->instance_uuid);
    fp_json_add_string_member(builder, "name", nova->name);
    json_builder_set_member_name(builder, "project");
    if (nova->project_uuid == NULL && nova->project_name == NULL) {
        json_builder_add_null_value(builder);
    } else {
        json_builder_begin_object(builder);
        fp_json_add_string_member(builder, "uuid", nova->project_uuid);
        fp_json_add_string_member(builder, "name", nova->project_name);
        json_builder_end_object(builder);
    }
    json_builder_end_object(builder);
}

static void fp_json_add_interface(JsonBuilder *builder, const FpVmInterface *iface)
{
    json_builder_begin_object(builder);
    fp_json_add_string_member(builder, "type", iface->type);
    fp_json_add_string_member(builder, "target", iface->target);
    fp_json_add_string_member(builder, "mac", iface->mac);
    fp_json_add_string_member(builder, "source", iface->source);
    fp_json_add_string_member(builder, "model", iface->model);
    json_builder_set_member_name(builder, "queues");
    json_builder_add_int_value(builder, iface->queues);
    json_builder_set_member_name(builder, "observable");
    json_builder_add_boolean_value(builder, iface->observable);
    fp_json_add_string_member(builder, "reason", iface->reason);
    fp_json_add_string_member(builder, "problem", iface->problem);
    json_builder_end_object(builder);
}

/**
 * fp_vm_to_json:
 * @vm: a parsed domain
 *
 * Builds the stable JSON form of @vm, members in this order:
 * `{"uuid", "name", "name_truncated", "nova": null | {"instance_uuid",
 * "name", "project": null | {"uuid", "name"}}, "interfaces": [{"type",
 * "target", "mac", "source", "model", "queues", "observable", "reason",
 * "problem"}], "problem"}`.  Absent strings are `null`; MACs are
 * lowercase; `queues` is a number (0 when the domain's value could not be
 * used), `observable` and `name_truncated` booleans.
 *
 * Returns: (transfer full): a new #JsonNode, free with json_node_unref().
 */
JsonNode *fp_vm_to_json(const FpVm *vm)
{
    g_autoptr(JsonBuilder) builder = json_builder_new();

    g_return_val_if_fail(vm != NULL, NULL);

    json_builder_begin_object(builder);
    fp_json_add_string_member(builder, "uuid", vm->uuid);
    fp_json_add_string_member(builder, "name", vm->name);
    json_builder_set_member_name(builder, "name_truncated");
    json_builder_add_boolean_value(builder, vm->name_truncated);
    fp_json_add_nova(builder, vm->nova);
    json_builder_set_member_name(builder, "interfaces");
    json_builder_begin_array(builder);
    for (guint i = 0; vm->interfaces != NULL && i < vm->interfaces->len; i++)
        fp_json_add_interface(builder, g_ptr_array_index(vm->interfaces, i));
    json_builder_end_array(builder);
    fp_json_add_string_member(builder, "problem", vm->problem);
    json_builder_end_object(builder);
    return json_builder_get_root(builder);
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
