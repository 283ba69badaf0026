/*
 * OID requests: hotlwf neither answers nor changes any, it passes each one
 * down as a clone (the original belongs to the driver above and must be
 * completed to it, not forwarded) and copies the result back.
 */
#include "driver.h"

/* The clone remembers its original in the part of the request reserved for its source. */
#define HL_OID_ORIGINAL(Clone) (*(PNDIS_OID_REQUEST *)(Clone)->SourceReserved)

_IRQL_requires_max_(DISPATCH_LEVEL) static VOID
    HlOidCopyResult(_Inout_ PNDIS_OID_REQUEST Original, _In_ PNDIS_OID_REQUEST Clone)
{
    /* The clone shares the original's InformationBuffer: only the byte counts travel. */
    switch (Clone->RequestType) {
    case NdisRequestQueryInformation:
    case NdisRequestQueryStatistics:
        Original->DATA.QUERY_INFORMATION.BytesWritten = Clone->DATA.QUERY_INFORMATION.BytesWritten;
        Original->DATA.QUERY_INFORMATION.BytesNeeded = Clone->DATA.QUERY_INFORMATION.BytesNeeded;
        break;
    case NdisRequestSetInformation:
        Original->DATA.SET_INFORMATION.BytesRead = Clone->DATA.SET_INFORMATION.BytesRead;
        Original->DATA.SET_INFORMATION.BytesNeeded = Clone->DATA.SET_INFORMATION.BytesNeeded;
        break;
    case NdisRequestMethod:
        Original->DATA.METHOD_INFORMATION.OutputBufferLength =
            Clone->DATA.METHOD_INFORMATION.OutputBufferLength;
        Original->DATA.METHOD_INFORMATION.BytesWritten =
            Clone->DATA.METHOD_INFORMATION.BytesWritten;
        Original->DATA.METHOD_INFORMATION.BytesRead = Clone->DATA.METHOD_INFORMATION.BytesRead;
        Original->DATA.METHOD_INFORMATION.BytesNeeded = Clone->DATA.METHOD_INFORMATION.BytesNeeded;
        break;
    default:
        break;
    }
}

_Use_decl_annotations_ NDIS_STATUS HlFilterOidRequest(NDIS_HANDLE FilterModuleContext,
                                                      PNDIS_OID_REQUEST OidRequest)
{
    PHL_MODULE Module = FilterModuleContext;
    PNDIS_OID_REQUEST Clone = NULL;
    NDIS_STATUS Status;

    Status = NdisAllocateCloneOidRequest(Module->FilterHandle, OidRequest, HL_TAG_OID, &Clone);
    if (Status != NDIS_STATUS_SUCCESS)
        return Status;

    HL_OID_ORIGINAL(Clone) = OidRequest;
    Status = NdisFOidRequest(Module->FilterHandle, Clone);
    if (Status == NDIS_STATUS_PENDING)
        return NDIS_STATUS_PENDING; /* HlFilterOidRequestComplete finishes it */

    /* Completed synchronously: answer with the status, NdisFOidRequestComplete is not called. */
    HlOidCopyResult(OidRequest, Clone);
    NdisFreeCloneOidRequest(Module->FilterHandle, Clone);
    return Status;
}

_Use_decl_annotations_ VOID HlFilterOidRequestComplete(NDIS_HANDLE FilterModuleContext,
                                                       PNDIS_OID_REQUEST OidRequest,
                                                       NDIS_STATUS Status)
{
    PHL_MODULE Module = FilterModuleContext;
    PNDIS_OID_REQUEST Original = HL_OID_ORIGINAL(OidRequest);

    HlOidCopyResult(Original, OidRequest);
    NdisFreeCloneOidRequest(Module->FilterHandle, OidRequest);
    NdisFOidRequestComplete(Module->FilterHandle, Original, Status);
}
