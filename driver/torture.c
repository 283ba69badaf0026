/*
 * The torture build's checks (torture.h; compiled only with -DHL_TORTURE).
 * hltorture (tests/hotlwf/hltorture.c) drives the driver and reads
 * HlTorture; everything it judges is decided here, on the datapath.
 */
#include "driver.h"
#include "torture.h"

HL_TORTURE_STATE HlTorture;

/* Before every block of a snapshot: 64 bytes, so the body keeps the pool's alignment. */
typedef struct _HL_TORTURE_HEADER {
    ULONG64 Magic;     /* HL_TORTURE_MAGIC while live; poison once freed */
    LONG64 Generation; /* stamped before publication; 0 for a block never published */
    SIZE_T Size;       /* body bytes */
    UCHAR Reserved[64 - 2 * sizeof(ULONG64) - sizeof(SIZE_T)];
} HL_TORTURE_HEADER;
C_ASSERT(sizeof(HL_TORTURE_HEADER) == 64);

/*
 * A freed block's header is poisoned (magic and generation) and the block
 * stays in quarantine, its body untouched, for this many frees before it
 * goes back to the pool: a late reader finds the poison, not another
 * snapshot that reused the memory, and the run reports it instead of
 * crashing in hl_classify on pointers it would follow out of a body filled
 * with poison (the check runs at every classify call, before the body is
 * used). After the quarantine the pool has the block: ASan sees any later
 * use. Every free of a snapshot block happens with ConfigMutex held (a
 * SET_CONFIG's compile failure or its Publish, rereg's worker included,
 * which its Publish waits for) or while nothing else runs (DriverEntry,
 * HlConfigStart before the device exists, unload): the ring needs no lock.
 */
#define HL_TORTURE_QUARANTINE 64u
static HL_TORTURE_HEADER *HlTortureQuarantine[HL_TORTURE_QUARANTINE];
static ULONG HlTortureQuarantineNext;

/* Every 256th classify call on a CPU spins ReaderDelayNs (rcutorture's reader delays). */
#define HL_TORTURE_DELAY_EVERY 256u

static HL_TORTURE_HEADER *HlTortureHeader(const VOID *Block)
{
    return (HL_TORTURE_HEADER *)((PUCHAR)Block - sizeof(HL_TORTURE_HEADER));
}

_Use_decl_annotations_ PVOID HlTortureAlloc(SIZE_T Size)
{
    HL_TORTURE_HEADER *Header;

    if (Size > MAXSIZE_T - sizeof(*Header))
        return NULL;
    /* Non-paged as in the normal build: the datapath reads snapshots at DISPATCH_LEVEL. */
    Header = ExAllocatePool2(POOL_FLAG_NON_PAGED, sizeof(*Header) + Size, HL_TAG_CONFIG);
    if (Header == NULL)
        return NULL;
    Header->Magic = HL_TORTURE_MAGIC;
    Header->Generation = 0;
    Header->Size = Size;
    return Header + 1;
}

_Use_decl_annotations_ VOID HlTortureFree(PVOID Block)
{
    HL_TORTURE_HEADER *Header = HlTortureHeader(Block);
    HL_TORTURE_HEADER *Evicted;

    RtlFillMemory(Header, sizeof(*Header), HL_TORTURE_POISON);
    Evicted = HlTortureQuarantine[HlTortureQuarantineNext];
    HlTortureQuarantine[HlTortureQuarantineNext] = Header;
    HlTortureQuarantineNext = (HlTortureQuarantineNext + 1) % HL_TORTURE_QUARANTINE;
    if (Evicted != NULL)
        ExFreePoolWithTag(Evicted, HL_TAG_CONFIG);
}

/*
 * A snapshot is one block whose first byte is the struct itself
 * (core/config_internal.h: base == the struct), so its header is the block's.
 */
_Use_decl_annotations_ VOID HlTortureStamp(struct hl_snapshot *Snapshot, LONG64 Generation)
{
    HlTortureHeader(Snapshot)->Generation = Generation;
}

