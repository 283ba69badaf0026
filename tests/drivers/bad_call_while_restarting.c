/*
 * bad_call_while_restarting: sends a frame of its own from FilterRestart.
 *
 * The bug: a "link monitor" filter announces to its peer that the link is
 * up again by sending one small frame of its own each time the module
 * restarts, straight from FilterRestart, before it returns. Its pause waits
 * for the frame to complete, so nothing leaks and the author believed the
 * restart was clean. But until the restart completes the module is
 * Restarting, and a Restarting module may not send or indicate anything of
 * its own: the frame should be sent from the datapath once Running (or from
 * a work item queued at the end of the restart that checks the state).
 *
 * On Windows: the send races the restart of the stack; below this module
 * the drivers are Running and it usually works, but the protocols above
 * have not been told the link is up, and a miniport that is being
 * restarted (NDIS restarts a stack bottom-up after a reset or a power
 * transition) gets a send before its own restart completed. NDIS does not
 * check this.
 *
 * Expected finding: call-while-restarting in NdisFSendNetBufferLists,
 * naming this module.
 */
#include "testlwf.h"

#define HELLO_FRAME_LENGTH 60

typedef struct _HELLO_MODULE {
    NDIS_HANDLE NblPool;
    PMDL Mdl;
    PNET_BUFFER_LIST Nbl;
    UCHAR Frame[HELLO_FRAME_LENGTH];
} HELLO_MODULE, *PHELLO_MODULE;

static FILTER_RESTART HelloRestart;
static FILTER_PAUSE HelloPause;
static FILTER_SEND_NET_BUFFER_LISTS_COMPLETE HelloSendComplete;

_Use_decl_annotations_ static NDIS_STATUS
HelloRestart(NDIS_HANDLE FilterModuleContext, PNDIS_FILTER_RESTART_PARAMETERS RestartParameters)
{
    PTL_MODULE Module = FilterModuleContext;
    PHELLO_MODULE Hello = Module->DriverData;

    UNREFERENCED_PARAMETER(RestartParameters);
    if (Hello != NULL && InterlockedCompareExchange(&Module->Outstanding, 1, 0) == 0) {
        KeClearEvent(&Module->Idle);
        Hello->Nbl->SourceHandle = Module->FilterHandle;
        NET_BUFFER_LIST_NEXT_NBL(Hello->Nbl) = NULL;
        /* BUG: the module is Restarting until this function returns. */
        NdisFSendNetBufferLists(Module->FilterHandle, Hello->Nbl, NDIS_DEFAULT_PORT_NUMBER, 0);
    }
    InterlockedExchange(&Module->State, TlRunning);
    return NDIS_STATUS_SUCCESS;
}

_Use_decl_annotations_ static VOID HelloSendComplete(NDIS_HANDLE FilterModuleContext,
                                                     PNET_BUFFER_LIST NetBufferLists,
                                                     ULONG SendCompleteFlags)
{
    PTL_MODULE Module = FilterModuleContext;
    PNET_BUFFER_LIST Theirs = NULL, *Tail = &Theirs, Next;

    for (; NetBufferLists != NULL; NetBufferLists = Next) {
        Next = NET_BUFFER_LIST_NEXT_NBL(NetBufferLists);
        NET_BUFFER_LIST_NEXT_NBL(NetBufferLists) = NULL;
        if (NetBufferLists->SourceHandle == Module->FilterHandle) {
            InterlockedExchange(&Module->Outstanding, 0);
            KeSetEvent(&Module->Idle, IO_NO_INCREMENT, FALSE);
        } else {
            *Tail = NetBufferLists;
            Tail = &NET_BUFFER_LIST_NEXT_NBL(NetBufferLists);
        }
    }
    if (Theirs != NULL)
        NdisFSendNetBufferListsComplete(Module->FilterHandle, Theirs, SendCompleteFlags);
}

/* Right as far as it goes: its own frame is waited for. */
_Use_decl_annotations_ static NDIS_STATUS HelloPause(NDIS_HANDLE FilterModuleContext,
                                                     PNDIS_FILTER_PAUSE_PARAMETERS PauseParameters)
{
    PTL_MODULE Module = FilterModuleContext;

    UNREFERENCED_PARAMETER(PauseParameters);
    InterlockedExchange(&Module->State, TlPausing);
    KeWaitForSingleObject(&Module->Idle, Executive, KernelMode, FALSE, NULL);
    InterlockedExchange(&Module->State, TlPaused);
    return NDIS_STATUS_SUCCESS;
}

static VOID HelloAttach(PTL_MODULE Module)
{
    NET_BUFFER_LIST_POOL_PARAMETERS PoolParameters;
    PHELLO_MODULE Hello;

    Hello = NdisAllocateMemoryWithTagPriority(Module->FilterHandle, sizeof(*Hello), TL_POOL_TAG,
                                              NormalPoolPriority);
    if (Hello == NULL)
        return;
    NdisZeroMemory(Hello, sizeof(*Hello));
    NdisFillMemory(Hello->Frame, 12, 0xff);
    Hello->Frame[12] = 0x88;
    Hello->Frame[13] = 0xb5;

    NdisZeroMemory(&PoolParameters, sizeof(PoolParameters));
    PoolParameters.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
    PoolParameters.Header.Revision = NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
    PoolParameters.Header.Size = NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
    PoolParameters.ProtocolId = NDIS_PROTOCOL_ID_DEFAULT;
    PoolParameters.fAllocateNetBuffer = TRUE;
    PoolParameters.PoolTag = TL_POOL_TAG;
    Hello->NblPool = NdisAllocateNetBufferListPool(Module->FilterHandle, &PoolParameters);
    if (Hello->NblPool != NULL)
        Hello->Mdl = NdisAllocateMdl(Module->FilterHandle, Hello->Frame, sizeof(Hello->Frame));
    if (Hello->Mdl != NULL)
        Hello->Nbl = NdisAllocateNetBufferAndNetBufferList(Hello->NblPool, 0, 0, Hello->Mdl, 0,
                                                           sizeof(Hello->Frame));
    if (Hello->Nbl == NULL) {
        if (Hello->Mdl != NULL)
            NdisFreeMdl(Hello->Mdl);
        if (Hello->NblPool != NULL)
            NdisFreeNetBufferListPool(Hello->NblPool);
        NdisFreeMemory(Hello, 0, 0);
        return;
    }
    Module->DriverData = Hello;
}

/* After the last pause the frame is back. */
static VOID HelloDetach(PTL_MODULE Module)
{
    PHELLO_MODULE Hello = Module->DriverData;

    if (Hello == NULL)
        return;
    KeWaitForSingleObject(&Module->Idle, Executive, KernelMode, FALSE, NULL);
    NdisFreeNetBufferList(Hello->Nbl);
    NdisFreeMdl(Hello->Mdl);
    NdisFreeNetBufferListPool(Hello->NblPool);
    NdisFreeMemory(Hello, 0, 0);
}

static VOID HelloCustomize(PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars)
{
    Chars->RestartHandler = HelloRestart;
    Chars->PauseHandler = HelloPause;
    Chars->SendNetBufferListsCompleteHandler = HelloSendComplete;
    TlOnAttach = HelloAttach;
    TlOnDetach = HelloDetach;
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    return TlRegister(DriverObject, L"bad_call_while_restarting", HelloCustomize, NULL, 0);
}
