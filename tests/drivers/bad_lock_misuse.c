/*
 * bad_lock_misuse: releases a spin lock it never acquired.
 *
 * The bug: the receive path keeps per-module counters under a spin lock. A
 * special case added later ("the first indication after attach only
 * stamps the start time, there is nothing to add up yet") jumps to the
 * common exit label, which releases the lock, from a point before the lock
 * was taken. It fires once per module, which is why it survived testing.
 *
 * On Windows: releasing an unowned spin lock clears a lock another CPU may
 * hold (two CPUs then run in the same critical section) and lowers IRQL to
 * whatever the lock last saved; Driver Verifier bugchecks 0xC4 (0x3C or
 * 0x3D), without it: corrupt counters, then a hang or IRQL_NOT_LESS_OR_EQUAL.
 *
 * Expected finding: lock-misuse in FilterReceiveNetBufferLists.
 */
#include "testlwf.h"

static FILTER_RECEIVE_NET_BUFFER_LISTS LmReceive;

_Use_decl_annotations_ static VOID LmReceive(NDIS_HANDLE FilterModuleContext,
                                             PNET_BUFFER_LIST NetBufferLists,
                                             NDIS_PORT_NUMBER PortNumber,
                                             ULONG NumberOfNetBufferLists, ULONG ReceiveFlags)
{
    PTL_MODULE Module = FilterModuleContext;

    if (InterlockedCompareExchange(&Module->Counter, 1, 0) == 0)
        goto out; /* BUG: the lock is not held here */
    NdisDprAcquireSpinLock(&Module->Lock);
    Module->QueueDepth += NumberOfNetBufferLists; /* frames seen */
out:
    NdisDprReleaseSpinLock(&Module->Lock);
    TlFilterReceiveNetBufferLists(Module, NetBufferLists, PortNumber, NumberOfNetBufferLists,
                                  ReceiveFlags);
}

static VOID LmCustomize(PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars)
{
    Chars->ReceiveNetBufferListsHandler = LmReceive;
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    return TlRegister(DriverObject, L"bad_lock_misuse", LmCustomize, NULL, 0);
}
