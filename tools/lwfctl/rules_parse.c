/*
 * The rules file parser. Errors are collected, not fatal: a user fixing a
 * file wants every mistake in one run, so each bad line is reported and the
 * parser moves on to the next one (up to LWF_MAX_ERRORS).
 */
#include "rules_parse.h"

#include <ctype.h>
#include <errno.h>
#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_TOKENS 8u /* more than a rule ever has: the rest only needs counting */

struct token {
    const char *text; /* unescaped, NUL-terminated */
    unsigned col;     /* 1-based byte column of the token's first character */
    unsigned end;     /* column just past its last character (closing quote included) */
    int quoted;
};

struct parser {
    const char *path;
    FILE *err;
    unsigned lineno;
    const char *line; /* current line, without its end-of-line bytes */
    struct lwf_rules *out;
    pcap_t *pcap;
    int have_default;
    unsigned default_line;
};

static void report(struct parser *p, unsigned col, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void report(struct parser *p, unsigned col, const char *fmt, ...)
{
    va_list ap;

    p->out->nerrors++;
    if (p->out->nerrors > LWF_MAX_ERRORS)
        return;
    fprintf(p->err, "%s:%u:%u: error: ", p->path, p->lineno, col);
    va_start(ap, fmt);
    vfprintf(p->err, fmt, ap);
    va_end(ap);
    fprintf(p->err, "\n%s\n", p->line);
    /* Tabs are echoed as tabs so that the caret lines up in any terminal. */
    for (unsigned i = 0; i + 1 < col && p->line[i] != '\0'; i++)
        fputc(p->line[i] == '\t' ? '\t' : ' ', p->err);
    fputs("^\n", p->err);
    if (p->out->nerrors == LWF_MAX_ERRORS)
        fprintf(p->err, "%s: too many errors, stopping\n", p->path);
}

/*
 * Splits p->line into tokens written, unescaped, into buf (as long as the
 * line). Returns the number of tokens seen (possibly more than MAX_TOKENS,
 * of which only the first are stored), or -1 after reporting an error.
 */
static int tokenize(struct parser *p, char *buf, struct token *toks)
{
    const char *s = p->line;
    unsigned n = 0;
    size_t i = 0;

    for (;;) {
        while (s[i] == ' ' || s[i] == '\t')
            i++;
        if (s[i] == '\0' || s[i] == '#')
            return (int)n;
        struct token t = {.text = buf, .col = (unsigned)i + 1, .quoted = s[i] == '"'};
        if (t.quoted) {
            i++;
            while (s[i] != '"') {
                if (s[i] == '\0') {
                    report(p, t.col, "unterminated quoted string");
                    return -1;
                }
                /* Only \" and \\ are escapes: pcap expressions have no other use
                 * for a backslash, so anything else is kept as written. */
                if (s[i] == '\\' && (s[i + 1] == '"' || s[i + 1] == '\\'))
                    i++;
                *buf++ = s[i++];
            }
            i++;
            if (s[i] != '\0' && s[i] != ' ' && s[i] != '\t' && s[i] != '#') {
                report(p, (unsigned)i + 1, "expected a space after the closing quote");
                return -1;
            }
        } else {
            while (s[i] != '\0' && s[i] != ' ' && s[i] != '\t' && s[i] != '#' && s[i] != '"')
                *buf++ = s[i++];
        }
        *buf++ = '\0';
        t.end = (unsigned)i + 1;
        if (n < MAX_TOKENS)
            toks[n] = t;
        n++;
    }
}

static int parse_action(const char *s, uint8_t *action)
{
    if (strcmp(s, "pass") == 0)
        *action = HL_ACTION_PASS;
    else if (strcmp(s, "drop") == 0)
        *action = HL_ACTION_DROP;
    else
        return -1;
    return 0;
}

static void parse_default(struct parser *p, const struct token *t, int n)
{
    uint8_t action;

    if (n < 2) {
        report(p, t[0].end, "expected 'pass' or 'drop' after 'default'");
        return;
    }
    if (parse_action(t[1].text, &action) != 0) {
        report(p, t[1].col, "unknown default action '%s' (expected pass or drop)", t[1].text);
        return;
    }
    if (n > 2) {
        report(p, t[2].col, "unexpected '%s' after the default action", t[2].text);
        return;
    }
    if (p->have_default) {
        report(p, t[0].col, "second default line (the first is on line %u)", p->default_line);
        return;
    }
    p->have_default = 1;
    p->default_line = p->lineno;
    p->out->default_action = action;
}

static int append_rule(struct parser *p, const struct hl_rule_spec *spec)
{
    struct lwf_rules *r = p->out;

    if (r->count == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        struct hl_rule_spec *specs = realloc(r->specs, cap * sizeof(*specs));
        if (specs == NULL)
            return -1;
        r->specs = specs;
        unsigned *lines = realloc(r->lines, cap * sizeof(*lines));
        if (lines == NULL)
            return -1;
        r->lines = lines;
        r->cap = cap;
    }
    r->specs[r->count] = *spec;
    r->lines[r->count] = p->lineno;
    r->count++;
    return 0;
}

/*
 * libpcap's optimizer is super-linear in the size of an expression: one line
 * of N "host A.B.C.D" terms joined by "or" took 0.06 s at N = 64, 0.3 s at
 * 128, 2 s at 256 and about 90 s at 1,000 (libpcap 1.10, docs/security.md).
 * So an expression is bounded before pcap_compile sees it: at most
 * LWF_EXPR_MAX_TERMS primitives (one more than its and/or operators) and
 * LWF_EXPR_MAX_BYTES bytes, which keeps the worst shape measured well under
 * a second per line and is far beyond what a rule needs (split a longer one
 * into several rules: first match wins).
 */
#define LWF_EXPR_MAX_TERMS 128u
#define LWF_EXPR_MAX_BYTES 4096u

static int is_word_char(char c)
{
    return c != '\0' && c != '(' && c != ')' && c != '!' && c != '&' && c != '|' &&
           !isspace((unsigned char)c);
}

/* Primitives of an expression: 1 + its binary operators (and, or, &&, ||). */
static size_t expr_terms(const char *e)
{
    size_t terms = 1;

    while (*e != '\0') {
        if ((e[0] == '&' && e[1] == '&') || (e[0] == '|' && e[1] == '|')) {
            terms++;
            e += 2;
        } else if (is_word_char(*e)) {
            const char *w = e;
            while (is_word_char(*e))
                e++;
            if ((e - w == 3 && strncasecmp(w, "and", 3) == 0) ||
                (e - w == 2 && strncasecmp(w, "or", 2) == 0))
                terms++;
        } else {
            e++;
        }
    }
    return terms;
}

/* Compiles the expression the way tcpdump would for an Ethernet capture. */
static int compile_expr(struct parser *p, const struct token *expr, struct hl_rule_spec *spec)
{
    struct bpf_program prog;
    char reason[256];
    unsigned col = expr->col + 1; /* the expression's first character, past the quote */
    size_t bytes = strlen(expr->text), terms = expr_terms(expr->text);

    if (bytes > LWF_EXPR_MAX_BYTES || terms > LWF_EXPR_MAX_TERMS) {
        report(p, col,
               "filter expression too large (%lu bytes, %lu terms; at most %u bytes and %u "
               "terms joined by and/or): split it into several rules",
               (unsigned long)bytes, (unsigned long)terms, LWF_EXPR_MAX_BYTES,
               LWF_EXPR_MAX_TERMS);
        return -1;
    }

    if (pcap_compile(p->pcap, &prog, expr->text, 1, PCAP_NETMASK_UNKNOWN) != 0) {
        report(p, col, "bad filter expression: %s", pcap_geterr(p->pcap));
        return -1;
    }
    /* libpcap's struct bpf_insn and hl_bpf_insn have the same fields, but
     * copying keeps the rule independent of libpcap's allocation. */
    struct hl_bpf_insn *insns = calloc(prog.bf_len ? prog.bf_len : 1, sizeof(*insns));
    if (insns == NULL) {
        pcap_freecode(&prog);
        report(p, col, "out of memory");
        return -1;
    }
    for (unsigned i = 0; i < prog.bf_len; i++) {
        insns[i].code = prog.bf_insns[i].code;
        insns[i].jt = prog.bf_insns[i].jt;
        insns[i].jf = prog.bf_insns[i].jf;
        insns[i].k = prog.bf_insns[i].k;
    }
    spec->ninsns = prog.bf_len;
    pcap_freecode(&prog);
    spec->insns = insns;
    if (hl_bpf_validate(insns, spec->ninsns, reason, sizeof(reason)) != 0) {
        report(p, col, "filter compiles to a program the driver refuses: %s", reason);
        free(insns);
        spec->insns = NULL;
        return -1;
    }
    return 0;
}

static void parse_rule(struct parser *p, const struct token *t, int n)
{
    struct hl_rule_spec spec;
    char msg[256];
    int i = 2;

    memset(&spec, 0, sizeof(spec));
    if (t[0].quoted || parse_action(t[0].text, &spec.action) != 0) {
        report(p, t[0].col, "unknown action '%s' (expected pass, drop or default)", t[0].text);
        return;
    }
    if (n < 2) {
        report(p, t[0].end, "expected a direction (in, out or both) after '%s'", t[0].text);
        return;
    }
    if (strcmp(t[1].text, "in") == 0 && !t[1].quoted)
        spec.direction = HL_DIR_IN;
    else if (strcmp(t[1].text, "out") == 0 && !t[1].quoted)
        spec.direction = HL_DIR_OUT;
    else if (strcmp(t[1].text, "both") == 0 && !t[1].quoted)
        spec.direction = HL_DIR_BOTH;
    else {
        report(p, t[1].col, "unknown direction '%s' (expected in, out or both)", t[1].text);
        return;
    }
    if (n > 2 && !t[2].quoted && strcmp(t[2].text, "on") == 0) {
        if (n < 4) {
            report(p, t[2].end, "expected an adapter name, MAC address or ifindex:N after 'on'");
            return;
        }
        if (lwf_selector_parse(t[3].text, t[3].quoted, &spec.selector, msg, sizeof(msg)) != 0) {
            report(p, t[3].col, "%s", msg);
            return;
        }
        i = 4;
    }
    if (n <= i) {
        const struct token *last = &t[i - 1];
        report(p, last->end, "expected a quoted pcap filter expression");
        return;
    }
    if (!t[i].quoted) {
        report(p, t[i].col, "expected a quoted pcap filter expression, got '%s'", t[i].text);
        return;
    }
    if (n > i + 1) {
        report(p, t[i + 1].col, "unexpected '%s' after the filter expression", t[i + 1].text);
        return;
    }
    if (p->out->count >= HL_MAX_RULES) {
        report(p, t[0].col, "more than %u rules", HL_MAX_RULES);
        return;
    }
    if (compile_expr(p, &t[i], &spec) != 0)
        return;
    if (append_rule(p, &spec) != 0) {
        free((void *)spec.insns);
        report(p, t[0].col, "out of memory");
    }
}

static void parse_line(struct parser *p, char *buf)
{
    struct token toks[MAX_TOKENS];
    int n = tokenize(p, buf, toks);

    if (n <= 0)
        return;
    if (!toks[0].quoted && strcmp(toks[0].text, "default") == 0)
        parse_default(p, toks, n < (int)MAX_TOKENS ? n : (int)MAX_TOKENS);
    else
        parse_rule(p, toks, n);
}

/*
 * One line, newline included, NULs kept (the caller reports them): getline()
 * without POSIX, so the same file builds for Windows. -1 at end of file or
 * when memory runs out.
 */
static long read_line(FILE *f, char **line, size_t *cap)
{
    size_t n = 0;
    int c;

    while ((c = fgetc(f)) != EOF) {
        if (n + 2 > *cap) {
            size_t ncap = *cap < 128 ? 128 : *cap * 2;
            char *nl = realloc(*line, ncap);
            if (nl == NULL)
                return -1;
            *line = nl;
            *cap = ncap;
        }
        (*line)[n++] = (char)c;
        if (c == '\n')
            break;
    }
    if (n == 0)
        return -1;
    (*line)[n] = '\0';
    return (long)n;
}

int lwf_rules_parse_file(const char *path, struct lwf_rules *out, FILE *err)
{
    struct parser p = {.path = path, .err = err, .out = out};
    char *line = NULL, *buf = NULL;
    size_t line_cap = 0;
    long len;

    memset(out, 0, sizeof(*out));
    out->default_action = HL_ACTION_PASS;
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(err, "lwfctl: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    p.pcap = pcap_open_dead(DLT_EN10MB, 65535);
    if (p.pcap == NULL) {
        fprintf(err, "lwfctl: pcap_open_dead failed\n");
        fclose(f);
        return -1;
    }
    while (out->nerrors < LWF_MAX_ERRORS && (len = read_line(f, &line, &line_cap)) >= 0) {
        p.lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (strlen(line) != (size_t)len) {
            p.line = line;
            report(&p, (unsigned)strlen(line) + 1, "NUL byte in the rules file");
            continue;
        }
        char *nb = realloc(buf, (size_t)len + 1);
        if (nb == NULL) {
            p.line = line;
            report(&p, 1, "out of memory");
            break;
        }
        buf = nb;
        p.line = line;
        parse_line(&p, buf);
    }
    int rc = 0;
    if (ferror(f)) {
        fprintf(err, "lwfctl: cannot read %s: %s\n", path, strerror(errno));
        rc = -1;
    } else if (out->nerrors > 0) {
        rc = 1;
    }
    free(buf);
    free(line);
    pcap_close(p.pcap);
    fclose(f);
    return rc;
}

void lwf_rules_free(struct lwf_rules *r)
{
    for (size_t i = 0; i < r->count; i++)
        free((void *)r->specs[i].insns);
    free(r->specs);
    free(r->lines);
    memset(r, 0, sizeof(*r));
}
