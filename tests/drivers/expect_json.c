/*
 * expect_json: checks one `ndisemu --json` report against what a test
 * driver is supposed to provoke. A tiny JSON reader of its own so that the
 * driver tests need nothing beyond a C compiler (no python, no jq).
 *
 * usage: expect_json [options] REPORT.json     ("-" reads stdin)
 *   --expect RULE[:MODULE[:CB1|CB2...]]
 *        some violation has this rule id, a module containing MODULE and a
 *        callback equal to one of CBn (either part may be empty = any)
 *   --allow RULE     a violation with this rule id is tolerated; it is not
 *                    required (a consequence of the expected bug, e.g. a
 *                    leaked NBL also keeps its module from pausing cleanly)
 *   --delivered      every adapter: each X_originated == X_delivered, every
 *                    counter naming corruption, mismatch or drops is 0, and
 *                    every send completed
 *   --accounted      like --delivered, but receives a filter module handed
 *                    back while paused are allowed, if counted: under churn a
 *                    Paused module still gets receives from below (a stack
 *                    pauses top-down) and must return them; those are the
 *                    only packets that may go missing
 *   --min-rx N       every adapter originated at least N receive packets
 *
 * Any violation whose rule is neither expected nor allowed is a false alarm
 * and fails the check: a verifier that cries wolf is as broken as one that
 * misses the bug.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jval {
    enum jtype type;
    double num;
    char *str;          /* J_STR */
    char *key;          /* set when this value is an object member */
    struct jval *child; /* J_ARR / J_OBJ: first element */
    struct jval *next;  /* sibling */
};

struct parser {
    const char *p;
    const char *end;
    const char *err;
};

/* Every allocation is recorded and released at exit, on every path: the
   checker runs under LeakSanitizer with the rest of the suite. */
static void **g_allocs;
static size_t g_nallocs, g_capallocs;

static void *track(void *p)
{
    if (!p || (g_nallocs == g_capallocs &&
               !(g_allocs = realloc(g_allocs, (g_capallocs = g_capallocs ? g_capallocs * 2 : 256) *
                                                  sizeof(*g_allocs))))) {
        perror("expect_json");
        exit(2);
    }
    g_allocs[g_nallocs++] = p;
    return p;
}

static void free_all(void)
{
    while (g_nallocs > 0)
        free(g_allocs[--g_nallocs]);
    free(g_allocs);
}

static void ws(struct parser *ps)
{
    while (ps->p < ps->end && isspace((unsigned char)*ps->p))
        ps->p++;
}

static struct jval *jnew(enum jtype t)
{
    struct jval *v = track(calloc(1, sizeof(*v)));
    v->type = t;
    return v;
}

/* Escapes are kept simple: the report's strings are ASCII messages; \uXXXX
   outside ASCII turns into '?', which is enough to compare names. */
static char *parse_string(struct parser *ps)
{
    size_t n = 0;
    const char *q = ps->p + 1;
    while (q < ps->end && *q != '"')
        q += (*q == '\\' && q + 1 < ps->end) ? 2 : 1;
    /* Escapes only shrink a string: its raw length bounds the result. */
    char *s = track(malloc((size_t)(q - ps->p) + 1));
    ps->p++; /* opening quote */
    while (ps->p < ps->end && *ps->p != '"') {
        char c = *ps->p++;
        if (c == '\\' && ps->p < ps->end) {
            char e = *ps->p++;
            switch (e) {
            case 'n':
                c = '\n';
                break;
            case 't':
                c = '\t';
                break;
            case 'r':
                c = '\r';
                break;
            case 'b':
                c = '\b';
                break;
            case 'f':
                c = '\f';
                break;
            case 'u': {
                unsigned cp = 0;
                for (int i = 0; i < 4 && ps->p < ps->end; i++, ps->p++)
                    cp = cp * 16 + (unsigned)(isdigit((unsigned char)*ps->p)
                                                  ? *ps->p - '0'
                                                  : (tolower((unsigned char)*ps->p) - 'a' + 10));
                c = cp < 0x80 ? (char)cp : '?';
                break;
            }
            default:
                c = e;
            }
        }
        s[n++] = c;
    }
    if (ps->p >= ps->end) {
        ps->err = "unterminated string";
        return NULL;
    }
    ps->p++;
    s[n] = '\0';
    return s;
}

static struct jval *parse_value(struct parser *ps, int depth);