_Use_decl_annotations_ VOID HlTortureUnload(VOID)
{
    ULONG i;

    for (i = 0; i < HL_TORTURE_QUARANTINE; i++) {
        if (HlTortureQuarantine[i] != NULL)
            ExFreePoolWithTag(HlTortureQuarantine[i], HL_TAG_CONFIG);
        HlTortureQuarantine[i] = NULL;
    }
    HlTortureQuarantineNext = 0;
}

/*
 * ---- How old a reader's snapshot may be: one grace period, not two ----
 *
 * Snapshot S is published as generation g (W2 of its publish stores g;
 * HlTortureStamp wrote g into S before W1). The publish of g + 1 retires it:
 * its W3 is the grace period after which W4 frees S. The publish of g + 2
 * cannot begin before that W3 returned: publishes are serialized by
 * ConfigMutex (SET_CONFIG), and HlRcuPublish returns only after W3. A
 * classify call holding S on CPU k inside a read section reads the
 * published generation G:
 *
 *   G == g      age 0: S is the running configuration.
 *   G == g + 1  age 1: S is replaced and its grace period is running, and
 *               this section is one it waits for. Legitimate: the grace
 *               period ends only when a DPC has run on k after W2, and none
 *               can run on k while this section holds k at DISPATCH_LEVEL;
 *               a section that began after that DPC read G >= g + 1 at R2
 *               and so classifies with a snapshot of generation >= g + 1
 *               (its slice was rebuilt, or already built from a pointer
 *               stored before the generation it was keyed by: rcu/hlrcu.c,
 *               6.). This is rcutorture's pipe count 1.
 *   G >= g + 2  age >= 2: the grace period that retired S returned while
 *               this section still held S. It was too short. Failure.
 *   poison      W4 freed S while this section held it. Failure.
 *
 * So for a correct scheme the histogram has ages 0 and 1 only, and 1 is
 * the bound: exact, not a tolerance. Reading the header before G only makes
 * the age larger (G never decreases), never hides one. A strategy whose
 * publish does not wait (unsafe) or waits for the wrong thing (flushdpc)
 * lets a section span two publishes: age >= 2, then poison.
 */
_Use_decl_annotations_ VOID HlTortureRead(const struct hl_view *View)
{
    HL_TORTURE_CPU *Cpu = &HlTorture.Cpu[KeGetCurrentProcessorNumberEx(NULL) % HL_TORTURE_CPUS];
    const HL_TORTURE_HEADER *Header;
    LONG64 Generation, Current, Age, Reads;
    ULONG64 Magic;

    if (View->snap == NULL) {
        HlCounterAdd(&Cpu->NoSnapshot, 1);
        return;
    }

    /*
     * Long reads widen the window a grace period must cover; as rcutorture
     * does, the check comes after the delay, at the end of what the read
     * held the snapshot for.
     */
    Reads = ReadNoFence64(&Cpu->Reads[0]) + ReadNoFence64(&Cpu->Reads[1]);
    if (Reads % HL_TORTURE_DELAY_EVERY == 0) {
        ULONG64 Until = HlNowNs() + (ULONG64)ReadNoFence64(&HlTorture.ReaderDelayNs);

        while (HlNowNs() < Until)
            YieldProcessor();
    }

    Header = HlTortureHeader(View->snap);
    Magic = *(volatile const ULONG64 *)&Header->Magic;
    Generation = *(volatile const LONG64 *)&Header->Generation;
    Current = HlRcuGeneration(&HlGlobal.Config);
    Age = Current - Generation;
    /* A newer pointer than the generation the slice is keyed by (hlrcu.c, 6.) is current. */
    if (Age < 0)
        Age = 0;
    if (Magic == HL_TORTURE_MAGIC && Age < HL_TORTURE_AGES - 1) {
        HlCounterAdd(&Cpu->Reads[Age], 1);
        return;
    }

    if (Magic != HL_TORTURE_MAGIC)
        HlCounterAdd(&Cpu->Poisoned, 1);
    else
        HlCounterAdd(&Cpu->Reads[HL_TORTURE_AGES - 1], 1);
    if (ReadNoFence64(&Cpu->FirstMagic) == 0) {
        WriteNoFence64(&Cpu->FirstSnapshotGeneration, Generation);
        WriteNoFence64(&Cpu->FirstCurrentGeneration, Current);
        WriteNoFence64(&Cpu->FirstMagic, (LONG64)Magic);
    }
}
