/*
 * From a NET_BUFFER_LIST to a verdict: the first NET_BUFFER's bytes, as the
 * MDL chain holds them, become an array of segments on the stack that
 * hl_classify runs the rules over without copying the packet.
 */
#include "driver.h"
#include "torture.h"

/*
 * Segments looked at per packet. Headers a pcap filter reads sit in the
 * first few MDLs; a packet scattered over more than this many is classified
 * on its first HL_MAX_SEGS pieces, and a BPF load past them fails (no
 * match), as a load past the snapshot length of a capture does in libpcap.
 */
#define HL_MAX_SEGS 16u

_Use_decl_annotations_ UCHAR HlClassifyNbl(const struct hl_view *View, enum hl_direction Direction,
                                           PNET_BUFFER_LIST Nbl, PULONG Rule)
{
    struct hl_seg Segs[HL_MAX_SEGS];
    size_t Count = 0;
    PNET_BUFFER Nb = NET_BUFFER_LIST_FIRST_NB(Nbl);
    PMDL Mdl;
    ULONG Offset;
    ULONG Remaining;
    ULONG WireLength;
    uint32_t Matched = 0;
    UCHAR Action;

    HlTortureRead(View); /* the torture build's age and poison check (torture.c) */
    if (Nb == NULL) {
        /* An NBL without data: nothing to match, but the default action still decides. */
        Action = hl_classify(View, Direction, NULL, 0, 0, &Matched);
        *Rule = Matched;
        return Action;
    }

    Mdl = NET_BUFFER_CURRENT_MDL(Nb);
    Offset = NET_BUFFER_CURRENT_MDL_OFFSET(Nb);
    WireLength = NET_BUFFER_DATA_LENGTH(Nb);
    Remaining = WireLength;

    while (Mdl != NULL && Remaining != 0 && Count < HL_MAX_SEGS) {
        ULONG MdlLength = MmGetMdlByteCount(Mdl);
        PUCHAR Va;
        ULONG Take;

        if (Offset >= MdlLength) {
            Offset -= MdlLength;
            Mdl = Mdl->Next;
            continue;
        }
        /*
         * LowPagePriority: under memory pressure a mapping failure should
         * cost a classification on a short packet, not a bugcheck.
         */
        Va = MmGetSystemAddressForMdlSafe(Mdl, LowPagePriority | MdlMappingNoExecute);
        if (Va == NULL)
            break;
        Take = MdlLength - Offset;
        if (Take > Remaining)
            Take = Remaining;
        Segs[Count].data = Va + Offset;
        Segs[Count].len = Take;
        Count++;
        Remaining -= Take;
        Offset = 0;
        Mdl = Mdl->Next;
    }

    Action = hl_classify(View, Direction, Segs, Count, WireLength, &Matched);
    *Rule = Matched;
    return Action;
}

_Use_decl_annotations_ VOID HlCountRefused(PHL_MODULE Module, BOOLEAN AtDispatch,
                                           enum hl_direction Direction, ULONG Count)
{
    KIRQL OldIrql = DISPATCH_LEVEL;
    PHL_MODULE_CPU Slice;

    /* The slice belongs to the CPU only while we hold it at DISPATCH_LEVEL. */
    if (!AtDispatch)
        KeRaiseIrql(DISPATCH_LEVEL, &OldIrql);
    Slice = HlModuleCpu(Module, KeGetCurrentProcessorNumberEx(NULL));
    if (Direction == HL_DIR_IN) {
        HlCounterAdd(&Slice->RxSeen, Count);
        HlCounterAdd(&Slice->RxDropped, Count);
    } else {
        HlCounterAdd(&Slice->TxSeen, Count);
        HlCounterAdd(&Slice->TxDropped, Count);
    }
    if (!AtDispatch)
        KeLowerIrql(OldIrql);
}
