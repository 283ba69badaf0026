/*
 * The swap of rcu/hlrcu.c as hotlwf uses it (driver/epoch.c), in Promela.
 * docs/rcu.md, "The model", maps every step to its line of code.
 *
 * Writer: SWAPS serialized swaps, each W1 publish, W2 bump the generation,
 *   W3 one grace DPC queued to every CPU and a wait for all of them
 *   (or, with -DFLUSHDPC, KeFlushQueuedDpcs: wait only for the DPCs that
 *   are queued when it is called), W4 free the old snapshot.
 * Readers, on NCPU CPUs: per CPU, receive DPCs (the NIC queues one, it runs
 *   at DISPATCH_LEVEL when the CPU is free); one protocol sending at
 *   PASSIVE_LEVEL on any CPU, raising to DISPATCH_LEVEL (R1) for its
 *   section: no DPC at all. Each section: R2 load the generation, R3 if it
 *   differs from the module's cached one on this CPU, load the snapshot and
 *   rebuild the cached view from it, R4 classify with the cached view,
 *   R5 lower IRQL.
 * The CPU rule: a CPU runs one context at DISPATCH_LEVEL at a time, and a
 *   DPC queued to it runs only once it is below DISPATCH_LEVEL (before any
 *   context can raise there again: pending DPCs are delivered first).
 *
 * Safety (assertions): no reader dereferences a freed snapshot (R3, R4);
 * a reader never pairs a generation with an older snapshot (R3); once W3
 * has returned for snapshot s, no CPU classifies with a snapshot older
 * than s (R4). Liveness (ltl w3_returns, weak fairness): every W3 returns,
 * with readers that keep entering and leaving sections.
 *
 * Interleaving is sequentially consistent: the release/acquire pairing of
 * W1/W2 with R2/R3 and the full barrier of KeInsertQueueDpc are argued in
 * rcu/hlrcu.c (6., 1.), not modelled.
 */
#ifndef NCPU
#define NCPU 2
#endif
#ifndef SWAPS
#define SWAPS 2
#endif
#define NSNAP (SWAPS + 1)
#define GEN(s) ((s) + 1)  /* snapshot s was published at generation s + 1 */
#define NOBODY 0          /* contexts are numbered from 1 */

byte ptr = 0;             /* HlRcu.Pointer: index of the published snapshot */
byte gen = 1;             /* HlRcu.Generation */
bool freed[NSNAP];
byte completed = 0;       /* the snapshot whose W3 has returned */
bool in_w3 = false;

byte owner[NCPU];         /* the context at DISPATCH_LEVEL on each CPU, NOBODY if none */
bool grace_dpc[NCPU];     /* the writer's DPC is queued to the CPU */
byte remaining = 0;       /* grace DPCs still to run */
#ifdef FLUSHDPC
byte rx_state[NCPU];      /* receive DPC: 0 none, 1 queued, 2 running (KeFlushQueuedDpcs) */
#define RX_STATE(k, v) rx_state[k] = v
#else
#define RX_STATE(k, v) skip  /* only KeFlushQueuedDpcs looks at the DPC queue */
#endif
byte next_rx = 0, next_cpu = 0;

byte cache_gen[NCPU];     /* the module's per-CPU cache (HLRCU_CACHE), 0: never built */
byte cache_snap[NCPU];    /* the snapshot its view was built from */

/* R1: take CPU k at DISPATCH_LEVEL; only when it is free and no DPC is pending there. */
inline raise(k, me) {
    atomic { owner[k] == NOBODY && !grace_dpc[k] -> owner[k] = me }
}

/*
 * R2..R4 on CPU k, holding it. The cache is private to the holder of CPU k
 * (rcu/hlrcu.c, 5.), so each step below touches one shared variable.
 */
inline read_section(k, g, s) {
    g = gen;                                              /* R2 */
    atomic {
        if
        :: g != cache_gen[k] ->
            s = ptr;                                      /* R3 */
            assert(!freed[s]);      /* the view is rebuilt from s */
            assert(GEN(s) >= g);    /* never a generation with an older snapshot */
            cache_snap[k] = s;
            cache_gen[k] = g
        :: else -> skip
        fi;
        s = 0
    }
    atomic {                                              /* R4: classify */
        assert(!freed[cache_snap[k]]);
        assert(cache_snap[k] >= completed);
        g = 0
    }
}

/* One receive DPC stream per CPU: the NIC queues a DPC, it runs when the CPU is free. */
active [NCPU] proctype rx_dpc() {
    byte k, g, s;
    atomic { k = next_rx; next_rx++ }
    do
    :: RX_STATE(k, 1);
       raise(k, k + 1);
       RX_STATE(k, 2);
       read_section(k, g, s);
       atomic { owner[k] = NOBODY; RX_STATE(k, 0) }     /* R5: the DPC returns */
    od
}

/* A protocol sending at PASSIVE_LEVEL on whichever CPU it runs: HlRcuReadEnter raises. */
active proctype passive_sender() {
    byte k, g, s;
    do
    :: atomic {
           select(k : 0 .. NCPU - 1);                     /* migrates between sections */
           owner[k] == NOBODY && !grace_dpc[k] -> owner[k] = NCPU + 1   /* R1: KeRaiseIrql */
       }
       read_section(k, g, s);
       atomic { owner[k] = NOBODY; k = 0 }                /* R5: KeLowerIrql */
    od
}

/* Each CPU drains its pending grace DPC whenever it is below DISPATCH_LEVEL. */
active [NCPU] proctype cpu() {
    byte k;
    atomic { k = next_cpu; next_cpu++ }
    do
    :: atomic { owner[k] == NOBODY && grace_dpc[k] ->
           grace_dpc[k] = false; remaining-- }        /* HlRcuGraceDpc */
    od
}

active proctype writer() {
    byte old, k, swap = 0;
    do
    :: swap < SWAPS ->
        old = ptr;
        ptr = old + 1;                                    /* W1 */
        gen = gen + 1;                                    /* W2 */
        in_w3 = true;
#ifdef FLUSHDPC
        /* KeFlushQueuedDpcs: every DPC queued now has run when it returns. */
        k = 0;
        do
        :: k < NCPU -> rx_state[k] == 0; k++
        :: else -> break
        od;
#else
        remaining = NCPU;
        k = 0;
        do                                                /* W3: KeInsertQueueDpc to each CPU */
        :: k < NCPU -> grace_dpc[k] = true; k++
        :: else -> break
        od;
        remaining == 0;                                   /* W3: KeWaitForSingleObject */
#endif
        in_w3 = false;
        completed = old + 1;
        freed[old] = true;                                /* W4 */
        swap++
    :: else -> break
    od
}

ltl w3_returns { [] (in_w3 -> <> !in_w3) }