static struct jval *parse_container(struct parser *ps, int depth, bool obj)
{
    struct jval *v = jnew(obj ? J_OBJ : J_ARR), **tail = &v->child;
    char close = obj ? '}' : ']';
    ps->p++;
    ws(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        return v;
    }
    for (;;) {
        char *key = NULL;
        ws(ps);
        if (obj) {
            if (ps->p >= ps->end || *ps->p != '"') {
                ps->err = "expected a member name";
                return NULL;
            }
            key = parse_string(ps);
            if (!key)
                return NULL;
            ws(ps);
            if (ps->p >= ps->end || *ps->p != ':') {
                ps->err = "expected ':'";
                return NULL;
            }
            ps->p++;
        }
        struct jval *c = parse_value(ps, depth + 1);
        if (!c)
            return NULL;
        c->key = key;
        *tail = c;
        tail = &c->next;
        ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == close) {
            ps->p++;
            return v;
        }
        ps->err = obj ? "expected ',' or '}'" : "expected ',' or ']'";
        return NULL;
    }
}

static struct jval *parse_value(struct parser *ps, int depth)
{
    ws(ps);
    if (depth > 64) {
        ps->err = "nesting too deep";
        return NULL;
    }
    if (ps->p >= ps->end) {
        ps->err = "unexpected end";
        return NULL;
    }
    char c = *ps->p;
    if (c == '{' || c == '[')
        return parse_container(ps, depth, c == '{');
    if (c == '"') {
        char *s = parse_string(ps);
        if (!s)
            return NULL;
        struct jval *v = jnew(J_STR);
        v->str = s;
        return v;
    }
    if (c == '-' || isdigit((unsigned char)c)) {
        char *endp;
        struct jval *v = jnew(J_NUM);
        v->num = strtod(ps->p, &endp);
        ps->p = endp;
        return v;
    }
    static const struct {
        const char *word;
        enum jtype t;
        double n;
    } words[] = {{"true", J_BOOL, 1}, {"false", J_BOOL, 0}, {"null", J_NULL, 0}};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        size_t l = strlen(words[i].word);
        if ((size_t)(ps->end - ps->p) >= l && memcmp(ps->p, words[i].word, l) == 0) {
            struct jval *v = jnew(words[i].t);
            v->num = words[i].n;
            ps->p += l;
            return v;
        }
    }
    ps->err = "unexpected character";
    return NULL;
}

static const struct jval *member(const struct jval *obj, const char *key)
{
    if (!obj || obj->type != J_OBJ)
        return NULL;
    for (const struct jval *c = obj->child; c; c = c->next)
        if (c->key && strcmp(c->key, key) == 0)
            return c;
    return NULL;
}

static const char *member_str(const struct jval *obj, const char *key)
{
    const struct jval *v = member(obj, key);
    return v && v->type == J_STR ? v->str : "";
}

static struct jval *str_member(const char *key, const char *v, size_t n, struct jval *next)
{
    struct jval *j = jnew(J_STR);
    j->key = track(strdup(key));
    j->str = track(strndup(v, n));
    j->next = next;
    return j;
}

/*
 * On a deadlock ndisemu may exit from its watchdog with only the
 * human-readable lines, "VIOLATION [rule] module=M callback=C: message";
 * they are turned into the same tree as a JSON report without adapters.
 */
static struct jval *findings_from_text(const char *buf, size_t len)
{
    static const char tag[] = "VIOLATION [";
    struct jval *root = jnew(J_OBJ), *viol = jnew(J_ARR), **tail = &viol->child;
    bool any = false;
    viol->key = track(strdup("violations"));
    root->child = viol;
    for (const char *line = buf; line < buf + len;) {
        const char *eol = memchr(line, '\n', (size_t)(buf + len - line));
        if (!eol)
            eol = buf + len;
        const char *r = strstr(line, tag), *m, *c, *msg;
        if (r && r < eol && (r += sizeof(tag) - 1) && (m = strstr(r, "] module=")) && m < eol &&
            (c = strstr(m, " callback=")) && c < eol && (msg = strstr(c, ": ")) && msg < eol) {
            struct jval *v = jnew(J_OBJ);
            v->child = str_member("rule", r, (size_t)(m - r), NULL);
            m += strlen("] module=");
            v->child->next = str_member("module", m, (size_t)(c - m), NULL);
            c += strlen(" callback=");
            v->child->next->next = str_member("callback", c, (size_t)(msg - c), NULL);
            v->child->next->next->next =
                str_member("message", msg + 2, (size_t)(eol - msg - 2), NULL);
            *tail = v;
            tail = &v->next;
            any = true;
        }
        line = eol + 1;
    }
    return any ? root : NULL;
}

struct expectation {
    char *rule, *module, *callbacks; /* callbacks: "A|B|C" */
    bool seen;
};

