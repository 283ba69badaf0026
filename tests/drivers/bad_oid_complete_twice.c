/*
 * bad_oid_complete_twice: when the driver below answers an OID at once,
 * FilterOidRequest completes the original with NdisFOidRequestComplete AND
 * returns the status.
 *
 * The bug: the filter shares one "finish the clone" helper between its
 * FilterOidRequestComplete and the synchronous path, and the helper ends in
 * NdisFOidRequestComplete. On the synchronous path that is legal only if
 * FilterOidRequest then returns NDIS_STATUS_PENDING; returning the status
 * as well hands NDIS the same completion twice.
 *
 * On Windows: NDIS completes the request to the overlying driver twice; the
 * second completion touches a request its owner already freed or reused
 * (Driver Verifier's NDIS checks, or bugcheck 0x7C).
 *
 * Expected finding: oid-complete-twice naming FilterOidRequest.
 */
#include "testlwf.h"

static FILTER_OID_REQUEST OctOidRequest;

#define OCT_ORIGINAL_REQUEST(_Clone) (*(PNDIS_OID_REQUEST *)&(_Clone)->SourceReserved[0])

_Use_decl_annotations_ static NDIS_STATUS OctOidRequest(NDIS_HANDLE FilterModuleContext,
                                                        PNDIS_OID_REQUEST OidRequest)
{
    PTL_MODULE Module = FilterModuleContext;
    PNDIS_OID_REQUEST Clone;
    NDIS_STATUS Status;

    Status = NdisAllocateCloneOidRequest(Module->FilterHandle, OidRequest, TL_POOL_TAG, &Clone);
    if (Status != NDIS_STATUS_SUCCESS)
        return Status;
    Clone->RequestId = OidRequest->RequestId;
    OCT_ORIGINAL_REQUEST(Clone) = OidRequest;
    Status = NdisFOidRequest(Module->FilterHandle, Clone);
    if (Status != NDIS_STATUS_PENDING)
        TlFilterOidRequestComplete(Module, Clone, Status); /* completes the original */
    /* BUG: after a synchronous answer this must be NDIS_STATUS_PENDING. */
    return Status;
}

static VOID OctCustomize(PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars)
{
    Chars->OidRequestHandler = OctOidRequest;
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    return TlRegister(DriverObject, L"bad_oid_complete_twice", OctCustomize, NULL, 0);
}
