/*
 * bad_oid_leak: FilterOidRequest answers OID_GEN_STATISTICS itself and
 * pends it, meaning to fill it in from a work item, but never queues the
 * work item: the request is never completed.
 *
 * The bug: a filter that pends an OID takes on its completion; the code
 * path that should finish it was lost in a refactoring.
 *
 * On Windows: the overlying protocol waits for its OID forever; NDIS cannot
 * unbind it or detach the filter, and NDIS's watchdog bugchecks (0x7C,
 * 0x25) when the request is outstanding for too long.
 *
 * Expected findings: oid-leak naming this driver, and the deadlock of the
 * protocol waiting for its OID.
 */
#include "testlwf.h"

static FILTER_OID_REQUEST OlOidRequest;

_Use_decl_annotations_ static NDIS_STATUS OlOidRequest(NDIS_HANDLE FilterModuleContext,
                                                       PNDIS_OID_REQUEST OidRequest)
{
    if (OidRequest->RequestType == NdisRequestQueryInformation &&
        OidRequest->DATA.QUERY_INFORMATION.Oid == OID_GEN_STATISTICS)
        return NDIS_STATUS_PENDING; /* BUG: nothing will ever complete it */
    return TlFilterOidRequest(FilterModuleContext, OidRequest);
}

static VOID OlCustomize(PNDIS_FILTER_DRIVER_CHARACTERISTICS Chars)
{
    Chars->OidRequestHandler = OlOidRequest;
}

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_ NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject,
                                            PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    return TlRegister(DriverObject, L"bad_oid_leak", OlCustomize, NULL, 0);
}
