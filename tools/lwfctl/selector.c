/*
 * Adapter selectors and the names of actions and directions, in both
 * directions: text -> struct for the rules file and --adapter, struct ->
 * text for `lwfctl show`, which prints what the parser reads back.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rules_parse.h"

static int parse_mac(const char *s, uint8_t mac[6])
{
    char sep = 0;

    for (int i = 0; i < 6; i++) {
        if (!isxdigit((unsigned char)s[0]) || !isxdigit((unsigned char)s[1]))
            return -1;
        char hex[3] = {s[0], s[1], 0};
        mac[i] = (uint8_t)strtoul(hex, NULL, 16);
        s += 2;
        if (i == 5)
            break;
        /* One separator for the whole address: aa:bb-cc... is a typo, not a MAC. */
        if ((*s != ':' && *s != '-') || (sep != 0 && *s != sep))
            return -1;
        sep = *s++;
    }
    return *s == '\0' ? 0 : -1;
}

static int looks_like_mac(const char *s)
{
    /* Two hex digits, a separator, and nothing but hex digits and separators:
     * the user meant a MAC, so a malformed one is an error rather than
     * silently an adapter name. A name of that shape can still be quoted. */
    if (!isxdigit((unsigned char)s[0]) || !isxdigit((unsigned char)s[1]) ||
        (s[2] != ':' && s[2] != '-'))
        return 0;
    for (; *s != '\0'; s++)
        if (!isxdigit((unsigned char)*s) && *s != ':' && *s != '-')
            return 0;
    return 1;
}

int lwf_selector_parse(const char *text, int quoted, struct hl_selector *out, char *msg,
                       size_t msg_len)
{
    memset(out, 0, sizeof(*out));
    if (!quoted && strncasecmp(text, "ifindex:", 8) == 0) {
        const char *num = text + 8;
        char *end;
        errno = 0;
        unsigned long v = strtoul(num, &end, 10);
        /* 0 is NET_IFINDEX_UNSPECIFIED: no adapter has it. */
        if (!isdigit((unsigned char)*num) || *end != '\0' || errno != 0 || v == 0 ||
            v > UINT32_MAX) {
            snprintf(msg, msg_len, "bad interface index '%s' (expected ifindex:N, N from 1)", num);
            return -1;
        }
        out->kind = HL_SEL_IFINDEX;
        out->ifindex = (uint32_t)v;
        return 0;
    }
    if (!quoted && looks_like_mac(text)) {
        if (parse_mac(text, out->mac) != 0) {
            snprintf(msg, msg_len,
                     "bad MAC address '%s' (expected aa:bb:cc:dd:ee:ff or aa-bb-cc-dd-ee-ff)",
                     text);
            return -1;
        }
        out->kind = HL_SEL_MAC;
        return 0;
    }
    size_t len = strlen(text);
    if (len == 0) {
        snprintf(msg, msg_len, "empty adapter name");
        return -1;
    }
    if (len >= HL_SEL_NAME_MAX) {
        snprintf(msg, msg_len, "adapter name is %zu bytes long (at most %u)", len,
                 HL_SEL_NAME_MAX - 1);
        return -1;
    }
    out->kind = HL_SEL_NAME;
    memcpy(out->name, text, len + 1);
    return 0;
}

/* Writes name in quotes with the tokenizer's two escapes, truncating to fit len. */
static void quote_name(const char *name, char *buf, size_t len)
{
    size_t o = 0;

    if (len < 3) {
        if (len > 0)
            buf[0] = '\0';
        return;
    }
    buf[o++] = '"';
    for (; *name != '\0' && o + 3 < len; name++) {
        if (*name == '"' || *name == '\\')
            buf[o++] = '\\';
        buf[o++] = *name;
    }
    buf[o++] = '"';
    buf[o] = '\0';
}

void lwf_selector_format(const struct hl_selector *sel, char *buf, size_t len)
{
    const uint8_t *m = sel->mac;

    switch (sel->kind) {
    case HL_SEL_MAC:
        snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
        break;
    case HL_SEL_IFINDEX:
        snprintf(buf, len, "ifindex:%u", (unsigned)sel->ifindex);
        break;
    case HL_SEL_NAME:
        /* Quoted even when it need not be, so a name that looks like a MAC
         * or ifindex reads back as a name. */
        quote_name(sel->name, buf, len);
        break;
    default:
        snprintf(buf, len, "all");
        break;
    }
}

const char *lwf_action_name(uint8_t action)
{
    return action == HL_ACTION_PASS ? "pass" : action == HL_ACTION_DROP ? "drop" : "?";
}

const char *lwf_direction_name(uint8_t direction)
{
    switch (direction) {
    case HL_DIR_IN:
        return "in";
    case HL_DIR_OUT:
        return "out";
    case HL_DIR_BOTH:
        return "both";
    default:
        return "?";
    }
}
