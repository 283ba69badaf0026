/*
 * Per-CPU counters under concurrency: one thread per emulated CPU counts in
 * its own slot while a reader keeps summing. Every sum must be monotonic and
 * the final sums exact. Built with HL_SANITIZE=thread this also proves the
 * single-writer relaxed scheme has no data race.
 */
#include <pthread.h>
#include "cfg_test.h"

#define NCPUS 4u
#define HITS 1000000u
#define NRULES 3u

static struct hl_snapshot *snap;
static int writers_done;

struct writer {
    pthread_t th;
    uint32_t cpu;
};

static void *write_slot(void *arg)
{
    struct writer *w = arg;
    uint32_t i;

    /* Rule i % (NRULES + 1), direction alternating: each cpu's share is known exactly. */
    for (i = 0; i < HITS; i++)
        hl_stats_hit(snap, w->cpu, i % (NRULES + 1),
                     (i / (NRULES + 1)) % 2 ? HL_DIR_OUT : HL_DIR_IN);
    return NULL;
}

static void *read_sums(void *arg)
{
    uint64_t last[NRULES + 1][2];
    long rounds = 0;
    uint32_t r;

    (void)arg;
    memset(last, 0, sizeof(last));
    while (!__atomic_load_n(&writers_done, __ATOMIC_ACQUIRE) || rounds < 10) {
        for (r = 0; r <= NRULES; r++) {
            uint64_t in, out;
            hl_stats_read(snap, r, &in, &out);
            CHECK(in >= last[r][0] && out >= last[r][1], "rule %u went backwards", r);
            CHECK(in <= (uint64_t)NCPUS * HITS && out <= (uint64_t)NCPUS * HITS, "rule %u: %llu", r,
                  (unsigned long long)in);
            last[r][0] = in;
            last[r][1] = out;
        }
        rounds++;
    }
    return NULL;
}

int main(void)
{
    struct hl_rule_spec r[NRULES];
    struct counting_alloc c;
    struct hl_alloc a = counting_hl_alloc(&c, 1u << 20);
    struct writer w[NCPUS];
    pthread_t reader;
    uint8_t buf[256];
    char reason[128];
    size_t len;
    uint64_t in, out, total = 0;
    uint32_t i;

    memset(r, 0, sizeof(r));
    for (i = 0; i < NRULES; i++) {
        r[i].direction = HL_DIR_BOTH;
        r[i].insns = prog_all;
        r[i].ninsns = 1;
    }
    CHECK(hl_blob_encode(r, NRULES, 0, buf, sizeof(buf), &len) == HL_OK, "encode");
    CHECK(hl_config_compile(buf, len, &a, NCPUS, &snap, reason, sizeof(reason)) == HL_OK, "%s",
          reason);
    if (snap == NULL)
        return cfg_finish("test_config_stats");

    /* Out-of-range arguments are ignored, not written somewhere else. */
    hl_stats_hit(snap, NCPUS, 0, HL_DIR_IN);
    hl_stats_hit(snap, 0, NRULES + 1, HL_DIR_IN);
    hl_stats_hit(snap, 0, 0, HL_DIR_BOTH);
    hl_stats_hit(NULL, 0, 0, HL_DIR_IN);
    for (i = 0; i <= NRULES; i++) {
        hl_stats_read(snap, i, &in, &out);
        CHECK(in == 0 && out == 0, "rule %u counted a bad hit", i);
    }

    pthread_create(&reader, NULL, read_sums, NULL);
    for (i = 0; i < NCPUS; i++) {
        w[i].cpu = i;
        pthread_create(&w[i].th, NULL, write_slot, &w[i]);
    }
    for (i = 0; i < NCPUS; i++)
        pthread_join(w[i].th, NULL);
    __atomic_store_n(&writers_done, 1, __ATOMIC_RELEASE);
    pthread_join(reader, NULL);

    for (i = 0; i <= NRULES; i++) {
        uint64_t want = (uint64_t)NCPUS * HITS / (NRULES + 1) / 2;
        hl_stats_read(snap, i, &in, &out);
        CHECK(in == want && out == want, "rule %u: in %llu out %llu, want %llu each", i,
              (unsigned long long)in, (unsigned long long)out, (unsigned long long)want);
        total += in + out;
    }
    CHECK(total == (uint64_t)NCPUS * HITS, "total %llu", (unsigned long long)total);
    hl_stats_read(snap, NRULES + 1, &in, &out);
    CHECK(in == 0 && out == 0, "out-of-range read");
    hl_snapshot_free(snap);
    CHECK(c.live == 0, "leak");
    return cfg_finish("test_config_stats");
}
