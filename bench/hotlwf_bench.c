/*
 * hotlwf-bench: the strategies side by side (see bench.h). The parent never
 * starts a thread: each run is fork()ed from a single-threaded process, so
 * the child's emulator starts from a clean slate, and a strategy that
 * deadlocks (ndisemu's watchdog exits with status 3) or crashes loses only
 * its own run, which is reported as such.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "bench_report.h"
#include "bench_rules.h"
#include "bpf_compare.h"
#include "classify_scale.h"

static const char *const default_strategies[] = {
    "unsafe", "epoch",          "rwlock",          "rwlock-pkt", "rundown", "flushdpc",
    "pause",  "rereg-optional", "rereg-mandatory", "fence",      "reload",  "epoch+verifier"};

/* One run in a child; a run that outlives its deadline is killed and reported as hung. */
static void run_child(const struct bench_params *p, const char *strategy, struct bench_run *r)
{
    int fd[2];
    pid_t pid;
    int status = 0;
    ssize_t got = 0;
    char err[256] = "";
    double deadline_s = p->seconds * 4 + 10 + (double)p->watchdog_ms / 1000.0 * 2;
    struct timespec t0, t;

    memset(r, 0, sizeof(*r));
    if (pipe(fd) != 0) {
        perror("pipe");
        exit(2);
    }
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(2);
    }
    if (pid == 0) {
        struct bench_run out;

        close(fd[0]);
        bench_child_set_report_fd(fd[1]);
        if (bench_child_run(p, strategy, &out, err, sizeof(err)) != 0) {
            fprintf(stderr, "\nhotlwf-bench: %s: %s\n", strategy, err);
            _exit(4);
        }
        if (write(fd[1], &out, sizeof(out)) != (ssize_t)sizeof(out))
            _exit(5);
        _exit(0);
    }
    close(fd[1]);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);

        if (w == pid)
            break;
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((double)(t.tv_sec - t0.tv_sec) > deadline_s) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            r->exit_status = 124;
            r->deadlock = true;
            close(fd[0]);
            return;
        }
        usleep(20000);
    }
    /* The child wrote at most one struct, well under the pipe's buffer: it is all there. */
    got = read(fd[0], r, sizeof(*r));
    close(fd[0]);
    if (got != (ssize_t)sizeof(*r))
        memset(r, 0, sizeof(*r));
    r->exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (r->exit_status == 3)
        r->deadlock = true;
}

static void usage(FILE *f, int status)
{
    fprintf(f,
            "usage: hotlwf-bench [--driver SO] [--traffic PCAP|gen] [--strategies a,b,...]\n"
            "                    [--cpus N] [--adapters N] [--batch N] [--rules N] [--rate R/s]\n"
            "                    [--seconds S] [--reps N] [--watchdog-ms MS] [--verifier]\n"
            "                    [--rule-shape never|hosts|ports|prefixes|mixed]\n"
            "                    [--scale cpus|adapters|batch|rules|rate --values v1,v2,...]\n"
            "                    [--json FILE] [--plot PREFIX] [--quick] [--check]\n"
            "\n"
            "Runs every reconfiguration strategy of hotlwf.so on ndisemu (one forked child per\n"
            "run, interleaved over --reps repetitions) under a storm of --rate SET_CONFIGs/s,\n"
            "and prints a Markdown table of ratios to `unsafe` measured in the same run.\n"
            "Defaults: --cpus 2 --adapters 1 --batch 32 --rules 8 --rate 1000 --seconds 2\n"
            "--reps 3 --watchdog-ms 10000, verifier bookkeeping off (--verifier: on),\n"
            "traffic from the bundled capture, every strategy. The `reload` row reloads the\n"
            "driver after each SET_CONFIG, at most 20 times a second whatever --rate says.\n"
            "  --rule-shape S          the rules: never (default; a byte compare that never\n"
            "                          matches), or pass-rule block lists of hosts, ports,\n"
            "                          /24 prefixes, or the three mixed (bench_rules.c)\n"
            "  --scale X --values ...  one table per value of X (the cost curve)\n"
            "  --scale rules           the classifier alone, in this process: block lists of\n"
            "                          hosts, ports, prefixes and the three mixed (or only\n"
            "                          --rule-shape S) at each of --values (default\n"
            "                          1,10,100,1000,10000,100000 rules): packets/s, ns per\n"
            "                          packet, ratio to 10 rules, compile ms, snapshot and\n"
            "                          index bytes, with progress lines; add --strategies to\n"
            "                          run the strategies on ndisemu at each size instead\n"
            "  --json FILE             results as JSON (a `strategies` array, or with --scale\n"
            "                          rules alone a `shapes` array)\n"
            "  --plot PREFIX           with --json: PREFIX-timeline.png (one panel per\n"
            "                          strategy) and PREFIX-latency.png (reconfiguration\n"
            "                          latency CDFs), or PREFIX.png for --scale rules\n"
            "                          (bench/plot.sh, gnuplot)\n"
            "  --quick                 the CI run: a subset, 2 x 1 s, under a minute\n"
            "  --check                 exit 1 unless epoch lost nothing, kept its ratio,\n"
            "                          and fence's deadlock was detected\n");
    exit(status);
}

