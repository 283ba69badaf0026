/*
 * bad_oid_illegal: the filter queries the adapter's statistics with an OID
 * of its own on every restart, and its FilterOidRequestComplete completes
 * every request it sees "up", its own included.
 *
 * The bug: FilterOidRequestComplete assumes every completed request is a
 * clone of one from above. A request the filter originated has no original;
 * it must be freed, not completed with NdisFOidRequestComplete: NDIS never
 * handed it to the filter.
 *
 * On Windows: NDIS bugchecks with 0x7C (BUGCODE_NDIS_DRIVER), parameter
 * 0x1D: a filter completed an OID request it did not receive.
 *
 * Expected finding: oid-illegal-completion naming NdisFOidRequestComplete.
 */
#include "testlwf.h"

static FILTER_RESTART OiRestart;
static FILTER_OID_REQUEST_COMPLETE OiOidRequestComplete;

#define OI_ORIGINAL_REQUEST(_Clone) (*(PNDIS_OID_REQUEST *)&(_Clone)->SourceReserved[0])

/* The module's own statistics query; Busy while it is below. */
typedef struct _OI_QUERY {
    NDIS_OID_REQUEST Request;
    NDIS_STATISTICS_INFO Stats;
    volatile LONG Busy;
} OI_QUERY, *POI_QUERY;

static VOID OiAttach(PTL_MODULE Module)
{
    Module->DriverData = ExAllocatePool2(POOL_FLAG_NON_PAGED, sizeof(OI_QUERY), TL_POOL_TAG);
}

/* NDIS waited for the module's own OIDs before calling FilterDetach. */
static VOID OiDetach(PTL_MODULE Module)
{
    if (Module->DriverData != NULL)
        ExFreePoolWithTag(Module->DriverData, TL_POOL_TAG);
}

_Use_decl_annotations_ static NDIS_STATUS OiRestart(NDIS_HANDLE FilterModuleContext,
                                                    PNDIS_FILTER_RESTART_PARAMETERS Parameters)
{
    PTL_MODULE Module = FilterModuleContext;
    POI_QUERY Q = Module->DriverData;
    NDIS_STATUS Status = TlFilterRestart(FilterModuleContext, Parameters);

    if (Status != NDIS_STATUS_SUCCESS || Q == NULL || InterlockedExchange(&Q->Busy, 1) != 0)
        return Status;
    NdisZeroMemory(&Q->Request, sizeof(Q->Request));
    Q->Request.Header.Type = NDIS_OBJECT_TYPE_OID_REQUEST;
    Q->Request.Header.Revision = NDIS_OID_REQUEST_REVISION_1;
    Q->Request.Header.Size = NDIS_SIZEOF_OID_REQUEST_REVISION_1;
    Q->Request.RequestType = NdisRequestQueryInformation;
    Q->Request.DATA.QUERY_INFORMATION.Oid = OID_GEN_STATISTICS;
    Q->Request.DATA.QUERY_INFORMATION.InformationBuffer = &Q->Stats;
    Q->Request.DATA.QUERY_INFORMATION.InformationBufferLength = sizeof(Q->Stats);
    if (NdisFOidRequest(Module->FilterHandle, &Q->Request) != NDIS_STATUS_PENDING)
        InterlockedExchange(&Q->Busy, 0);
    return Status;
}

_Use_decl_annotations_ static VOID OiOidRequestComplete(NDIS_HANDLE FilterModuleContext,
                                                        PNDIS_OID_REQUEST OidRequest,
                                                        NDIS_STATUS Status)
{
    PTL_MODULE Module = FilterModuleContext;
    POI_QUERY Q = Module->DriverData;

    if (Q != NULL && OidRequest == &Q->Request) {
        /* BUG: its own request goes "up" as if NDIS had handed it over. */
        NdisFOidRequestComplete(Module->FilterHandle, OidRequest, Status);
        InterlockedExchange(&Q->Busy, 0);
        return;
    }
    TlFilterOidRequestComplete(FilterModuleContext, OidRequest, Status);
}

static VOID OiCustomize(PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars)
{
    Chars->RestartHandler = OiRestart;
    Chars->OidRequestCompleteHandler = OiOidRequestComplete;
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    TlOnAttach = OiAttach;
    TlOnDetach = OiDetach;
    return TlRegister(DriverObject, L"bad_oid_illegal", OiCustomize, NULL, 0);
}
