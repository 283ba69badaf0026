/*
 * ok_own_indicate: the module indicates frames of its own up the stack (an
 * "announce" frame built in its own NBL pool), from the driver's system
 * thread every millisecond. Built twice:
 *   ok_own_indicate      plain indications: the NBL is away until NDIS
 *                        hands it back through FilterReturnNetBufferLists
 *   ok_own_indicate_res  with NDIS_RECEIVE_FLAGS_RESOURCES
 *                        (OK_OWN_RESOURCES): the NBL is back the moment
 *                        the indication returns, and is never returned
 *
 * Why it is correct (NdisFIndicateReceiveNetBufferLists,
 * FilterReturnNetBufferLists, NDIS_RECEIVE_FLAGS_RESOURCES, "Pausing a
 * Filter Module" in the WDK), with ok_gate.h:
 * - An originated NBL carries the module's own handle as SourceHandle and
 *   comes from the module's own pool; its count argument is 1.
 * - Indications start only while Running (a gate reference taken before the
 *   state is read) and the reference is held until the NBL is back: from
 *   FilterReturnNetBufferLists, or from the return of a RESOURCES call. So
 *   the pause stays pending until every own indication is back, as the
 *   Pausing state requires, and nothing new starts once Pausing is visible.
 * - FilterReturnNetBufferLists tells its own NBLs (SourceHandle) from the
 *   ones of the drivers below, which it returns down; it never passes its
 *   own NBL down. With RESOURCES nothing of ours ever comes back there.
 * - One NBL per module, never indicated twice (a flag claimed by exchange,
 *   cleared when it is back). The thread finds modules on the skeleton's
 *   list under its lock and completes a pause its failed attempt claimed
 *   only after dropping it (OkGateTryEnter). Detach frees the NBL, its MDL
 *   and its pool: detach follows a completed pause, so the NBL is back.
 */
#include "tl_frame.h"
#include "ok_gate.h"

#define OI_MAX_MODULES 32

#ifdef OK_OWN_RESOURCES
#define OI_SERVICE L"ok_own_indicate_res"
#define OI_RECEIVE_FLAGS NDIS_RECEIVE_FLAGS_RESOURCES
#else
#define OI_SERVICE L"ok_own_indicate"
#define OI_RECEIVE_FLAGS 0
#endif

static FILTER_RETURN_NET_BUFFER_LISTS OiReturn;

/* Its own NBL is back: it may be indicated again, and the pause may end. */
static VOID OiBack(PTL_MODULE Module)
{
    PTL_FRAME_CONTEXT Oi = Module->DriverData;

    InterlockedExchange(&Oi->Away, 0);
    OkGateLeave(Module); /* may be the last access */
}

_Use_decl_annotations_ static VOID OiReturn(NDIS_HANDLE FilterModuleContext,
                                            PNET_BUFFER_LIST NetBufferLists, ULONG ReturnFlags)
{
    PTL_MODULE Module = FilterModuleContext;
    BOOLEAN Ours = TlTakeOwn(Module, &NetBufferLists);

    if (NetBufferLists != NULL)
        NdisFReturnNetBufferLists(Module->FilterHandle, NetBufferLists, ReturnFlags);
    if (Ours)
        OiBack(Module);
}

static VOID OiIndicate(PTL_MODULE Module)
{
    PTL_FRAME_CONTEXT Oi = Module->DriverData;

    NdisFIndicateReceiveNetBufferLists(Module->FilterHandle, TlFrameNbl(Module, Oi->Frame),
                                       NDIS_DEFAULT_PORT_NUMBER, 1, OI_RECEIVE_FLAGS);
    if (OI_RECEIVE_FLAGS & NDIS_RECEIVE_FLAGS_RESOURCES)
        OiBack(Module); /* RESOURCES: back on return */
}

static VOID OiTick(VOID)
{
    PTL_MODULE Send[OI_MAX_MODULES], Complete[OI_MAX_MODULES];
    ULONG NSend = 0, NComplete = 0, i;
    PLIST_ENTRY Entry;
    KIRQL OldIrql;

    KeAcquireSpinLock(&TlModuleListLock, &OldIrql);
    for (Entry = TlModuleList.Flink; Entry != &TlModuleList && NSend < OI_MAX_MODULES;
         Entry = Entry->Flink) {
        PTL_MODULE Module = CONTAINING_RECORD(Entry, TL_MODULE, Link);
        PTL_FRAME_CONTEXT Oi = Module->DriverData;
        BOOLEAN CompletePause;

        if (Oi == NULL || ReadNoFence(&Oi->Away) != 0)
            continue;
        if (!OkGateTryEnter(Module, &CompletePause)) {
            if (CompletePause)
                Complete[NComplete++] = Module;
            continue;
        }
        /* Only this thread sets Away, so it is still 0. */
        InterlockedExchange(&Oi->Away, 1);
        Send[NSend++] = Module;
    }
    KeReleaseSpinLock(&TlModuleListLock, OldIrql);
    for (i = 0; i < NComplete; i++)
        OkGateCompletePause(Complete[i]);
    for (i = 0; i < NSend; i++)
        OiIndicate(Send[i]);
}

static VOID OiCustomize(PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars)
{
    Chars->RestartHandler = OkGateRestart;
    Chars->PauseHandler = OkGatePause;
    Chars->ReturnNetBufferListsHandler = OiReturn;
    TlOnAttach = TlFrameContextAttach;
    TlOnDetach = TlFrameContextDetach;
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    return TlRegister(DriverObject, OI_SERVICE, OiCustomize, OiTick, 1);
}
