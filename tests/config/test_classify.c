/*
 * Selector matching and first-match classification through a module view,
 * over hand-built packets, whole and split across segments.
 */
#include "cfg_test.h"

static struct hl_adapter_id adapter(const char *name, const char *alias, uint8_t last_mac,
                                    uint32_t ifindex)
{
    struct hl_adapter_id id;

    memset(&id, 0, sizeof(id));
    strcpy(id.name, name);
    strcpy(id.alias, alias);
    id.mac[0] = 0x02;
    id.mac[5] = last_mac;
    id.ifindex = ifindex;
    return id;
}

static void test_selectors(void)
{
    struct hl_adapter_id a = adapter("Eth0", "Ethernet 2", 0x01, 7);
    struct hl_selector s;

    memset(&s, 0, sizeof(s));
    s.kind = HL_SEL_ALL;
    CHECK(hl_selector_match(&s, &a) && hl_selector_match(&s, NULL), "all");
    s.kind = HL_SEL_NAME;
    strcpy(s.name, "ETH0");
    CHECK(hl_selector_match(&s, &a), "name, other case");
    strcpy(s.name, "ethernet 2");
    CHECK(hl_selector_match(&s, &a), "alias, other case");
    strcpy(s.name, "eth");
    CHECK(!hl_selector_match(&s, &a), "prefix must not match");
    strcpy(s.name, "eth00");
    CHECK(!hl_selector_match(&s, &a), "longer must not match");
    strcpy(s.name, "\xc3\x89th0"); /* non-ASCII bytes compare exactly */
    CHECK(!hl_selector_match(&s, &a), "utf-8");
    s.name[0] = '\0';
    CHECK(!hl_selector_match(&s, &a), "empty name");
    s.kind = HL_SEL_MAC;
    memcpy(s.mac, a.mac, 6);
    CHECK(hl_selector_match(&s, &a), "mac");
    s.mac[5] ^= 1;
    CHECK(!hl_selector_match(&s, &a), "other mac");
    s.kind = HL_SEL_IFINDEX;
    s.ifindex = 7;
    CHECK(hl_selector_match(&s, &a), "ifindex");
    s.ifindex = 8;
    CHECK(!hl_selector_match(&s, &a) && !hl_selector_match(&s, NULL), "other ifindex");
    s.kind = 9;
    CHECK(!hl_selector_match(&s, &a), "unknown kind");
}

struct expect {
    const char *what;
    int adapter; /* index into the adapters below */
    enum hl_direction dir;
    uint8_t proto; /* 0: ARP */
    uint8_t action;
    uint32_t rule;
};

/* "multi": 1 drop in tcp on "eth0"; 2 pass out on MAC ..:01; 3 drop udp on ifindex 7; 4 pass. */
static const struct expect multi_expect[] = {
    {"eth0 in tcp", 0, HL_DIR_IN, 6, HL_ACTION_DROP, 1},
    {"eth0 in udp", 0, HL_DIR_IN, 17, HL_ACTION_DROP, 3},
    {"eth0 in arp", 0, HL_DIR_IN, 0, HL_ACTION_PASS, 4},
    {"eth0 out tcp", 0, HL_DIR_OUT, 6, HL_ACTION_PASS, 2},
    {"wlan0 in tcp", 1, HL_DIR_IN, 6, HL_ACTION_PASS, 4},
    {"wlan0 out udp", 1, HL_DIR_OUT, 17, HL_ACTION_PASS, 4},
    {"alias eth0 in tcp", 2, HL_DIR_IN, 6, HL_ACTION_DROP, 1},
    {"ifindex 7 out udp", 3, HL_DIR_OUT, 17, HL_ACTION_DROP, 3},
};

static struct hl_snapshot *compile_rules(const struct hl_rule_spec *r, uint32_t n, uint8_t def,
                                         struct counting_alloc *c)
{
    struct hl_alloc a = counting_hl_alloc(c, 1u << 20);
    struct hl_snapshot *s = NULL;
    uint8_t buf[1024];
    char reason[256];
    size_t len = 0;
    int rc;

    rc = hl_blob_encode(r, n, def, buf, sizeof(buf), &len);
    CHECK(rc == HL_OK, "encode: %s", hl_status_name(rc));
    rc = hl_config_compile(buf, len, &a, 2, &s, reason, sizeof(reason));
    CHECK(rc == HL_OK, "compile: %s", reason);
    return rc == HL_OK ? s : NULL;
}

static void test_multi(void)
{
    struct hl_adapter_id ads[4] = {
        adapter("eth0", "Ethernet", 0x01, 7),
        adapter("wlan0", "Wi-Fi", 0x09, 3),
        adapter("{GUID}", "ETH0", 0x09, 3),
        adapter("lo", "", 0x09, 7),
    };
    static struct hl_view v; /* ~4 KiB: as in a module context, not on a kernel stack */
    struct hl_rule_spec r[4];
    struct counting_alloc c;
    struct hl_snapshot *s = compile_rules(r, multi_rules(r), HL_ACTION_DROP, &c);
    uint8_t pkt[60];
    size_t i;

    if (s == NULL)
        return;
    for (i = 0; i < sizeof(multi_expect) / sizeof(multi_expect[0]); i++) {
        const struct expect *e = &multi_expect[i];
        struct hl_seg whole = {pkt, sizeof(pkt)};
        struct hl_seg split[3] = {{pkt, 13}, {pkt + 13, 10}, {pkt + 23, sizeof(pkt) - 23}};
        uint32_t rule = 99;
        uint8_t act;

        make_packet(pkt, e->proto);
        hl_view_refresh(&v, s, &ads[e->adapter]);
        act = hl_classify(&v, e->dir, &whole, 1, sizeof(pkt), &rule);
        CHECK(act == e->action && rule == e->rule, "%s: action %u rule %u, want %u rule %u",
              e->what, act, rule, e->action, e->rule);
        rule = 99;
        act = hl_classify(&v, e->dir, split, 3, sizeof(pkt), &rule);
        CHECK(act == e->action && rule == e->rule, "%s (split): action %u rule %u", e->what, act,
              rule);
    }
    hl_snapshot_free(s);
    CHECK(c.live == 0, "leak");
}