static bool callback_matches(const char *want, const char *got)
{
    if (!want || !*want)
        return true;
    size_t gl = strlen(got);
    for (const char *s = want; *s;) {
        const char *bar = strchr(s, '|');
        size_t l = bar ? (size_t)(bar - s) : strlen(s);
        if (l == gl && strncmp(s, got, l) == 0)
            return true;
        s += l + (bar ? 1 : 0);
    }
    return false;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "expect_json: %s: %s\n", path, strerror(errno));
        exit(2);
    }
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    size_t r;
    while (b && (r = fread(b + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap)
            b = realloc(b, cap *= 2);
    }
    if (!b)
        exit(2);
    if (f != stdin)
        fclose(f);
    *len = n;
    return track(b);
}

static void usage(void)
{
    fprintf(stderr, "usage: expect_json [--expect RULE[:MODULE[:CB|CB]]]... [--allow RULE]... "
                    "[--delivered|--accounted] [--min-rx N] REPORT.json\n");
    exit(2);
}

static double num(const struct jval *obj, const char *key)
{
    const struct jval *v = member(obj, key);
    return v && v->type == J_NUM ? v->num : 0;
}

static bool check_adapters(const struct jval *root, bool delivered, bool accounted, double min_rx)
{
    const struct jval *ads = member(root, "adapters");
    bool ok = true;
    if (!ads || ads->type != J_ARR || !ads->child) {
        fprintf(stderr, "FAIL: report has no adapters\n");
        return false;
    }
    unsigned idx = 0;
    for (const struct jval *a = ads->child; a; a = a->next, idx++) {
        const struct jval *rx = member(a, "rx_originated");
        if (min_rx > 0 && (!rx || rx->num < min_rx)) {
            fprintf(stderr, "FAIL: adapter %u originated %g receives, want >= %g\n", idx,
                    rx ? rx->num : 0, min_rx);
            ok = false;
        }
        if (accounted) {
            double orig = num(a, "rx_originated"), dlv = num(a, "rx_delivered");
            double drop = num(a, "rx_dropped_by_filter"), back = num(a, "rx_returned");
            if (orig != dlv + drop || back != orig) {
                fprintf(stderr,
                        "FAIL: adapter %u rx_originated=%g, delivered=%g + dropped while "
                        "paused=%g, returned=%g\n",
                        idx, orig, dlv, drop, back);
                ok = false;
            }
        }
        if (!delivered && !accounted)
            continue;
        for (const struct jval *c = a->child; c; c = c->next) {
            if (!c->key || c->type != J_NUM)
                continue;
            const char *suffix = strstr(c->key, "_originated");
            if (suffix && suffix[strlen("_originated")] == '\0' && !accounted) {
                char want[128];
                snprintf(want, sizeof(want), "%.*s_delivered", (int)(suffix - c->key), c->key);
                const struct jval *d = member(a, want);
                if (d && (d->type != J_NUM || d->num != c->num)) {
                    fprintf(stderr, "FAIL: adapter %u %s=%g but %s=%g\n", idx, c->key, c->num, want,
                            d ? d->num : -1);
                    ok = false;
                }
            }
            if ((strstr(c->key, "corrupt") || strstr(c->key, "mismatch") ||
                 (strstr(c->key, "dropped") && !accounted)) &&
                c->num != 0) {
                fprintf(stderr, "FAIL: adapter %u %s=%g\n", idx, c->key, c->num);
                ok = false;
            }
        }
        /* Every send comes back, and reaches the miniport unless a paused
           module refused it (which the contract requires, not a loss). */
        const struct jval *sent = member(a, "tx_sent"), *done = member(a, "tx_completed");
        const struct jval *wire = member(a, "tx_reached_miniport");
        const struct jval *refused = member(a, "tx_refused_paused");
        if (sent && done && sent->num != done->num) {
            fprintf(stderr, "FAIL: adapter %u tx_sent=%g but tx_completed=%g\n", idx, sent->num,
                    done->num);
            ok = false;
        }
        if (sent && wire && sent->num != wire->num + (refused ? refused->num : 0)) {
            fprintf(stderr,
                    "FAIL: adapter %u tx_sent=%g but tx_reached_miniport=%g (+%g refused)\n", idx,
                    sent->num, wire->num, refused ? refused->num : 0);
            ok = false;
        }
    }
    return ok;
}

