/*
 * ok_monitor_twice: a monitoring filter meant to be bound twice on one
 * stack (--stack ok_monitor_twice,ok_monitor_twice). It watches receives
 * only (no send handlers at all: NDIS bypasses it on the send path) and, on
 * every other restart, switches itself into full data bypass through
 * FilterSetModuleOptions and NdisSetOptionalHandlers.
 *
 * Why it is correct (NdisFRegisterFilterDriver, FilterSetModuleOptions,
 * NdisSetOptionalHandlers, "Data Bypass Mode", FilterReturnNetBufferLists in
 * the WDK):
 * - Send, send-complete and the receive pair are optional handlers; a
 *   filter that omits a pair is bypassed on that path. Receive and return
 *   are given as a pair, since the module passes receives on.
 * - NdisSetOptionalHandlers may be called from FilterSetModuleOptions, which
 *   NDIS calls while the module is Paused, before FilterRestart: the
 *   handlers never change under a running datapath.
 * - Two modules of one driver share no state: the NBLs seen and the restart
 *   parity live in each module's own context.
 * - Receives are counted and passed on unchanged, or handed back when the
 *   module is not Running; RESOURCES receives are never returned.
 */
#include "testlwf.h"

static FILTER_SET_MODULE_OPTIONS OmSetOptions;
static FILTER_RECEIVE_NET_BUFFER_LISTS OmReceive;

_Use_decl_annotations_ static VOID OmReceive(NDIS_HANDLE FilterModuleContext,
                                             PNET_BUFFER_LIST NetBufferLists,
                                             NDIS_PORT_NUMBER PortNumber,
                                             ULONG NumberOfNetBufferLists, ULONG ReceiveFlags)
{
    PTL_MODULE Module = FilterModuleContext;

    if (ReadNoFence(&Module->State) != TlRunning) {
        TlRejectReceive(Module, NetBufferLists, ReceiveFlags);
        return;
    }
    InterlockedAdd(&Module->Outstanding, (LONG)NumberOfNetBufferLists); /* NBLs seen */
    NdisFIndicateReceiveNetBufferLists(Module->FilterHandle, NetBufferLists, PortNumber,
                                       NumberOfNetBufferLists, ReceiveFlags);
}

_Use_decl_annotations_ static NDIS_STATUS OmSetOptions(NDIS_HANDLE FilterModuleContext)
{
    PTL_MODULE Module = FilterModuleContext;
    NDIS_FILTER_PARTIAL_CHARACTERISTICS Partial;
    BOOLEAN Bypass = (InterlockedIncrement(&Module->Counter) & 1) == 0;

    NdisZeroMemory(&Partial, sizeof(Partial));
    Partial.Header.Type = NDIS_OBJECT_TYPE_FILTER_PARTIAL_CHARACTERISTICS;
    Partial.Header.Revision = NDIS_FILTER_PARTIAL_CHARACTERISTICS_REVISION_1;
    Partial.Header.Size = NDIS_SIZEOF_FILTER_PARTIAL_CHARACTERISTICS_REVISION_1;
    if (!Bypass) {
        Partial.ReceiveNetBufferListsHandler = OmReceive;
        Partial.ReturnNetBufferListsHandler = TlFilterReturnNetBufferLists;
    }
    return NdisSetOptionalHandlers(Module->FilterHandle, (PNDIS_DRIVER_OPTIONAL_HANDLERS)&Partial);
}

static VOID OmCustomize(PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars)
{
    Chars->SendNetBufferListsHandler = NULL;
    Chars->SendNetBufferListsCompleteHandler = NULL;
    Chars->ReceiveNetBufferListsHandler = OmReceive;
    Chars->SetFilterModuleOptionsHandler = OmSetOptions;
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    return TlRegister(DriverObject, L"ok_monitor_twice", OmCustomize, NULL, 0);
}
