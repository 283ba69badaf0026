/*
 * hotlwf-peers: hotlwf's grace-period engine beside the established ones,
 * on one datapath loop (DESIGN.md, "Measuring").
 *
 * Every flavour is one file that defines how a reader enters and leaves its
 * read section and how the writer replaces the shared configuration pointer
 * and waits for a grace period. The reader loop itself is one template
 * (peer_loop.h) compiled into each flavour with the flavour's primitives
 * inlined, liburcu-style, so that no flavour pays an indirect call the
 * others do not and the only difference measured is the synchronization.
 */
#ifndef HOTLWF_BENCH_PEERS_H
#define HOTLWF_BENCH_PEERS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#define PEER_MAGIC_LIVE 0x4c49564543464721ull /* a configuration still published or in grace */
#define PEER_MAGIC_DEAD                                                                            \
    0xdeaddeaddeaddeadull /* retired: a reader that sees this read freed memory */
#define PEER_WORDS 16u

/* The shared configuration: what a reader "classifies" with. */
struct peer_cfg {
    uint64_t magic;
    uint64_t gen;
    uint64_t words[PEER_WORDS];
};

struct peer_params {
    unsigned readers;  /* reader threads, one per emulated CPU */
    unsigned cpus;     /* host CPUs to pin readers to */
    unsigned work;     /* words of the configuration each read touches (1..PEER_WORDS) */
    unsigned qs_every; /* batches between quiescent states (QSBR) / IRQL drops (epoch) */
};

/* Shared by one measurement: the writer flips stop, readers report into their slot. */
struct peer_run {
    const struct peer_params *params;
    atomic_int stop;
    pthread_barrier_t start;
};

struct peer_reader {
    struct peer_run *run;
    unsigned id;
    uint64_t reads;      /* read sections completed */
    uint64_t violations; /* sections that saw a retired configuration */
    uint64_t sink;       /* keeps the compiler from dropping the reads */
    void *priv;          /* the flavour's per-reader state */
} __attribute__((aligned(64)));

struct peer_flavour {
    const char *name;
    int (*init)(const struct peer_params *p, struct peer_cfg *first);
    void (*fini)(void); /* returns the configuration still published through peer_retire */
    void *(*reader)(void *reader);
    /* Publishes c; returns only when the previous one can be reclaimed, returns that one. */
    struct peer_cfg *(*replace)(struct peer_cfg *c);
};

extern const struct peer_flavour peer_none, peer_rwlock, peer_qsbr, peer_memb, peer_ck,
    peer_hlepoch, peer_hlepoch_view, peer_ndisemu;

/* Pins the calling thread to host CPU cpu % cpus: readers do not migrate. */
void peer_pin(unsigned cpu, unsigned cpus);
void peer_retire(struct peer_cfg *c);

/* The stand-in for classifying one packet with the configuration. */
static inline uint64_t peer_touch(const struct peer_cfg *c, unsigned work, uint64_t *bad)
{
    uint64_t sum = c->gen;
    unsigned i;

    for (i = 0; i < work; i++)
        sum += c->words[i];
    /* Checked after the loads: a writer that retired c in the meantime is caught. */
    if (__atomic_load_n(&c->magic, __ATOMIC_RELAXED) != PEER_MAGIC_LIVE)
        (*bad)++;
    return sum;
}

#endif