static void test_default_and_empty(void)
{
    static struct hl_view v;
    struct hl_adapter_id a = adapter("eth1", "", 0x05, 2);
    struct hl_rule_spec r[1];
    struct counting_alloc c;
    struct hl_snapshot *s;
    struct hl_seg seg;
    uint8_t pkt[60];
    uint32_t rule = 99;

    memset(r, 0, sizeof(r));
    r[0].action = HL_ACTION_PASS;
    r[0].direction = HL_DIR_IN;
    r[0].insns = prog_tcp;
    r[0].ninsns = 6;
    s = compile_rules(r, 1, HL_ACTION_DROP, &c);
    if (s == NULL)
        return;
    make_packet(pkt, 0);
    seg.data = pkt;
    seg.len = sizeof(pkt);
    hl_view_refresh(&v, s, &a);
    CHECK(hl_classify(&v, HL_DIR_IN, &seg, 1, 60, &rule) == HL_ACTION_DROP && rule == 0,
          "arp falls to default drop (rule %u)", rule);
    make_packet(pkt, 6);
    CHECK(hl_classify(&v, HL_DIR_IN, &seg, 1, 60, &rule) == HL_ACTION_PASS && rule == 1,
          "tcp passes by rule 1 (rule %u)", rule);
    CHECK(hl_classify(&v, HL_DIR_OUT, &seg, 1, 60, &rule) == HL_ACTION_DROP && rule == 0,
          "rule 1 is inbound only (rule %u)", rule);
    /* A short capture makes the program's load fail: no match, default. */
    seg.len = 20;
    CHECK(hl_classify(&v, HL_DIR_IN, &seg, 1, 60, &rule) == HL_ACTION_DROP && rule == 0,
          "truncated capture (rule %u)", rule);
    hl_snapshot_free(s);

    /* A refresh onto a snapshot with no rules must forget the old bits. */
    s = compile_rules(NULL, 0, HL_ACTION_PASS, &c);
    if (s == NULL)
        return;
    seg.len = sizeof(pkt);
    hl_view_refresh(&v, s, &a);
    CHECK(hl_classify(&v, HL_DIR_IN, &seg, 1, 60, &rule) == HL_ACTION_PASS && rule == 0,
          "empty config (rule %u)", rule);
    hl_snapshot_free(s);
    hl_view_refresh(&v, NULL, &a);
    CHECK(hl_classify(&v, HL_DIR_IN, &seg, 1, 60, NULL) == HL_ACTION_PASS, "no snapshot");
    CHECK(c.live == 0, "leak");
}

/* Rules past the first bitmap word: first match must still be the lowest number. */
static void test_many_rules(void)
{
    static struct hl_rule_spec r[200];
    static struct hl_view v;
    static uint8_t buf[32 + 200 * 72];
    struct hl_adapter_id a = adapter("eth0", "", 1, 1);
    struct counting_alloc c;
    struct hl_alloc al = counting_hl_alloc(&c, 1u << 20);
    struct hl_snapshot *s = NULL;
    struct hl_seg seg;
    uint8_t pkt[60];
    uint32_t i, rule = 0;
    size_t len;
    char reason[128];

    for (i = 0; i < 200; i++) {
        r[i].action = HL_ACTION_DROP;
        r[i].direction = HL_DIR_IN;
        r[i].selector.kind = i == 150 ? HL_SEL_ALL : HL_SEL_IFINDEX;
        r[i].selector.ifindex = 99;
        r[i].insns = i < 130 ? prog_udp : prog_tcp;
        r[i].ninsns = 6;
    }
    CHECK(hl_blob_encode(r, 200, HL_ACTION_PASS, buf, sizeof(buf), &len) == HL_OK, "encode");
    CHECK(hl_config_compile(buf, len, &al, 1, &s, reason, sizeof(reason)) == HL_OK, "%s", reason);
    if (s == NULL)
        return;
    make_packet(pkt, 6);
    seg.data = pkt;
    seg.len = sizeof(pkt);
    hl_view_refresh(&v, s, &a);
    CHECK(hl_classify(&v, HL_DIR_IN, &seg, 1, 60, &rule) == HL_ACTION_DROP && rule == 151,
          "rule %u, want 151", rule);
    a.ifindex = 99;
    hl_view_refresh(&v, s, &a);
    CHECK(hl_classify(&v, HL_DIR_IN, &seg, 1, 60, &rule) == HL_ACTION_DROP && rule == 131,
          "rule %u, want 131", rule);
    hl_snapshot_free(s);
    CHECK(c.live == 0, "leak");
}

int main(void)
{
    test_selectors();
    test_multi();
    test_default_and_empty();
    test_many_rules();
    return cfg_finish("test_config_classify");
}
