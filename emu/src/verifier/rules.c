/*
 * The rule table (rules.h) as the report reads it: id, Windows equivalent,
 * description.
 */
#include "verifier.h"

struct emu_rule_info {
    const char *id, *windows, *what;
};

static const struct emu_rule_info g_rules[EMU_RULE_COUNT] = {
#define EMU_RULE_ROW(name, id, windows, what) [EMU_RULE_##name] = {id, windows, what},
    EMU_RULES(EMU_RULE_ROW)
#undef EMU_RULE_ROW
};

const char *emu_rule_id(enum emu_rule rule)
{
    return (unsigned)rule < EMU_RULE_COUNT ? g_rules[rule].id : "unknown";
}

const char *emu_rule_windows(enum emu_rule rule)
{
    return (unsigned)rule < EMU_RULE_COUNT ? g_rules[rule].windows : "";
}

const char *emu_rule_description(enum emu_rule rule)
{
    return (unsigned)rule < EMU_RULE_COUNT ? g_rules[rule].what : "";
}
