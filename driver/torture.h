/*
 * The torture build's hooks (-DHL_TORTURE: build/lib/torture/hotlwf.so, run
 * by hltorture, tests/hotlwf/hltorture.c; docs/rcu.md, "hltorture"). In the
 * normal build every hook below is an empty macro: nothing is compiled in,
 * nothing is exported, the datapath is byte for byte the shipped one.
 *
 * With HL_TORTURE, as rcutorture does for its own elements:
 * - every block of a snapshot carries a header: a magic word and the
 *   generation the snapshot is published as (stamped before it is);
 * - a freed block's header is poisoned, and the block kept in a quarantine
 *   of the last frees before it really goes back to the pool, so that a
 *   late reader finds poison, not another snapshot that reused the memory;
 * - every classify call (each NBL of a read section, send and receive, on
 *   every CPU) checks its view's snapshot: poisoned, or how many
 *   generations older than the published one (its "age": 0, 1, >= 2),
 *   counted per CPU. Age >= 2 or poison is a failure (the argument for
 *   the bound is in torture.c, above HlTortureRead).
 */
#ifndef HOTLWF_DRIVER_TORTURE_H
#define HOTLWF_DRIVER_TORTURE_H

#ifdef HL_TORTURE

#define HL_TORTURE_AGES 3 /* [0], [1], [2]: two or more */
#define HL_TORTURE_CPUS 64u
#define HL_TORTURE_MAGIC 0x214556494C544C48ull /* "HLTLIVE!" in a dump: a live block */
#define HL_TORTURE_POISON 0x6B                 /* every byte of a freed block's header */

/*
 * One CPU's counts. Written only by the context holding that CPU at
 * DISPATCH_LEVEL (as HL_MODULE_CPU's counters are), read by hltorture from
 * another thread with ReadNoFence64: no lock, no interlocked instruction.
 */
typedef struct DECLSPEC_ALIGN(64) _HL_TORTURE_CPU {
    LONG64 Reads[HL_TORTURE_AGES]; /* classify calls by the age of their snapshot */
    LONG64 Poisoned;               /* classify calls whose snapshot was freed */
    LONG64 NoSnapshot;             /* classify calls with no snapshot in the view */
    /* This CPU's first failure: the ages are generations, Magic the header found. */
    LONG64 FirstSnapshotGeneration;
    LONG64 FirstCurrentGeneration;
    LONG64 FirstMagic;
} HL_TORTURE_CPU;

typedef struct _HL_TORTURE_STATE {
    /* Set by hltorture before traffic: every 256th read on a CPU spins this long. */
    LONG64 ReaderDelayNs;
    HL_TORTURE_CPU Cpu[HL_TORTURE_CPUS]; /* CPU n uses slot n % HL_TORTURE_CPUS */
} HL_TORTURE_STATE;

/* The one exported object: hltorture finds it with dlsym. */
extern HL_TORTURE_STATE HlTorture;

/* config.c's allocator for snapshot blocks, and its free. */
_IRQL_requires_(PASSIVE_LEVEL) PVOID HlTortureAlloc(_In_ SIZE_T Size);
_IRQL_requires_(PASSIVE_LEVEL) VOID HlTortureFree(_In_ PVOID Block);
/* Before Snapshot is published as Generation (ConfigMutex held, or before any reader). */
_IRQL_requires_(PASSIVE_LEVEL) VOID
    HlTortureStamp(_In_ struct hl_snapshot *Snapshot, _In_ LONG64 Generation);
/* classify.c, inside the read section. */
_IRQL_requires_(DISPATCH_LEVEL) VOID HlTortureRead(_In_ const struct hl_view *View);
/* Unload: the quarantine goes back to the pool. */
_IRQL_requires_(PASSIVE_LEVEL) VOID HlTortureUnload(VOID);

#else

#define HlTortureStamp(Snapshot, Generation) ((VOID)0)
#define HlTortureRead(View) ((VOID)0)
#define HlTortureUnload() ((VOID)0)

#endif

#endif