static unsigned split_list(char *s, const char **out, unsigned max)
{
    unsigned n = 0;
    char *save = NULL, *tok;

    for (tok = strtok_r(s, ",", &save); tok && n < max; tok = strtok_r(NULL, ",", &save))
        out[n++] = tok;
    return n;
}

static void set_scale(struct bench_params *p, const char *scale, unsigned v)
{
    if (strcmp(scale, "cpus") == 0)
        p->cpus = v;
    else if (strcmp(scale, "adapters") == 0)
        p->adapters = v;
    else if (strcmp(scale, "batch") == 0)
        p->batch = v;
    else if (strcmp(scale, "rules") == 0)
        p->rules = v;
    else if (strcmp(scale, "rate") == 0)
        p->reconfig_rate = v;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"driver", 1, 0, 'D'},      {"traffic", 1, 0, 'T'},     {"strategies", 1, 0, 'S'},
        {"cpus", 1, 0, 'c'},        {"adapters", 1, 0, 'a'},    {"batch", 1, 0, 'b'},
        {"rules", 1, 0, 'r'},       {"rate", 1, 0, 'w'},        {"seconds", 1, 0, 's'},
        {"reps", 1, 0, 'n'},        {"watchdog-ms", 1, 0, 'W'}, {"verifier", 0, 0, 'V'},
        {"scale", 1, 0, 'x'},       {"values", 1, 0, 'v'},      {"json", 1, 0, 'j'},
        {"plot", 1, 0, 'p'},        {"quick", 0, 0, 'q'},       {"check", 0, 0, 'C'},
        {"no-verifier", 0, 0, 'O'}, {"help", 0, 0, 'h'},        {"rule-shape", 1, 0, 'R'},
        {0, 0, 0, 0},
    };
    struct bench_params p = {
        .traffic = HL_BENCH_DEFAULT_PCAP,
        .cpus = 2,
        .adapters = 1,
        .batch = 32,
        .rules = 8,
        .seconds = 2,
        .reconfig_rate = 1000,
        .watchdog_ms = 10000,
        .verifier = false,
        .rule_shape = "never",
    };
    const char *strategies[BENCH_MAX_STRATEGIES];
    const char *values_s[16];
    unsigned nstrat = 0, reps = 3, nvalues = 0, values[16], point, rep, k, done = 0, total;
    char *strat_arg = NULL, *values_arg = NULL, driver_buf[PATH_MAX];
    const char *scale = NULL, *json = NULL, *plot = NULL;
    bool quick = false, check = false;
    struct bench_point *points;
    int c, failed = 0;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'D':
            p.driver = optarg;
            break;
        case 'T':
            p.traffic = optarg;
            break;
        case 'S':
            strat_arg = optarg;
            break;
        case 'c':
            p.cpus = (unsigned)atoi(optarg);
            break;
        case 'a':
            p.adapters = (unsigned)atoi(optarg);
            break;
        case 'b':
            p.batch = (unsigned)atoi(optarg);
            break;
        case 'r':
            p.rules = (unsigned)atoi(optarg);
            break;
        case 'w':
            p.reconfig_rate = (unsigned)atoi(optarg);
            break;
        case 's':
            p.seconds = atof(optarg);
            break;
        case 'n':
            reps = (unsigned)atoi(optarg);
            break;
        case 'W':
            p.watchdog_ms = (unsigned)atoi(optarg);
            break;
        case 'V':
            p.verifier = true;
            break;
        case 'R':
            if (!bench_rules_shape_ok(optarg))
                usage(stderr, 2);
            p.rule_shape = optarg;
            break;
        case 'O': /* the default now; kept so that older command lines still run */
            p.verifier = false;
            break;
        case 'x':
            scale = optarg;
            break;
        case 'v':
            values_arg = optarg;
            break;
        case 'j':
            json = optarg;
            break;
        case 'p':
            plot = optarg;
            break;
        case 'q':
            quick = true;
            break;
        case 'C':
            check = true;
            break;
        case 'h':
            usage(stdout, 0);
            break;
        default:
            usage(stderr, 2);
        }
    }
    if (quick) {
        /* Under a minute on 2 cores: the strategies whose read side differs, 2 x 1 s each. */
        /* fence: its deadlock must be detected (bench_check), in ~2 s per run. */
        /* epoch+verifier: the verifier still finds nothing wrong with epoch, and prices itself. */
        static char quick_list[] = "unsafe,epoch,rwlock,rundown,fence,epoch+verifier";

        p.seconds = 1;
        reps = 2;
        p.watchdog_ms = 3000; /* a hung run is killed after ~20 s, not a minute */
        if (!strat_arg)
            strat_arg = quick_list;
    }
    if (p.driver == NULL) {
        /* Beside the binary: build/bin/hotlwf-bench -> build/lib/hotlwf.so. */
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

        if (n <= 0)
            usage(stderr, 2);
        self[n] = '\0';
        snprintf(driver_buf, sizeof(driver_buf), "%s/../lib/hotlwf.so", dirname(self));
        p.driver = driver_buf;
    }
    if (strat_arg)
        nstrat = split_list(strat_arg, strategies, BENCH_MAX_STRATEGIES);
    else
        for (nstrat = 0; nstrat < sizeof(default_strategies) / sizeof(*default_strategies);
             nstrat++)
            strategies[nstrat] = default_strategies[nstrat];
    if (nstrat == 0 || strcmp(strategies[0], "unsafe") != 0) {
        fprintf(stderr, "hotlwf-bench: the first strategy must be unsafe (the baseline)\n");
        return 2;
    }
    if (scale && strcmp(scale, "rules") == 0 && strat_arg == NULL) {
        /* The classifier's own curve: no strategy, no emulator (classify_scale.h). */
        static const char *const all_shapes[] = {"hosts", "ports", "prefixes", "mixed"};
        static const char *const pcaps[] = {HL_BENCH_CAPTURES};
        static char default_values[] = "1,10,100,1000,10000,100000";
        const char *one_shape[1] = {p.rule_shape};
        bool shape_given = strcmp(p.rule_shape, "never") != 0;
        int rc;

        nvalues = split_list(values_arg ? values_arg : default_values, values_s,
                             CLASSIFY_SCALE_MAX_SIZES);
        for (k = 0; k < nvalues; k++)
            values[k] = (unsigned)atoi(values_s[k]);
        rc = classify_scale_rules(shape_given ? one_shape : all_shapes, shape_given ? 1 : 4,
                                  values, nvalues, pcaps, sizeof(pcaps) / sizeof(pcaps[0]),
                                  quick ? 0.3 : p.seconds, stdout, json);
        if (rc == 2)
            usage(stderr, 2);
        if (rc == 0 && plot != NULL) {
            if (json == NULL) {
                fprintf(stderr, "hotlwf-bench: --plot needs --json\n");
                return 2;
            }
            rc = bench_plot_script("rules", json, plot) != 0 ? 2 : 0;
        }
        return rc;
    }
    if (scale) {
        if (!values_arg || strstr("cpus adapters batch rules rate", scale) == NULL)
            usage(stderr, 2);
        nvalues = split_list(values_arg, values_s, 16);
        for (k = 0; k < nvalues; k++)
            values[k] = (unsigned)atoi(values_s[k]);
    } else {
        nvalues = 1;
        values[0] = 0;
    }
    if (reps == 0 || reps > BENCH_MAX_REPS || p.seconds <= 0 || p.cpus == 0 || p.batch == 0)
        usage(stderr, 2);

    points = calloc(nvalues, sizeof(*points));
    total = nvalues * reps * nstrat;
    for (point = 0; point < nvalues; point++) {
        struct bench_params pp = p;

        if (scale)
            set_scale(&pp, scale, values[point]);
        points[point].params = pp;
        points[point].scale = scale;
        points[point].value = values[point];
        points[point].nstrat = nstrat;
        points[point].reps = reps;
        for (k = 0; k < nstrat; k++)
            points[point].name[k] = strategies[k];
        /* Interleaved: repetition r runs the strategies in an order rotated by r. */
        for (rep = 0; rep < reps; rep++) {
            for (k = 0; k < nstrat; k++) {
                unsigned s = (k + rep) % nstrat;

                fprintf(stderr, "\r[%-30.*s] %3u%% %s%s%u rep %u/%u %-12s",
                        (int)(done * 30 / total), "##############################",
                        done * 100 / total, scale ? scale : "", scale ? "=" : "",
                        scale ? values[point] : 0, rep + 1, reps, strategies[s]);
                run_child(&pp, strategies[s], &points[point].run[s][rep]);
                done++;
            }
        }
    }
    fprintf(stderr, "\r[##############################] 100%%%40s\n", "");

    for (point = 0; point < nvalues; point++)
        bench_summarize(&points[point]);
    bench_print_markdown(stdout, points, nvalues);
    if (json && bench_write_json(json, points, nvalues) != 0)
        failed = 2;
    if (plot && (json == NULL || bench_plot_script("storm", json, plot) != 0)) {
        fprintf(stderr, "hotlwf-bench: --plot %s\n", json == NULL ? "needs --json" : "failed");
        failed = 2;
    }
    {
        /* The interpreter beside libpcap's, on this machine now (hotlwf-bpfbench for more). */
        static const char *const pcaps[] = {HL_BENCH_CAPTURES};
        struct bpfcmp_result br;
        char err[256];

        printf("\n### The BPF interpreter: hl_bpf_exec beside libpcap's bpf_filter\n\n");
        if (bpfcmp_run(HL_BENCH_EXPRESSIONS, pcaps, sizeof(pcaps) / sizeof(pcaps[0]),
                       quick ? 0.3 : 1.0, &br, err, sizeof(err)) == 0)
            bpfcmp_print(stdout, &br);
        else
            printf("not measured: %s\n", err);
    }
    if (check)
        failed |= bench_check(points, nvalues);
    free(points);
    return failed;
}