int main(int argc, char **argv)
{
    struct expectation exp[16];
    const char *allow[16];
    size_t nexp = 0, nallow = 0;
    bool delivered = false, accounted = false;
    double min_rx = 0;
    const char *path = NULL;

    atexit(free_all);

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--expect") == 0 && i + 1 < argc && nexp < 16) {
            char *spec = track(strdup(argv[++i]));
            struct expectation *e = &exp[nexp++];
            memset(e, 0, sizeof(*e));
            e->rule = spec;
            if ((e->module = strchr(spec, ':')) != NULL) {
                *e->module++ = '\0';
                if ((e->callbacks = strchr(e->module, ':')) != NULL)
                    *e->callbacks++ = '\0';
            }
        } else if (strcmp(argv[i], "--allow") == 0 && i + 1 < argc && nallow < 16) {
            allow[nallow++] = argv[++i];
        } else if (strcmp(argv[i], "--delivered") == 0) {
            delivered = true;
        } else if (strcmp(argv[i], "--accounted") == 0) {
            accounted = true;
        } else if (strcmp(argv[i], "--min-rx") == 0 && i + 1 < argc) {
            min_rx = atof(argv[++i]);
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            usage();
        } else {
            path = argv[i];
        }
    }
    if (!path)
        usage();

    size_t len;
    char *buf = read_all(path, &len);
    /* ndisemu may print human-readable lines (a deadlock dump) around the
       report: the report is the first line-initial object that parses and
       has a violations member. */
    struct parser ps = {buf, buf + len, "no JSON object"};
    struct jval *root = NULL;
    for (size_t i = 0; i < len && !member(root, "violations"); i++) {
        if (buf[i] != '{' || (i > 0 && buf[i - 1] != '\n'))
            continue;
        ps = (struct parser){buf + i, buf + len, NULL};
        root = parse_value(&ps, 0);
    }
    if (!member(root, "violations"))
        root = findings_from_text(buf, len);
    if (!root) {
        fprintf(stderr, "FAIL: report is not a JSON object (%s at byte %zu)\n",
                ps.err ? ps.err : "not an object", (size_t)(ps.p - buf));
        return 1;
    }

    bool ok = true;
    const struct jval *viol = member(root, "violations");
    if (!viol || viol->type != J_ARR) {
        fprintf(stderr, "FAIL: report has no violations array\n");
        return 1;
    }
    for (const struct jval *v = viol->child; v; v = v->next) {
        const char *rule = member_str(v, "rule"), *module = member_str(v, "module");
        const char *cb = member_str(v, "callback");
        bool accounted = false;
        for (size_t k = 0; k < nexp; k++) {
            if (strcmp(exp[k].rule, rule) != 0)
                continue;
            accounted = true;
            if ((!exp[k].module || strstr(module, exp[k].module)) &&
                callback_matches(exp[k].callbacks, cb))
                exp[k].seen = true;
        }
        for (size_t k = 0; k < nallow && !accounted; k++)
            accounted = strcmp(allow[k], rule) == 0;
        if (!accounted) {
            fprintf(stderr, "FAIL: unexpected finding %s module=%s callback=%s: %s\n", rule, module,
                    cb, member_str(v, "message"));
            ok = false;
        }
    }
    /* The report keeps only the first findings of each rule; its totals
       count all. A rule counted but not expected is a false alarm even when
       none of its findings were kept, and the totals must agree with what
       was kept. Reports from before the totals existed have none. */
    const struct jval *totals = member(root, "rule_totals");
    for (const struct jval *t = totals && totals->type == J_OBJ ? totals->child : NULL; t;
         t = t->next) {
        double total = num(t, "total"), kept = num(t, "kept"), listed = 0;
        bool accounted = false;
        for (const struct jval *v = viol->child; v; v = v->next)
            listed += strcmp(member_str(v, "rule"), t->key) == 0;
        for (size_t k = 0; k < nexp && !accounted; k++)
            accounted = strcmp(exp[k].rule, t->key) == 0;
        for (size_t k = 0; k < nallow && !accounted; k++)
            accounted = strcmp(allow[k], t->key) == 0;
        if (total > 0 && !accounted) {
            fprintf(stderr, "FAIL: unexpected rule %s counted %g time(s)\n", t->key, total);
            ok = false;
        }
        if (kept != listed || total < kept || !member_str(t, "windows")[0]) {
            fprintf(stderr, "FAIL: rule_totals.%s total=%g kept=%g, but %g listed (or no windows)\n",
                    t->key, total, kept, listed);
            ok = false;
        }
    }
    for (size_t k = 0; k < nexp; k++) {
        if (!exp[k].seen) {
            fprintf(stderr, "FAIL: no %s finding naming module '%s' and callback '%s'\n",
                    exp[k].rule, exp[k].module ? exp[k].module : "",
                    exp[k].callbacks ? exp[k].callbacks : "");
            ok = false;
        }
    }
    if (delivered || accounted || min_rx > 0)
        ok = check_adapters(root, delivered, accounted, min_rx) && ok;
    if (ok)
        printf("expect_json: ok\n");
    return ok ? 0 : 1;
}
